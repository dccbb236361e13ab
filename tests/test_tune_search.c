/* test_tune_search.c - the measured searches on a known landscape (tests/tune_mock.h): the
 * bound-guided search keeps the fastest correct config of its top K and skips failures; it stops
 * when the measurer does, honours the time budget; random search is reproducible, seeded and uses
 * exactly its budget; exhaustive search finds the global best; the memo measures each config
 * once; the in-process GPU measurer stops cleanly where there is no GPU. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tune_mock.h"

static mock_land land;
static iob_machine h100;

static iob_tune_space build(const iob_tune_opts *o)
{
    iob_tune_source src = mock_source(&land);
    iob_layer L = mock_layer();
    iob_tune_space s;
    iob_error err = {0};
    if (iob_tune_space_build(&L, &h100, &src, o, &s, &err))
        fail_msg("space build failed: %s", err.msg);
    return s;
}

/* n direct configs: predicted time rank i+1 ms for entry i, all near the bound, measured
 * time `times[i]` (or 1000 ms when times is NULL). */
static void landscape(size_t n, const double *times)
{
    mock_init(&land);
    for (size_t i = 0; i < n; i++)
        mock_add(&land, IOB_ALGO_DIRECT, 1e-3 * (double)(i + 1), 150, times ? times[i] : 1000,
                 IOB_OK);
}

static iob_tune_result search(const iob_tune_opts *o, iob_tune_memo *memo)
{
    iob_tune_space s = build(o);
    iob_measurer meas = mock_measurer(&land);
    iob_layer L = mock_layer();
    iob_tune_result r;
    iob_error err = {0};
    if (iob_tune_search(&s, &L, &meas, o, memo, &r, &err))
        fail_msg("search failed: %s", err.msg);
    iob_tune_space_free(&s);
    return r;
}

static void test_fastest_correct_wins(void **state)
{
    (void)state;
    /* 60 configs: K = max(3, floor(0.05 * 60)) = 3. Rank 0 takes 2.0 ms, rank 1 would be
     * fastest (1.0 ms) but its output is wrong, rank 2 takes 1.5 ms; rank 3 (0.5 ms) is
     * outside the budget and never measured. */
    double t[60];
    for (int i = 0; i < 60; i++)
        t[i] = 9;
    t[0] = 2.0, t[1] = 1.0, t[2] = 1.5, t[3] = 0.5;
    landscape(60, t);
    land.e[1].status = IOB_ECHECK;
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_result r = search(&o, NULL);
    assert_int_equal(r.budget, 3);
    assert_int_equal(r.measured, 3);
    assert_int_equal(r.failed, 1);
    assert_int_equal(land.measure_calls, 3);
    assert_int_equal(land.order[0], 0);
    assert_int_equal(land.order[1], 1);
    assert_int_equal(land.order[2], 2);
    assert_true(r.found);
    assert_int_equal(r.best.tile_k, 3);
    assert_true(r.best_ms == 1.5);
    assert_int_equal(r.best_rank, 2);
    assert_true(r.best_pred_s == 3e-3);
    assert_true(r.best_ratio == 1.5);
    assert_int_equal(r.nfailures, 1);
    assert_int_equal(r.failures[0].cfg.tile_k, 2);
    assert_int_equal(r.failures[0].status, IOB_ECHECK);
    assert_string_equal(r.failures[0].message, "mock: wrong output");
    assert_true(r.compile_ms == 30);
    assert_int_equal(r.feasible, 60);
    assert_int_equal(r.kept, 60);
}

static int prepared_n;
static void count_prepare(void *ctx, const iob_layer *L, const iob_machine *m,
                          const iob_config *cfgs, size_t n)
{
    (void)ctx, (void)L, (void)m, (void)cfgs;
    prepared_n += (int)n;
}

static void test_every_algorithm_is_measured(void **state)
{
    (void)state;
    /* 160 configs: 120 direct predicted fastest, then 40 Winograd; K = 8. Without the spread
     * the eight measured would all be direct; with it the two best Winograd come first (in rank
     * order among the chosen), and a Winograd config wins. Prepare sees the K configs once. */
    mock_init(&land);
    for (int i = 0; i < 120; i++)
        mock_add(&land, IOB_ALGO_DIRECT, 1e-3 * (i + 1), 150, 5.0, IOB_OK);
    size_t w0 = mock_add(&land, IOB_ALGO_WINOGRAD, 1.0, 150, 2.0, IOB_OK);
    size_t w1 = mock_add(&land, IOB_ALGO_WINOGRAD, 1.1, 150, 1.0, IOB_OK);
    for (int i = 2; i < 40; i++)
        mock_add(&land, IOB_ALGO_WINOGRAD, 1.2 + i, 150, 3.0, IOB_OK);
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_space sp = build(&o);
    iob_measurer meas = mock_measurer(&land);
    meas.prepare = count_prepare;
    prepared_n = 0;
    iob_layer L = mock_layer();
    iob_tune_result r;
    iob_error err = {0};
    assert_int_equal(iob_tune_search(&sp, &L, &meas, &o, NULL, &r, &err), IOB_OK);
    iob_tune_space_free(&sp);
    assert_int_equal(r.budget, 8);
    assert_int_equal(r.measured, 8);
    assert_int_equal(prepared_n, 8);
    assert_int_equal(land.order[0], 0); /* direct ranks 0 and 1 */
    assert_int_equal(land.order[1], 1);
    assert_int_equal(land.order[2], w0); /* then Winograd's best two */
    assert_int_equal(land.order[3], w1);
    assert_int_equal(land.order[4], 2); /* then the rest by rank */
    assert_true(r.found);
    assert_int_equal(r.best.algo, IOB_ALGO_WINOGRAD);
    assert_true(r.best_ms == 1.0);
}

static void test_failures_extend_then_give_up(void **state)
{
    (void)state;
    landscape(60, NULL);
    for (int i = 0; i < 3; i++)
        land.e[i].status = IOB_EGPU;
    land.e[3].time_ms = 4.0;
    land.e[4].time_ms = 3.0; /* never measured: the first pass after K failures ends it */
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_result r = search(&o, NULL);
    assert_true(r.found);
    assert_int_equal(r.measured, 4);
    assert_int_equal(r.failed, 3);
    assert_int_equal(r.best.tile_k, 4);

    /* all of the first 2K fail: six attempts, nothing found, said so */
    landscape(60, NULL);
    for (int i = 0; i < 10; i++)
        land.e[i].status = IOB_ECHECK;
    r = search(&o, NULL);
    assert_false(r.found);
    assert_int_equal(r.measured, 6);
    assert_int_equal(r.failed, 6);
    assert_true(isnan(r.best_ms));
    assert_string_equal(r.message, "none of the 6 measured configs passed");
}

static void test_pruned_are_never_measured(void **state)
{
    (void)state;
    landscape(10, NULL);
    for (int i = 0; i < 10; i++)
        land.e[i].pred_bytes = i < 5 ? 1000 : 150; /* ratio 10: the five fastest are pruned */
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    o.factor = 3;
    o.top_k = 100;
    iob_tune_result r = search(&o, NULL);
    assert_int_equal(r.kept, 5);
    assert_int_equal(r.measured, 5);
    for (int i = 0; i < 5; i++)
        assert_int_equal(land.order[i], 5 + i);
}

static void test_measurer_stops(void **state)
{
    (void)state;
    landscape(100, NULL);
    land.broken_after = 2; /* the second call fails outright */
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_result r = search(&o, NULL);
    assert_true(r.stopped);
    assert_int_equal(r.measured, 1);
    assert_true(r.found); /* the first measurement stands */
    assert_string_equal(r.message, "measuring stopped: mock: the GPU is gone");
}

static void test_time_budget(void **state)
{
    (void)state;
    landscape(100, NULL);
    land.clock_step = 1.0; /* each measurement takes a simulated second */
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    o.top_k = 10;
    o.budget_s = 2.5;
    o.clock = mock_clock;
    o.clock_ctx = &land;
    iob_tune_result r = search(&o, NULL);
    /* measured at t = 0, 1, 2; at t = 3 >= 2.5 with a pass in hand it stops */
    assert_int_equal(r.measured, 3);
    assert_true(r.budget_hit);
    assert_true(r.tune_s == 3.0);
    /* without a pass it goes on past the budget until one passes */
    landscape(100, NULL);
    land.clock_step = 1.0;
    for (int i = 0; i < 4; i++)
        land.e[i].status = IOB_ECHECK;
    r = search(&o, NULL);
    assert_int_equal(r.measured, 5); /* 4 failures, then a pass at t = 4; at t = 5 it stops */
    assert_true(r.budget_hit);
    assert_int_equal(r.best.tile_k, 5);
}

static void test_tune_layer_counts_the_model_time(void **state)
{
    (void)state;
    landscape(20, NULL);
    iob_tune_source src = mock_source(&land);
    iob_measurer meas = mock_measurer(&land);
    iob_layer L = mock_layer();
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_space s;
    iob_tune_result r;
    assert_int_equal(iob_tune_layer(&L, &h100, &src, &meas, &o, NULL, &s, &r, NULL), IOB_OK);
    assert_true(r.tune_s >= s.build_s);
    assert_int_equal(s.count, 20);
    iob_tune_space_free(&s);
    /* a layer with no candidate is an error, not an empty result */
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        land.enum_status[a] = IOB_ENOTSUP;
    iob_error err;
    assert_int_equal(iob_tune_layer(&L, &h100, &src, &meas, &o, NULL, NULL, &r, &err),
                     IOB_ENOTSUP);
}

/* Random search on the current landscape; the entry indices it measured, in order. */
static size_t random_picks(size_t budget, uint64_t seed, size_t *picked)
{
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_space s = build(&o);
    iob_measurer meas = mock_measurer(&land);
    iob_layer L = mock_layer();
    iob_tune_result r;
    assert_int_equal(iob_tune_random(&s, &L, &meas, budget, seed, NULL, &r, NULL), IOB_OK);
    assert_int_equal(r.measured, land.measure_calls);
    for (int i = 0; i < land.measure_calls; i++)
        picked[i] = land.order[i];
    iob_tune_space_free(&s);
    return (size_t)land.measure_calls;
}

static void test_random_is_seeded_and_exact(void **state)
{
    (void)state;
    size_t a[64], b[64], c[64];
    landscape(200, NULL);
    assert_int_equal(random_picks(10, 0, a), 10);
    /* splitmix64 from seed 0 gives 0xe220a8397b1dcdaf, then 0x6e789e6aa1b965f4:
     * pick 0 = 0xe220a8397b1dcdaf % 200 = 135, pick 1 = 1 + 0x6e789e6aa1b965f4 % 199 = 188 */
    assert_int_equal(a[0], 135);
    assert_int_equal(a[1], 188);
    landscape(200, NULL);
    assert_int_equal(random_picks(10, 0, b), 10);
    assert_memory_equal(a, b, sizeof a[0] * 10);
    landscape(200, NULL);
    assert_int_equal(random_picks(10, 1, c), 10);
    assert_true(memcmp(a, c, sizeof a[0] * 10) != 0);
    for (size_t i = 0; i < 10; i++) /* without replacement */
        for (size_t j = i + 1; j < 10; j++)
            assert_true(a[i] != a[j]);
    /* a budget above the space measures the space, each config once */
    landscape(7, NULL);
    assert_int_equal(random_picks(50, 3, a), 7);
    int seen[7] = {0};
    for (size_t i = 0; i < 7; i++)
        seen[a[i]]++;
    for (int i = 0; i < 7; i++)
        assert_int_equal(seen[i], 1);
    /* the draw ignores the ranking and the pruning: the same picks in a pruned landscape */
    landscape(200, NULL);
    for (int i = 0; i < 200; i++)
        land.e[i].pred_bytes = i % 2 ? 150 : 1e6;
    assert_int_equal(random_picks(10, 0, c), 10);
    assert_int_equal(c[0], 135);
    assert_int_equal(c[1], 188);
}

static void test_random_uses_the_tuner_budget(void **state)
{
    (void)state;
    /* the CLI passes the tuner's measured count: failures included, extensions included */
    landscape(100, NULL);
    for (int i = 0; i < 5; i++)
        land.e[i].status = IOB_ECHECK;
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_result t = search(&o, NULL);
    assert_int_equal(t.measured, 6);
    iob_tune_space s = build(&o);
    iob_measurer meas = mock_measurer(&land);
    iob_layer L = mock_layer();
    land.measure_calls = 0;
    iob_tune_result r;
    assert_int_equal(iob_tune_random(&s, &L, &meas, t.measured, 9, NULL, &r, NULL), IOB_OK);
    assert_int_equal(r.measured, 6);
    assert_int_equal(r.budget, 6);
    assert_int_equal(land.measure_calls, 6);
    iob_tune_space_free(&s);
}

static void test_exhaustive_and_memo(void **state)
{
    (void)state;
    double t[40];
    for (int i = 0; i < 40; i++)
        t[i] = 10 + i;
    t[30] = 1.0; /* the global best, pruned below */
    t[20] = 2.0; /* the best kept config, beyond the tuner's budget */
    t[25] = 0.5; /* faster still, but wrong */
    landscape(40, t);
    land.e[25].status = IOB_ECHECK;
    land.e[30].pred_bytes = 1000;
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    o.factor = 3;
    iob_tune_space s = build(&o);
    iob_measurer meas = mock_measurer(&land);
    iob_layer L = mock_layer();
    iob_tune_memo memo = {0};
    iob_tune_result g, r, e;
    assert_int_equal(iob_tune_search(&s, &L, &meas, &o, &memo, &g, NULL), IOB_OK);
    assert_int_equal(g.measured, 3);
    assert_int_equal(iob_tune_random(&s, &L, &meas, g.measured, 5, &memo, &r, NULL), IOB_OK);
    assert_int_equal(iob_tune_exhaustive(&s, &L, &meas, &memo, &e, NULL), IOB_OK);
    assert_int_equal(e.measured, 40);
    assert_int_equal(e.failed, 1);
    assert_int_equal(e.best.tile_k, 31);
    assert_true(e.best_ms == 1.0);
    assert_int_equal(e.best_rank, -1); /* the ground truth was pruned: the record says so */
    assert_true(e.best_ratio == 1000.0 / 100.0);
    /* every config reached the measurer exactly once */
    assert_int_equal(land.measure_calls, 40);
    assert_int_equal(memo.count, 40);
    iob_tune_memo_free(&memo);
    iob_tune_space_free(&s);
}

static void test_gpu_measurer_without_gpu(void **state)
{
    (void)state;
    if (iob_gpu_available(NULL) == IOB_OK)
        skip(); /* this case is about a machine without a GPU */
    landscape(60, NULL);
    iob_gpu_measurer gm;
    iob_gpu_measurer_init(&gm, NULL);
    assert_int_equal(gm.run.reps, 20);
    iob_measurer meas = iob_gpu_measurer_get(&gm);
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_space s = build(&o);
    iob_layer L = mock_layer();
    iob_tune_result r;
    assert_int_equal(iob_tune_search(&s, &L, &meas, &o, NULL, &r, NULL), IOB_OK);
    assert_true(r.stopped);
    assert_int_equal(r.measured, 0);
    assert_false(r.found);
    iob_tune_baseline b;
    iob_error err;
    assert_int_equal(meas.baseline(meas.ctx, &L, &b, &err), IOB_ENODEV);
    iob_tune_space_free(&s);
}

int main(void)
{
    iob_machine_get("h100-sxm", &h100, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fastest_correct_wins),
        cmocka_unit_test(test_every_algorithm_is_measured),
        cmocka_unit_test(test_failures_extend_then_give_up),
        cmocka_unit_test(test_pruned_are_never_measured),
        cmocka_unit_test(test_measurer_stops),
        cmocka_unit_test(test_time_budget),
        cmocka_unit_test(test_tune_layer_counts_the_model_time),
        cmocka_unit_test(test_random_is_seeded_and_exact),
        cmocka_unit_test(test_random_uses_the_tuner_budget),
        cmocka_unit_test(test_exhaustive_and_memo),
        cmocka_unit_test(test_gpu_measurer_without_gpu),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
