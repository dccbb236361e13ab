/* test_tune_model.c - the tuner on the real dataflow model (iob_dataflow_enumerate / predict) and
 * the real bounds: every enumerated config is feasible and survives the text form the database
 * and the worker use; no prediction falls below its bound (the pruning assumes ratio >= 1); the
 * ranking and the budget rule hold; a search with the model's own times as "measurements" picks
 * rank 0. Skipped (77) while no algorithm has a dataflow model (iob_dataflow_enumerate answers
 * IOB_ENOTSUP for all). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/tune.h"

static const char *const specs[] = {
    "name=resnet50.res2.3x3,c=64,h=56,k=64,r=3,pad=1",
    "name=resnet50.res3.1x1,n=1,c=256,h=28,k=128,r=1",
    "name=resnet50.conv1,c=3,h=224,k=64,r=7,stride=2,pad=3",
    "name=odd,n=3,c=19,h=17,w=23,k=29,r=3,pad=1",
};
#define NSPECS (sizeof specs / sizeof specs[0])

static iob_machine h100;

/* A "measurer" that answers the model's own predicted time. */
static iob_status model_time(void *ctx, const iob_layer *L, const iob_config *cfg,
                             iob_tune_meas *out, iob_error *err)
{
    (void)ctx;
    iob_traffic t;
    memset(out, 0, sizeof *out);
    iob_status st = iob_dataflow_predict(L, cfg, &h100, &t, err);
    out->status = st;
    out->time_ms = st ? NAN : t.time_s * 1e3;
    return IOB_OK;
}

static void check_layer(const char *spec)
{
    iob_layer L;
    assert_int_equal(iob_layer_parse(spec, &L, NULL), IOB_OK);
    iob_tune_source src = iob_tune_source_model();
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_space s;
    iob_error err;
    iob_status st = iob_tune_space_build(&L, &h100, &src, &o, &s, &err);
    if (st == IOB_ENOTSUP) {
        print_message("%s: no model applies (%s)\n", L.name, err.msg);
        return;
    }
    if (st)
        fail_msg("%s: %s", L.name, err.msg);
    size_t sum = 0;
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        sum += s.per_algo[a];
    assert_int_equal(sum, s.count);
    for (size_t i = 0; i < s.count; i++) {
        const iob_tune_cand *c = &s.cands[i];
        char text[256];
        iob_config_format(&c->cfg, text, sizeof text);
        if (iob_dataflow_check(&L, &c->cfg, &h100, NULL, &err))
            fail_msg("%s: enumerated config %s is not feasible: %s", L.name, text, err.msg);
        iob_config back;
        if (iob_config_parse(text, &back, &err) || !iob_config_equal(&back, &c->cfg))
            fail_msg("%s: config %s does not survive its text form", L.name, text);
        if (c->predicted && !isnan(c->ratio) && c->ratio < 1 - 1e-9)
            fail_msg("%s: %s predicts %.0f B, below its lower bound %.0f B: the model or the "
                     "bound is wrong", L.name, text, c->pred_bytes, c->bound_bytes);
        if (i < s.kept) {
            assert_true(c->kept && c->rank == (int)i);
            assert_true(isnan(c->ratio) || c->ratio <= s.factor_used);
            if (i)
                assert_true(s.cands[i - 1].pred_time_s <= c->pred_time_s);
        } else {
            assert_false(c->kept);
        }
    }
    size_t k = iob_tune_budget(s.count, s.kept, &o);
    assert_true(k <= s.kept);
    assert_true(k <= 3 || (double)k <= 0.05 * (double)s.count);
    iob_measurer m = {model_time, NULL, NULL};
    iob_tune_result r;
    assert_int_equal(iob_tune_search(&s, &L, &m, &o, NULL, &r, NULL), IOB_OK);
    if (s.kept) {
        assert_true(r.found);
        assert_int_equal(r.best_rank, 0);
        assert_true(fabs(r.best_ms - s.cands[0].pred_time_s * 1e3) <= 1e-12 * r.best_ms);
    }
    print_message("%s: %zu feasible, %zu kept (factor %.3g%s), K = %zu\n", L.name, s.count,
                  s.kept, s.factor_used, s.relaxed ? ", relaxed" : "", k);
    iob_tune_space_free(&s);
}

static void test_real_model(void **state)
{
    (void)state;
    for (size_t i = 0; i < NSPECS; i++)
        check_layer(specs[i]);
}

int main(void)
{
    iob_machine_get("h100-sxm", &h100, NULL);
    /* skip while no dataflow model is registered */
    iob_layer L;
    iob_layer_parse(specs[0], &L, NULL);
    int any = 0;
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        iob_config *cfgs = NULL;
        size_t n = 0;
        if (iob_dataflow_enumerate(&L, (iob_algo)a, &h100, &cfgs, &n, NULL) != IOB_ENOTSUP)
            any = 1;
        free(cfgs);
    }
    if (!any) {
        printf("skipped: iob_dataflow_enumerate answers IOB_ENOTSUP for every algorithm\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_real_model),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
