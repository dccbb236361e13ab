/* test_direct_relax.c - the continuous relaxation of the direct tile (GSL) against the full
 * enumeration: the relaxed optimum is a minimum of the relaxed traffic (no integer tile of the
 * space, clipped to the layer, does better under the same formula), and the best config around it is never worse than
 * the enumeration's best by more than the rounding docs/model.md states (10%). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include <cmocka.h>

#include "iobound/dataflow.h"
#include "model/direct_model.h"

#define ROUNDING 1.10 /* docs/model.md, "The near-optimal tile" */

static void check_layers(iob_layer_list *list, const iob_machine *m)
{
    double worst = 0;
    for (size_t i = 0; i < list->count; i++) {
        const iob_layer *L = &list->items[i];
        iob_error err;
        double tile[4], relaxed;
        assert_int_equal(iob_direct_relax_continuous(L, m, tile, &relaxed, &err), IOB_OK);
        iob_config seed, best;
        iob_traffic ts, tb;
        assert_int_equal(iob_direct_relaxed(L, m, IOB_OBJ_TRAFFIC, &seed, &err), IOB_OK);
        assert_int_equal(iob_dataflow_predict(L, &seed, m, &ts, &err), IOB_OK);
        assert_int_equal(iob_dataflow_best(L, IOB_ALGO_DIRECT, m, IOB_OBJ_TRAFFIC, &best, &tb, &err),
                         IOB_OK);
        /* the minimiser converged: the enumeration's best tile is no better under the same
         * relaxed formula (1e-3: the penalties keep the optimum a hair inside active bounds) */
        /* the relaxation keeps tiles within the layer: compare with the best tile clipped */
        int64_t kg = L->k / L->groups;
        double bt[4] = {best.tile_k < kg ? best.tile_k : (double)kg,
                        best.tile_p < L->p ? best.tile_p : (double)L->p,
                        best.tile_q < L->q ? best.tile_q : (double)L->q,
                        best.tile_n > 1 ? best.tile_n : 1};
        double at_best = iob_direct_relax_floats(L, m, bt);
        if (relaxed > at_best * (1 + 1e-3))
            fail_msg("%s: relaxed optimum %.1f x %.1f x %.1f x %.1f gives %.6g floats, the "
                     "enumeration's tile %d x %d x %d x %d %.6g", L->name, tile[0], tile[1],
                     tile[2], tile[3], relaxed, best.tile_k, best.tile_p, best.tile_q,
                     best.tile_n, at_best);
        double a = (double)(ts.l2_read_bytes + ts.l2_write_bytes);
        double b = (double)(tb.l2_read_bytes + tb.l2_write_bytes);
        assert_true(a >= b); /* the enumeration is exhaustive */
        if (a > b * ROUNDING)
            fail_msg("%s: relaxed neighbourhood %.4g B vs best %.4g B", L->name, a, b);
        if (a / b > worst)
            worst = a / b;
    }
    print_message("worst relaxed/enumerated traffic: %.4f\n", worst);
}

static void test_gpu_layers(void **state)
{
    (void)state;
    iob_machine m;
    iob_error err;
    iob_layer_list list = {0};
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    if (iob_layers_read_file(IOB_SOURCE_DIR "/bench/layers/gpu-layers.csv", &list, &err))
        fail_msg("%s", err.msg);
    check_layers(&list, &m);
    iob_layer_list_free(&list);
}

static void test_odd_layers(void **state)
{
    (void)state;
    static const char *const specs[] = {
        "name=odd,n=3,c=24,h=33,w=17,k=40,r=3,pad=1",
        "name=strided,n=2,c=16,h=30,k=48,r=5,stride=2,pad=2",
        "name=dilated,n=1,c=32,h=20,k=32,r=3,dil=2,pad=2",
        "name=grouped,n=4,c=64,h=14,k=64,r=3,pad=1,groups=4",
        "name=pointwise,n=8,c=96,h=12,k=24,r=1",
    };
    iob_machine m;
    iob_error err;
    iob_layer_list list = {0};
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    for (size_t i = 0; i < sizeof specs / sizeof specs[0]; i++) {
        iob_layer L;
        assert_int_equal(iob_layer_parse(specs[i], &L, &err), IOB_OK);
        assert_int_equal(iob_layer_list_push(&list, &L, &err), IOB_OK);
    }
    check_layers(&list, &m);
    iob_layer_list_free(&list);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gpu_layers),
        cmocka_unit_test(test_odd_layers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
