/* test_tune_run.c - one layer's tuning record on a known landscape (tests/tune_mock.h): the pick,
 * cuDNN's FP32 and TF32 times, the roofline floor, random and exhaustive search on one memo, the
 * exhaustive-only-below-a-size rule, a measurer that stops, a layer without candidates, and the
 * database entry of a record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "tune_mock.h"

static mock_land land;
static iob_machine h100;

/* 60 configs, predicted time i+1 ms, measured 10 + i ms except: entry 2 (rank 2) 3 ms, entry 40
 * 1 ms (the global best, beyond the budget), entry 1 wrong. */
static void landscape(void)
{
    mock_init(&land);
    for (int i = 0; i < 60; i++)
        mock_add(&land, IOB_ALGO_DIRECT, 1e-3 * (i + 1), 150 + i, 10 + i, IOB_OK);
    land.e[2].time_ms = 3;
    land.e[40].time_ms = 1;
    land.e[1].status = IOB_ECHECK;
}

static iob_tune_record run(const iob_tune_compare *cmp, int *stopped, iob_tune_result *res)
{
    iob_tune_source src = mock_source(&land);
    iob_measurer meas = mock_measurer(&land);
    iob_layer L = mock_layer();
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    iob_tune_record r;
    iob_error err = {0};
    if (iob_tune_layer_record(&L, &h100, &src, &meas, &o, cmp, &r, res, stopped, &err))
        fail_msg("%s", err.msg);
    return r;
}

static void test_full_record(void **state)
{
    (void)state;
    landscape();
    iob_tune_compare cmp = {.random = 1, .seed = 0, .exhaustive = 1};
    int stopped;
    iob_tune_result res;
    iob_tune_record r = run(&cmp, &stopped, &res);
    assert_int_equal(stopped, 0);
    assert_string_equal(r.layer, "mock");
    assert_string_equal(r.spec, "name=mock,n=1,c=64,h=56,w=56,k=64,r=3,s=3,stride_h=1,"
                                "stride_w=1,pad_top=1,pad_bottom=1,pad_left=1,pad_right=1,"
                                "dil_h=1,dil_w=1,groups=1");
    assert_string_equal(r.status, "ok");
    assert_string_equal(r.config, "algo=direct,tile_k=3,stages=1,split_c=1");
    assert_true(r.time_ms == 3 && r.pred_ms == 3);
    assert_true(r.ratio == 152.0 / 100.0);
    assert_int_equal(r.rank, 2);
    assert_int_equal(r.measured, 3);
    assert_int_equal(r.feasible, 60);
    assert_int_equal(r.kept, 60);
    assert_int_equal(r.failed, 1);
    assert_string_equal(r.message, "1 of 3 measured configs failed");
    assert_int_equal(res.nfailures, 1);
    /* the mock's cuDNN: FP32 2 ms, TF32 1 ms */
    assert_true(r.cudnn_fp32_ms == 2.0 && r.cudnn_tf32_ms == 1.0);
    assert_string_equal(r.cudnn_fp32_algo, "IMPLICIT_GEMM");
    /* floor of c=64,h=56,k=64,r=3: 231211008 FLOPs / 51 TFLOP/s */
    assert_true(fabs(r.floor_ms - 231211008.0 / 51e12 * 1e3) < 1e-15);
    /* random with the same 3 measurements (its picks: test_random_picks_by_hand) */
    assert_int_equal(r.random_measured, 3);
    assert_true(r.random_ms > 0);
    /* exhaustive: all 60, entry 40 (tile_k 41, rank 40) at 1 ms */
    assert_int_equal(r.exhaustive_measured, 60);
    assert_true(r.exhaustive_ms == 1.0);
    assert_string_equal(r.exhaustive_config, "algo=direct,tile_k=41,stages=1,split_c=1");
    assert_int_equal(r.exhaustive_rank, 40);
    assert_true(r.exhaustive_ratio == 190.0 / 100.0);
    assert_int_equal(land.measure_calls, 60); /* one memo: each config measured once */
    assert_int_equal(r.certified, -1); /* the h100-sxm preset has no L2 bandwidth */

    /* the database entry of the record */
    iob_layer L = mock_layer();
    iob_tune_entry e;
    iob_tune_entry_from_record(&L, &r, "0123456789abcdef", &e);
    assert_string_equal(e.layer, r.spec + strlen("name=mock,"));
    assert_string_equal(e.name, "mock");
    assert_string_equal(e.config, r.config);
    assert_true(e.time_ms == 3 && e.cudnn_fp32_ms == 2 && e.cudnn_tf32_ms == 1);
    assert_int_equal(e.measured, 3);
    assert_int_equal(e.feasible, 60);
    assert_string_equal(e.kernel_hash, "0123456789abcdef");
    assert_string_equal(e.date, "");
}

static void test_random_picks_by_hand(void **state)
{
    (void)state;
    landscape();
    iob_tune_compare cmp = {.random = 1, .seed = 0};
    int stopped;
    iob_tune_record r = run(&cmp, &stopped, NULL);
    /* guided: entries 0, 1, 2; random (seed 0, 60 configs): splitmix64 outputs
     * 0xe220a8397b1dcdaf % 60 = 55 and 1 + 0x6e789e6aa1b965f4 % 59 = 46 come first */
    assert_int_equal(land.order[3], 55);
    assert_int_equal(land.order[4], 46);
    assert_int_equal(r.random_measured, 3);
    assert_int_equal(land.measure_calls, 6);
    assert_true(isnan(r.exhaustive_ms)); /* not asked */
    assert_int_equal(r.exhaustive_measured, -1);
}

static void test_exhaustive_only_on_small_spaces(void **state)
{
    (void)state;
    landscape();
    iob_tune_compare cmp = {.exhaustive = 1, .exhaustive_max = 59};
    int stopped;
    iob_tune_record r = run(&cmp, &stopped, NULL);
    assert_true(isnan(r.exhaustive_ms));
    assert_int_equal(land.measure_calls, 3);
    landscape();
    cmp.exhaustive_max = 60;
    r = run(&cmp, &stopped, NULL);
    assert_true(r.exhaustive_ms == 1.0);
}

static void test_stopping_measurer(void **state)
{
    (void)state;
    landscape();
    land.broken_after = 2; /* the guided search stops after one measurement */
    int stopped;
    iob_tune_compare cmp = {.random = 1, .exhaustive = 1};
    iob_tune_record r = run(&cmp, &stopped, NULL);
    assert_int_equal(stopped, 1);
    assert_string_equal(r.status, "ok"); /* its one measured config passed and stands */
    assert_string_equal(r.message, "measuring stopped: mock: the GPU is gone");
    assert_true(isnan(r.cudnn_fp32_ms) && isnan(r.random_ms) && isnan(r.exhaustive_ms));
    /* stopping before anything passed */
    landscape();
    land.broken_after = 1;
    r = run(&cmp, &stopped, NULL);
    assert_int_equal(stopped, 1);
    assert_string_equal(r.status, "stopped");
    /* stopping in the exhaustive search keeps the tuner's pick */
    landscape();
    land.broken_after = 20;
    r = run(&cmp, &stopped, NULL);
    assert_int_equal(stopped, 1);
    assert_string_equal(r.status, "ok");
    assert_true(r.time_ms == 3);
    assert_non_null(strstr(r.message, "exhaustive search: measuring stopped"));
}

static void test_layer_without_candidates(void **state)
{
    (void)state;
    landscape();
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        land.enum_status[a] = IOB_ENOTSUP;
    int stopped;
    iob_tune_record r = run(NULL, &stopped, NULL);
    assert_int_equal(stopped, 0);
    assert_string_equal(r.status, "error");
    assert_non_null(strstr(r.message, "no algorithm has a feasible config"));
    assert_true(r.floor_ms > 0); /* the floor needs no candidate */
    assert_int_equal(land.measure_calls, 0);
}

int main(void)
{
    iob_machine_get("h100-sxm", &h100, NULL);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_record),
        cmocka_unit_test(test_random_picks_by_hand),
        cmocka_unit_test(test_exhaustive_only_on_small_spaces),
        cmocka_unit_test(test_stopping_measurer),
        cmocka_unit_test(test_layer_without_candidates),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
