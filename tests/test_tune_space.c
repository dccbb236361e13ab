/* test_tune_space.c - the tuner's search space on a known landscape (tests/tune_mock.h): pruning by
 * the bound factor, ranking, the budget rule, skipped algorithms, relaxation, the soundness
 * certificate, the roofline floor and the real bound the pruning uses. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tune_mock.h"

static mock_land land;

static iob_tune_space build(const iob_tune_opts *o)
{
    iob_tune_source src = mock_source(&land);
    iob_layer L = mock_layer();
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    iob_tune_space s;
    iob_error err = {0};
    iob_status st = iob_tune_space_build(&L, &m, &src, o, &s, &err);
    if (st)
        fail_msg("space build failed: %s", err.msg);
    return s;
}

static iob_tune_opts defaults(void)
{
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    return o;
}

/* predicted / bound: 1.0, 1.5, 3.0 (kept: the cut is inclusive), 3.01, 4.5, 10 (pruned) */
static void test_prune_by_factor(void **state)
{
    (void)state;
    mock_init(&land);
    double bytes[] = {1000, 300, 150, 301, 450, 100};
    for (int i = 0; i < 6; i++)
        mock_add(&land, IOB_ALGO_DIRECT, 1e-3 * (i + 1), bytes[i], 1, IOB_OK);
    iob_tune_opts o = defaults();
    o.factor = 3;
    iob_tune_space s = build(&o);
    assert_int_equal(s.count, 6);
    assert_int_equal(s.kept, 3);
    assert_int_equal(s.relaxed, 0);
    /* kept, in predicted-time order: entries 1 (300 B), 2 (150 B), 5 (100 B) */
    assert_int_equal(s.cands[0].cfg.tile_k, 2);
    assert_int_equal(s.cands[1].cfg.tile_k, 3);
    assert_int_equal(s.cands[2].cfg.tile_k, 6);
    assert_true(s.cands[0].ratio == 3.0 && s.cands[1].ratio == 1.5 && s.cands[2].ratio == 1.0);
    assert_true(s.cands[0].bound_bytes == 100.0);
    /* pruned, by ratio: 3.01, 4.5, 10 */
    assert_int_equal(s.cands[3].cfg.tile_k, 4);
    assert_int_equal(s.cands[4].cfg.tile_k, 5);
    assert_int_equal(s.cands[5].cfg.tile_k, 1);
    for (int i = 3; i < 6; i++) {
        assert_int_equal(s.cands[i].kept, 0);
        assert_int_equal(s.cands[i].rank, -1);
    }
    assert_true(s.min_pruned_bytes == 301.0);
    iob_tune_space_free(&s);

    /* a tighter factor keeps fewer */
    o.factor = 1.5;
    s = build(&o);
    assert_int_equal(s.kept, 2);
    assert_true(s.min_pruned_bytes == 300.0);
    iob_tune_space_free(&s);
}

static void test_rank_order(void **state)
{
    (void)state;
    mock_init(&land);
    /* times 5, 1, 3, 1, 2 ms; entries 1 and 3 tie on time, 3 moves fewer bytes; entry 5 ties
     * with entry 1 on time and bytes: the enumeration order breaks it */
    mock_add(&land, IOB_ALGO_DIRECT, 5e-3, 200, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 200, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, 3e-3, 200, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 150, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, 2e-3, 200, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 200, 1, IOB_OK);
    iob_tune_opts o = defaults();
    iob_tune_space s = build(&o);
    int want[] = {4, 2, 6, 5, 3, 1};
    for (int i = 0; i < 6; i++) {
        assert_int_equal(s.cands[i].cfg.tile_k, want[i]);
        assert_int_equal(s.cands[i].rank, i);
        assert_int_equal(s.cands[i].index, want[i] - 1);
    }
    iob_tune_space_free(&s);
}

static void test_budget_rule(void **state)
{
    (void)state;
    iob_tune_opts o = defaults();
    assert_true(o.factor == 30.0);
    assert_int_equal(iob_tune_budget(59028, 1901, &o), 8); /* capped: 5% would be 2951 */
    assert_int_equal(iob_tune_budget(1000, 1000, &o), 8);
    assert_int_equal(iob_tune_budget(160, 160, &o), 8);
    assert_int_equal(iob_tune_budget(159, 159, &o), 7);
    assert_int_equal(iob_tune_budget(100, 100, &o), 5);
    assert_int_equal(iob_tune_budget(99, 99, &o), 4);
    assert_int_equal(iob_tune_budget(80, 80, &o), 4);
    assert_int_equal(iob_tune_budget(60, 60, &o), 3);
    assert_int_equal(iob_tune_budget(40, 40, &o), 3);  /* at least a few */
    assert_int_equal(iob_tune_budget(2, 2, &o), 2);    /* never more than kept */
    assert_int_equal(iob_tune_budget(1000, 6, &o), 6);
    assert_int_equal(iob_tune_budget(1000, 0, &o), 0);
    /* from 60 configs on, the rule never measures more than 5% */
    for (size_t n = 60; n <= 20000; n += 7)
        assert_true((double)iob_tune_budget(n, n, &o) <= 0.05 * (double)n + 1e-9);
    o.max_measure = 0; /* no cap: the 5% rule alone */
    assert_int_equal(iob_tune_budget(1000, 1000, &o), 50);
    assert_int_equal(iob_tune_budget(59028, 59028, &o), 2951);
    o.max_measure = 2; /* a cap below the minimum wins */
    assert_int_equal(iob_tune_budget(1000, 1000, &o), 2);
    o.top_k = 70; /* an explicit K overrides the rule and the cap */
    assert_int_equal(iob_tune_budget(1000, 1000, &o), 70);
    assert_int_equal(iob_tune_budget(1000, 5, &o), 5);
}

static void test_opts_check(void **state)
{
    (void)state;
    iob_tune_opts o = defaults();
    iob_error err;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_OK);
    o.factor = 1.0;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "factor"));
    o = defaults();
    o.factor = NAN;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_EINVAL);
    o = defaults();
    o.max_fraction = 0;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_EINVAL);
    o = defaults();
    o.budget_s = -1;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_EINVAL);
    o = defaults();
    o.min_measure = 0;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_EINVAL);
    o = defaults();
    o.max_measure = -1;
    assert_int_equal(iob_tune_opts_check(&o, &err), IOB_EINVAL);
}

static void test_skipped_algorithms(void **state)
{
    (void)state;
    mock_init(&land);
    mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 150, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_WINOGRAD, 2e-3, 150, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, 3e-3, 150, 1, IOB_OK);
    land.enum_status[IOB_ALGO_WINOGRAD] = IOB_ENOTSUP;
    iob_tune_opts o = defaults();
    iob_tune_space s = build(&o);
    assert_int_equal(s.count, 2);
    assert_int_equal(s.per_algo[IOB_ALGO_DIRECT], 2);
    assert_int_equal(s.per_algo[IOB_ALGO_WINOGRAD], 0);
    assert_non_null(strstr(s.skipped, "winograd: mock: winograd refused"));
    /* im2col, im2win and gemm have no config in this landscape: skipped, said so */
    assert_non_null(strstr(s.skipped, "im2col: no feasible config"));
    assert_null(strstr(s.skipped, "direct"));
    iob_tune_space_free(&s);

    /* every algorithm refused: no space, one line naming them */
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        land.enum_status[a] = IOB_ENOTSUP;
    iob_tune_source src = mock_source(&land);
    iob_layer L = mock_layer();
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    iob_error err;
    assert_int_equal(iob_tune_space_build(&L, &m, &src, &o, &s, &err), IOB_ENOTSUP);
    assert_non_null(strstr(err.msg, "direct: mock: direct refused"));
    assert_null(s.cands);
    iob_tune_space_free(&s);

    /* an enumeration that fails for another reason stops the build */
    land.enum_status[IOB_ALGO_DIRECT] = IOB_EIO;
    assert_int_equal(iob_tune_space_build(&L, &m, &src, &o, &s, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, "enumerating direct configs"));
}

static void test_algo_mask(void **state)
{
    (void)state;
    mock_init(&land);
    mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 150, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_WINOGRAD, 2e-3, 150, 1, IOB_OK);
    iob_tune_opts o = defaults();
    o.algo_mask = 1u << IOB_ALGO_WINOGRAD;
    iob_tune_space s = build(&o);
    assert_int_equal(s.count, 1);
    assert_int_equal(s.cands[0].cfg.algo, IOB_ALGO_WINOGRAD);
    assert_string_equal(s.skipped, ""); /* not asked for is not skipped */
    iob_tune_space_free(&s);
}

static void test_relaxed_when_nothing_is_near_the_bound(void **state)
{
    (void)state;
    mock_init(&land);
    mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 400, 1, IOB_OK);  /* ratio 4 */
    mock_add(&land, IOB_ALGO_DIRECT, 2e-3, 1200, 1, IOB_OK); /* 12: within 3 x 4 */
    mock_add(&land, IOB_ALGO_DIRECT, 3e-3, 1300, 1, IOB_OK); /* 13: pruned */
    iob_tune_opts o = defaults();
    o.factor = 3;
    iob_tune_space s = build(&o);
    assert_int_equal(s.relaxed, 1);
    assert_true(s.factor_used == 12.0);
    assert_int_equal(s.kept, 2);
    assert_int_equal(s.cands[2].cfg.tile_k, 3);
    assert_int_equal(s.cands[2].kept, 0);
    iob_tune_space_free(&s);
}

static void test_unpredicted_and_unbounded(void **state)
{
    (void)state;
    mock_init(&land);
    mock_add(&land, IOB_ALGO_DIRECT, 2e-3, 150, 1, IOB_OK);
    mock_add(&land, IOB_ALGO_DIRECT, -1, 150, 1, IOB_OK); /* the model cannot predict it */
    mock_add(&land, IOB_ALGO_IM2COL, 1e-3, 1e9, 1, IOB_OK); /* no bound: kept unpruned */
    land.bound[IOB_ALGO_IM2COL] = 0;
    iob_tune_opts o = defaults();
    iob_tune_space s = build(&o);
    assert_int_equal(s.count, 3);
    assert_int_equal(s.unpredicted, 1);
    assert_int_equal(s.kept, 2);
    assert_int_equal(s.cands[0].cfg.algo, IOB_ALGO_IM2COL);
    assert_true(isnan(s.cands[0].ratio) && isnan(s.cands[0].bound_bytes));
    assert_int_equal(s.cands[2].cfg.tile_k, 2);
    assert_int_equal(s.cands[2].predicted, 0);
    assert_int_equal(s.cands[2].kept, 0);
    assert_true(isinf(s.min_pruned_bytes)); /* not predicted is not pruned by the bound */
    iob_tune_space_free(&s);
}

static void test_bound_asked_once_per_variant(void **state)
{
    (void)state;
    mock_init(&land);
    for (int i = 0; i < 50; i++)
        mock_add(&land, IOB_ALGO_DIRECT, 1e-3, 150, 1, IOB_OK);
    for (int i = 0; i < 20; i++) {
        size_t k = mock_add(&land, IOB_ALGO_WINOGRAD, 1e-3, 150, 1, IOB_OK);
        land.e[k].cfg.wino_m = i % 2 ? 4 : 2;
    }
    iob_tune_opts o = defaults();
    iob_tune_space s = build(&o);
    assert_int_equal(land.bound_calls, 3); /* direct, F(2x2), F(4x4) */
    assert_int_equal(land.predict_calls, 70);
    for (size_t i = 0; i < s.count; i++)
        if (s.cands[i].cfg.algo == IOB_ALGO_WINOGRAD)
            assert_true(s.cands[i].bound_bytes == (s.cands[i].cfg.wino_m == 4 ? 200.0 : 100.0));
    iob_tune_space_free(&s);
}

static void test_certificate(void **state)
{
    (void)state;
    iob_tune_space s;
    memset(&s, 0, sizeof s);
    s.min_pruned_bytes = 301;
    /* a pruned config needs at least 301 B / 1000 B/s = 0.301 s */
    assert_int_equal(iob_tune_certified(&s, 0.300, 1000), 1);
    assert_int_equal(iob_tune_certified(&s, 0.301, 1000), 1);
    assert_int_equal(iob_tune_certified(&s, 0.302, 1000), 0);
    assert_int_equal(iob_tune_certified(&s, 0.300, 0), -1); /* bandwidth unknown */
    assert_int_equal(iob_tune_certified(&s, NAN, 1000), -1);
    s.min_pruned_bytes = INFINITY; /* nothing pruned, nothing lost */
    assert_int_equal(iob_tune_certified(&s, 5.0, 1000), 1);
}

static void test_roofline_floor(void **state)
{
    (void)state;
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    iob_layer L;
    /* 2*64*64*56*56*9 = 231211008 FLOPs / 51e12 = 4.5335e-6 s;
     * compulsory (64*56*56*2 + 64*64*9) * 4 = 1753088 B / 2.87e12 = 6.108e-7 s: FLOPs win */
    assert_int_equal(iob_layer_parse("c=64,h=56,k=64,r=3,pad=1", &L, NULL), IOB_OK);
    double t;
    assert_int_equal(iob_tune_roofline_floor(&L, &m, &t, NULL), IOB_OK);
    assert_true(fabs(t - 231211008.0 / 51e12) < 1e-18);
    /* a 1x1 with 3 -> 3 channels moves more than it computes: bytes win.
     * FLOPs 2*3*3*56*56 = 56448; bytes (3*3136*2 + 9)*4 = 75300 */
    assert_int_equal(iob_layer_parse("c=3,h=56,k=3,r=1", &L, NULL), IOB_OK);
    assert_int_equal(iob_tune_roofline_floor(&L, &m, &t, NULL), IOB_OK);
    assert_true(fabs(t - 75300.0 / 2.87e12) < 1e-20);
}

/* The pruning compares a config with the bound_gpu of its algorithm (and Winograd variant). */
static void test_real_config_bound(void **state)
{
    (void)state;
    iob_machine m;
    iob_machine_get("h100-sxm", &m, NULL);
    iob_layer L;
    iob_layer_parse("c=64,h=56,k=64,r=3,pad=1", &L, NULL);
    iob_bound_opts bo = iob_bound_opts_for(&m, 4);
    iob_bound b[8];
    int nb;
    iob_config cfg;
    double bytes;
    iob_config_parse("algo=direct,tile_k=64", &cfg, NULL);
    assert_int_equal(iob_bound_layer(&L, IOB_ALGO_DIRECT, &bo, b, 8, &nb, NULL), IOB_OK);
    assert_int_equal(iob_tune_config_bound(&L, &cfg, &m, &bytes, NULL), IOB_OK);
    assert_true(bytes == b[0].bound_gpu * 4);
    assert_int_equal(iob_bound_layer(&L, IOB_ALGO_WINOGRAD, &bo, b, 8, &nb, NULL), IOB_OK);
    for (int wm = 2; wm <= 4; wm += 2) {
        char text[64], want[48];
        snprintf(text, sizeof text, "algo=winograd,wino_m=%d", wm);
        snprintf(want, sizeof want, "F(%dx%d,3x3) fused", wm, wm);
        iob_config_parse(text, &cfg, NULL);
        assert_int_equal(iob_tune_config_bound(&L, &cfg, &m, &bytes, NULL), IOB_OK);
        int found = 0;
        for (int i = 0; i < nb; i++)
            if (!strcmp(b[i].variant, want)) {
                assert_true(bytes == b[i].bound_gpu * 4);
                found = 1;
            }
        assert_true(found);
    }
    /* Winograd does not apply to a 1x1 layer */
    iob_layer_parse("c=64,h=56,k=64,r=1", &L, NULL);
    iob_config_parse("algo=winograd,wino_m=2", &cfg, NULL);
    iob_error err;
    assert_int_equal(iob_tune_config_bound(&L, &cfg, &m, &bytes, &err), IOB_ENOTSUP);
    assert_non_null(strstr(err.msg, "winograd"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_prune_by_factor),
        cmocka_unit_test(test_rank_order),
        cmocka_unit_test(test_budget_rule),
        cmocka_unit_test(test_opts_check),
        cmocka_unit_test(test_skipped_algorithms),
        cmocka_unit_test(test_algo_mask),
        cmocka_unit_test(test_relaxed_when_nothing_is_near_the_bound),
        cmocka_unit_test(test_unpredicted_and_unbounded),
        cmocka_unit_test(test_bound_asked_once_per_variant),
        cmocka_unit_test(test_certificate),
        cmocka_unit_test(test_roofline_floor),
        cmocka_unit_test(test_real_config_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
