/* test_sim_model.c - the simulator against the closed form: for every algorithm that has both a
 * dataflow model (model/<algo>.c) and a trace generator (sim/trace_<algo>.c), the simulated
 * SM<->L2 read and write sectors equal the predicted ones exactly, for every feasible config of
 * a sweep over small layers (odd sizes, strides, 1x1 and 5x5 filters, batch 2).
 *
 * Exits 77 (skipped) while no algorithm has both; each algorithm without them is reported. A
 * layer with more than MAX_CONFIGS configs is sampled at an even stride (the first and last
 * configs included) to keep the test short.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/sim.h"

#define MAX_CONFIGS 150

static const char *const layers[] = {
    "c=3,h=9,k=8,r=3,pad=1",
    "n=2,c=16,h=14,w=13,k=24,r=3,pad=1",
    "c=5,h=7,k=3,r=3",
    "c=8,h=15,k=8,r=3,stride=2,pad=1",
    "c=8,h=12,k=16,r=1",
    "c=6,h=11,w=7,k=12,r=5,pad=2",
};

static int covered[IOB_ALGO_COUNT];

static void sweep_algo(iob_algo algo)
{
    iob_machine m;
    assert_int_equal(iob_machine_get("h100-sxm", &m, NULL), IOB_OK);
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.l2_bytes = 1 << 20; /* SM<->L2 traffic does not depend on the L2; a small one is faster */
    size_t checked = 0;
    for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
        iob_layer L;
        iob_error err = {0};
        assert_int_equal(iob_layer_parse(layers[li], &L, &err), IOB_OK);
        iob_config *cfgs = NULL;
        size_t n = 0;
        iob_status st = iob_dataflow_enumerate(&L, algo, &m, &cfgs, &n, &err);
        if (st == IOB_ENOTSUP) {
            free(cfgs);
            return; /* no dataflow model */
        }
        assert_int_equal(st, IOB_OK);
        size_t count = n < MAX_CONFIGS ? n : MAX_CONFIGS;
        for (size_t j = 0; j < count; j++) {
            size_t i = count > 1 ? j * (n - 1) / (count - 1) : 0;
            iob_traffic pred;
            iob_sim_result r;
            assert_int_equal(iob_dataflow_predict(&L, &cfgs[i], &m, &pred, &err), IOB_OK);
            st = iob_sim_layer(&L, &cfgs[i], &m, &o, &r, &err);
            if (st == IOB_ENOTSUP) {
                free(cfgs);
                return; /* no trace generator */
            }
            char text[256];
            iob_config_format(&cfgs[i], text, sizeof text);
            if (st)
                fail_msg("%s, %s: %s", layers[li], text, err.msg);
            if (r.l2_read_sectors != pred.l2_read_sectors ||
                r.l2_write_sectors != pred.l2_write_sectors)
                fail_msg("%s, %s: simulated %llu read + %llu write sectors, predicted %llu + %llu",
                         layers[li], text, (unsigned long long)r.l2_read_sectors,
                         (unsigned long long)r.l2_write_sectors,
                         (unsigned long long)pred.l2_read_sectors,
                         (unsigned long long)pred.l2_write_sectors);
            checked++;
        }
        free(cfgs);
    }
    covered[algo] = checked > 0;
    fprintf(stderr, "%s: %zu configs simulated = predicted\n", iob_algo_name(algo), checked);
}

static void test_sim_equals_model(void **state)
{
    (void)state;
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        sweep_algo((iob_algo)a);
        if (!covered[a])
            fprintf(stderr, "%s: no dataflow model or no trace generator yet\n",
                    iob_algo_name((iob_algo)a));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sim_equals_model),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    if (rc)
        return rc;
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        if (covered[a])
            return 0;
    fprintf(stderr, "no algorithm has both a dataflow model and a trace generator: skipped\n");
    return 77;
}
