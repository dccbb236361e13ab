/* test_tune_record.c - the records `iobound tune` appends (CSV and JSON Lines: write, read back,
 * resume after a torn line, refuse a file of the other format or with garbage) and the summary
 * statistics against values computed by hand. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "iobound/tune.h"

static char path[64];

static int setup(void **state)
{
    (void)state;
    snprintf(path, sizeof path, "/tmp/iob-tune-rec-XXXXXX");
    int fd = mkstemp(path);
    if (fd < 0)
        return -1;
    close(fd);
    unlink(path); /* the records file starts absent */
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    unlink(path);
    return 0;
}

static iob_tune_record sample(int i)
{
    iob_tune_record r;
    iob_tune_record_init(&r);
    snprintf(r.layer, sizeof r.layer, "net.layer%d", i);
    snprintf(r.spec, sizeof r.spec, "name=net.layer%d,n=1,c=%d,h=7,w=7,k=8,r=3,s=3", i, i + 1);
    snprintf(r.status, sizeof r.status, "ok");
    /* commas and quotes: CSV must quote them */
    snprintf(r.config, sizeof r.config, "algo=direct,tile_k=%d,stages=2,split_c=1", 16 * i);
    snprintf(r.message, sizeof r.message, "2 of 8 failed: \"wrong output\", then\nmore");
    r.time_ms = 0.0123 * (i + 1);
    r.pred_ms = 0.01;
    r.ratio = 1.75;
    r.rank = 2;
    r.measured = 8;
    r.feasible = 160;
    r.kept = 90;
    r.failed = 2;
    r.tune_s = 1.5;
    r.cudnn_fp32_ms = 0.04;
    snprintf(r.cudnn_fp32_algo, sizeof r.cudnn_fp32_algo, "IMPLICIT_PRECOMP_GEMM");
    r.certified = i % 2;
    r.exhaustive_rank = -1;
    return r;
}

static void assert_same(const iob_tune_record *a, const iob_tune_record *b)
{
    assert_string_equal(a->layer, b->layer);
    assert_string_equal(a->spec, b->spec);
    assert_string_equal(a->status, b->status);
    assert_string_equal(a->config, b->config);
    assert_string_equal(b->message, "2 of 8 failed: \"wrong output\", then more"); /* one line */
    assert_true(fabs(a->time_ms - b->time_ms) <= 1e-9 * a->time_ms);
    assert_true(a->ratio == b->ratio && a->pred_ms == b->pred_ms);
    assert_int_equal(a->rank, b->rank);
    assert_int_equal(a->measured, b->measured);
    assert_int_equal(a->feasible, b->feasible);
    assert_int_equal(a->kept, b->kept);
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->certified, b->certified);
    assert_int_equal(a->exhaustive_rank, b->exhaustive_rank);
    assert_int_equal(b->random_measured, -1);
    assert_true(isnan(b->cudnn_tf32_ms) && isnan(b->random_ms) && isnan(b->exhaustive_ms));
    assert_string_equal(a->cudnn_fp32_algo, b->cudnn_fp32_algo);
    assert_string_equal(b->cudnn_tf32_algo, "");
}

static void append_torn(const char *text)
{
    FILE *fp = fopen(path, "a");
    assert_non_null(fp);
    fputs(text, fp);
    fclose(fp);
}

static void round_trip(iob_tune_rec_fmt fmt)
{
    FILE *fp;
    iob_tune_record_list done = {0};
    iob_error err = {0};
    assert_int_equal(iob_tune_records_open(path, fmt, &fp, &done, &err), IOB_OK);
    assert_int_equal(done.count, 0);
    iob_tune_record a = sample(1), b = sample(2);
    iob_tune_record_write(fp, fmt, &a);
    iob_tune_record_write(fp, fmt, &b);
    fclose(fp);
    /* a killed run leaves half a line: resuming cuts it off and keeps the two records */
    append_torn(fmt == IOB_TUNE_REC_CSV ? "net.layer3,ok,0.5,\"algo=dir" : "{\"layer\":\"net.la");
    if (iob_tune_records_open(path, fmt, &fp, &done, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(done.count, 2);
    assert_same(&a, &done.items[0]);
    assert_same(&b, &done.items[1]);
    iob_tune_record c = sample(3);
    iob_tune_record_write(fp, fmt, &c);
    fclose(fp);
    iob_tune_record_list_free(&done);
    assert_int_equal(iob_tune_records_open(path, fmt, &fp, &done, &err), IOB_OK);
    fclose(fp);
    assert_int_equal(done.count, 3);
    assert_same(&c, &done.items[2]);
    iob_tune_record_list_free(&done);
    /* the whole file: a header (CSV) and three lines, no trace of the torn one */
    fp = fopen(path, "r");
    char line[4096];
    int lines = 0;
    while (fgets(line, sizeof line, fp)) {
        assert_null(strstr(line, "net.la\n"));
        lines++;
    }
    fclose(fp);
    assert_int_equal(lines, fmt == IOB_TUNE_REC_CSV ? 4 : 3);
}

static void test_csv_round_trip(void **state)
{
    (void)state;
    round_trip(IOB_TUNE_REC_CSV);
}

static void test_jsonl_round_trip(void **state)
{
    (void)state;
    round_trip(IOB_TUNE_REC_JSONL);
}

static void test_refused_files(void **state)
{
    (void)state;
    FILE *fp;
    iob_tune_record_list done = {0};
    iob_error err;
    /* JSON Lines records opened as CSV */
    assert_int_equal(iob_tune_records_open(path, IOB_TUNE_REC_JSONL, &fp, &done, &err), IOB_OK);
    iob_tune_record a = sample(1);
    iob_tune_record_write(fp, IOB_TUNE_REC_JSONL, &a);
    fclose(fp);
    assert_int_equal(iob_tune_records_open(path, IOB_TUNE_REC_CSV, &fp, &done, &err),
                     IOB_EINVAL);
    assert_non_null(strstr(err.msg, "holds JSON Lines records"));
    /* a line that is not a record: named by its number, file left alone */
    append_torn("{\"layer\": 5}\n");
    assert_int_equal(iob_tune_records_open(path, IOB_TUNE_REC_JSONL, &fp, &done, &err),
                     IOB_EINVAL);
    assert_non_null(strstr(err.msg, ":2: not a tuning record"));
    iob_tune_record_list_free(&done);
    /* a CSV file that is not ours */
    unlink(path);
    append_torn("name,n,c,h\nx,1,2,3\n");
    assert_int_equal(iob_tune_records_open(path, IOB_TUNE_REC_CSV, &fp, &done, &err),
                     IOB_EINVAL);
    assert_non_null(strstr(err.msg, ":1: not a header of tuning records"));
    /* a CSV row with a wrong number of cells */
    unlink(path);
    assert_int_equal(iob_tune_records_open(path, IOB_TUNE_REC_CSV, &fp, &done, &err), IOB_OK);
    fclose(fp);
    append_torn("x,ok\n");
    assert_int_equal(iob_tune_records_open(path, IOB_TUNE_REC_CSV, &fp, &done, &err),
                     IOB_EINVAL);
    assert_non_null(strstr(err.msg, ":2: not a tuning record"));
    iob_tune_record_list_free(&done);
}

static iob_tune_record rec(const char *name, const char *status, double t, double fp32,
                           double tf32, double ex, double rnd, long measured, long feasible,
                           double tune_s)
{
    iob_tune_record r;
    iob_tune_record_init(&r);
    snprintf(r.layer, sizeof r.layer, "%s", name);
    snprintf(r.status, sizeof r.status, "%s", status);
    r.time_ms = t;
    r.cudnn_fp32_ms = fp32;
    r.cudnn_tf32_ms = tf32;
    r.exhaustive_ms = ex;
    r.random_ms = rnd;
    r.measured = measured;
    r.feasible = feasible;
    r.tune_s = tune_s;
    return r;
}

static void test_summary_by_hand(void **state)
{
    (void)state;
    iob_tune_record r[5] = {
        /* speedup 2, within 5% of exhaustive (1.0 <= 1.008), random 1.5x slower */
        rec("a", "ok", 1.0, 2.0, 0.5, 0.96, 1.5, 5, 100, 1.0),
        /* speedup 0.5 (the worst, below 0.9), not within 5% (2.0 > 1.995), random as fast */
        rec("b", "ok", 2.0, 1.0, 1.0, 1.9, 2.0, 3, 40, 3.0),
        /* speedup 4, no exhaustive, no random */
        rec("c", "ok", 1.0, 4.0, NAN, NAN, NAN, 10, 1000, 2.0),
        /* not tuned: counts as a layer only */
        rec("d", "no-config", NAN, 1.0, 1.0, 1.0, 1.0, 6, 50, 9.0),
        rec("e", "error", NAN, NAN, NAN, NAN, NAN, -1, -1, NAN),
    };
    iob_tune_summary s;
    iob_tune_summarize(r, 5, &s);
    assert_int_equal(s.layers, 5);
    assert_int_equal(s.tuned, 3);
    assert_int_equal(s.with_cudnn, 3);
    /* (2 * 0.5 * 4)^(1/3) = 4^(1/3) */
    assert_true(fabs(s.geomean_speedup - cbrt(4.0)) < 1e-12);
    assert_true(s.worst_speedup == 0.5);
    assert_string_equal(s.worst_layer, "b");
    assert_int_equal(s.below_0_9, 1);
    /* TF32: 0.5/1 and 1/2 -> sqrt(0.25) = 0.5 */
    assert_int_equal(s.with_tf32, 2);
    assert_true(fabs(s.geomean_speedup_tf32 - 0.5) < 1e-12);
    assert_int_equal(s.with_exhaustive, 2);
    assert_true(s.within5_fraction == 0.5);
    /* random / tuned: 1.5 and 1.0 -> sqrt(1.5) */
    assert_int_equal(s.with_random, 2);
    assert_true(fabs(s.geomean_over_random - sqrt(1.5)) < 1e-12);
    /* random within 5% of exhaustive: 1.5 > 1.008 no, 2.0 > 1.995 no */
    assert_int_equal(s.random_with_exhaustive, 2);
    assert_true(s.random_within5_fraction == 0.0);
    assert_true(s.max_measured_fraction == 0.075); /* 3/40 beats 5/100 and 10/1000 */
    assert_true(fabs(s.mean_tune_s - 2.0) < 1e-12);
    assert_true(s.max_tune_s == 3.0);

    /* nothing tuned: every statistic is NaN, not 0 */
    iob_tune_summarize(r + 3, 2, &s);
    assert_int_equal(s.layers, 2);
    assert_int_equal(s.tuned, 0);
    assert_true(isnan(s.geomean_speedup) && isnan(s.within5_fraction) && isnan(s.mean_tune_s));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_csv_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_jsonl_round_trip, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_files, setup, teardown),
        cmocka_unit_test(test_summary_by_hand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
