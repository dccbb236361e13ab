/* test_validate_record.c - the validation record: CSV and JSON Lines round trips (quotes, commas,
 * control characters, unknown numbers, exact doubles), the reader (comments, reordered columns,
 * torn last line, malformed lines), relative errors and failure bookkeeping, the append file
 * (header, repair, de-duplication, format and machine checks), and docs/validate.md naming every
 * field. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "validate_fakes.h"

static void sample(iob_record *r)
{
    iob_record_init(r);
    snprintf(r->layer, sizeof r->layer, "#odd \"name\"");
    snprintf(r->layer_spec, sizeof r->layer_spec, "name=#odd \"name\",n=1,c=3,h=5,w=5,k=2");
    snprintf(r->algo, sizeof r->algo, "winograd");
    snprintf(r->variant, sizeof r->variant, "F(2x2,3x3) fused");
    snprintf(r->config, sizeof r->config, "algo=winograd,wino_m=2,tile_k=64,stages=1,split_c=1");
    snprintf(r->machine, sizeof r->machine, "h100-sxm");
    iob_error e;
    iob_error_set(&e, IOB_ECHECK, "line one\nline two, with a comma");
    iob_record_fail(r, &r->meas_state, "measure", &e);
    r->flops = 123456789012345.0;
    r->s_bytes = 495616;
    r->bound_gpu_bytes = 0.1;
    r->bound_sm_bytes = 1e300;
    r->compulsory_bytes = 1.0 / 3.0;
    snprintf(r->bound_dominant, sizeof r->bound_dominant, "reuse (EWMM)");
    r->pred_state = IOB_STAGE_OK;
    r->sim_state = IOB_STAGE_UNAVAILABLE;
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        r->pred[l] = 1000.0 * (l + 1) + 0.25;
        r->meas[l] = l == IOB_LVL_SMEM ? NAN : 900.0 * (l + 1);
    }
    r->meas[IOB_LVL_FFMA] = 0; /* a zero measurement has no relative error */
    snprintf(r->pred_limiter, sizeof r->pred_limiter, "dram");
    r->cudnn_fp32_ms = 0.123;
    snprintf(r->cudnn_fp32_algo, sizeof r->cudnn_fp32_algo, "IMPLICIT_PRECOMP_GEMM");
    iob_record_finish(r);
}

/* Two records are equal when every field is (NAN equal to NAN). */
static void assert_same(const iob_record *a, const iob_record *b)
{
    char *la, *lb;
    assert_int_equal(iob_record_to_line(a, IOB_RECFMT_JSONL, &la, NULL), IOB_OK);
    assert_int_equal(iob_record_to_line(b, IOB_RECFMT_JSONL, &lb, NULL), IOB_OK);
    assert_string_equal(la, lb);
    free(la);
    free(lb);
    assert_true(a->flops == b->flops && a->bound_gpu_bytes == b->bound_gpu_bytes &&
                a->bound_sm_bytes == b->bound_sm_bytes &&
                a->compulsory_bytes == b->compulsory_bytes);
}

static void test_finish_and_fail(void **state)
{
    (void)state;
    iob_record r;
    sample(&r);
    assert_int_equal(r.status, IOB_REC_ERROR);
    assert_string_equal(r.error_stage, "measure");
    assert_string_equal(r.error_code, "wrong result");
    assert_string_equal(r.error, "measure: line one line two, with a comma");
    assert_int_equal(r.meas_state, IOB_STAGE_FAILED);
    /* (1000.25 - 900) / 900 */
    assert_true(fabs(r.relerr_pred[IOB_LVL_L2_READ] - 100.25 / 900) < 1e-15);
    assert_true(isnan(r.relerr_pred[IOB_LVL_SMEM])); /* not measured */
    assert_true(isnan(r.relerr_pred[IOB_LVL_FFMA])); /* measured 0 */
    assert_true(isnan(r.relerr_sim[IOB_LVL_L2_READ]));
    iob_error e;
    iob_error_set(&e, IOB_EGPU, "second");
    iob_record_fail(&r, NULL, "cudnn", &e);
    assert_string_equal(r.error_stage, "measure"); /* the first failure names the stage */
    assert_string_equal(r.error, "measure: line one line two, with a comma; cudnn: second");
    char key[1024];
    iob_record_key(&r, key, sizeof key);
    assert_string_equal(key, "name=#odd \"name\",n=1,c=3,h=5,w=5,k=2\twinograd\t"
                             "algo=winograd,wino_m=2,tile_k=64,stages=1,split_c=1");
    double lv[IOB_LVL_COUNT] = {1, 2};
    assert_true(iob_levels_l2_total(lv) == 3);
}

static void test_round_trip_both_formats(void **state)
{
    (void)state;
    iob_record r, back;
    sample(&r);
    for (int fmt = 0; fmt <= 1; fmt++) {
        char *line;
        assert_int_equal(iob_record_to_line(&r, (iob_record_format)fmt, &line, NULL), IOB_OK);
        size_t n = strlen(line);
        assert_true(n > 0 && line[n - 1] == '\n');
        assert_null(memchr(line, '\n', n - 1)); /* one line, whatever the message held */
        line[n - 1] = '\0';
        iob_error err = {0};
        assert_int_equal(iob_record_from_line(line, (iob_record_format)fmt, &back, &err),
                         IOB_OK);
        assert_same(&r, &back);
        assert_string_equal(back.layer, "#odd \"name\"");
        assert_true(back.bound_sm_bytes == 1e300);
        assert_true(back.compulsory_bytes == 1.0 / 3.0); /* 17 digits where 15 do not do */
        assert_true(isnan(back.meas[IOB_LVL_SMEM]));
        if (fmt == IOB_RECFMT_CSV) /* the shortest exact text, and an empty cell for NAN */
            assert_non_null(strstr(line, ",123456789012345,495616,1e+300,0.1,"
                                         "0.33333333333333331,"));
        else
            assert_non_null(strstr(line, "\"meas_smem_bytes\":null"));
        free(line);
    }
    /* every algorithm's name fits the record whole (winograd-nonfused once lost its tail) */
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        snprintf(r.algo, sizeof r.algo, "%s", iob_algo_name((iob_algo)a));
        assert_string_equal(r.algo, iob_algo_name((iob_algo)a));
        char *line;
        assert_int_equal(iob_record_to_line(&r, IOB_RECFMT_CSV, &line, NULL), IOB_OK);
        line[strlen(line) - 1] = '\0';
        assert_int_equal(iob_record_from_line(line, IOB_RECFMT_CSV, &back, NULL), IOB_OK);
        assert_string_equal(back.algo, iob_algo_name((iob_algo)a));
        free(line);
    }
    const char *header = iob_record_csv_header();
    assert_int_equal(strncmp(header, "layer,layer_spec,algo,variant,config,machine,status,", 52),
                     0);
    assert_int_equal(iob_record_field_count(), 65);
    assert_string_equal(iob_record_field_name(0), "layer");
    assert_null(iob_record_field_name(65));
    /* every level's columns carry iob_level_name() */
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        char col[64];
        snprintf(col, sizeof col, ",meas_%s,", iob_level_name((iob_level)l));
        assert_non_null(strstr(header, col));
    }
}

static void test_reader(void **state)
{
    (void)state;
    iob_record r;
    sample(&r);
    char *line;
    assert_int_equal(iob_record_to_line(&r, IOB_RECFMT_CSV, &line, NULL), IOB_OK);
    /* comments, a blank line, CRLF, two records, then a torn one */
    char text[16384];
    int n = snprintf(text, sizeof text, "# test data\n\n%s\r\n%s%s%.40s",
                     iob_record_csv_header(), line, line, line);
    iob_record_list list = {0};
    iob_error err = {0};
    assert_int_equal(iob_records_parse(text, (size_t)n, "t.csv", &list, &err), IOB_OK);
    assert_int_equal(list.count, 2);
    assert_int_equal(list.format, IOB_RECFMT_CSV);
    assert_int_equal(list.torn_bytes, 40);
    assert_int_equal(list.good_bytes, n - 40);
    assert_same(&list.items[1], &r);
    iob_record_list_free(&list);

    /* columns in another order, some missing: mapped by name */
    const char *reordered = "config,algo,flops,layer_spec\n\"algo=direct,tile_k=8\",direct,42,"
                            "\"n=1,c=1,h=1,k=1,r=1\"\n";
    assert_int_equal(iob_records_parse(reordered, strlen(reordered), "r.csv", &list, &err),
                     IOB_OK);
    assert_int_equal(list.count, 1);
    assert_string_equal(list.items[0].config, "algo=direct,tile_k=8");
    assert_true(list.items[0].flops == 42);
    assert_true(isnan(list.items[0].bound_gpu_bytes));
    iob_record_list_free(&list);

    /* malformed input: each names the file, the line and the field */
    const char *bad[][2] = {
        {"layer,nonsense\n", "b.csv:1: unknown column 'nonsense'"},
        {"layer,layer\n", "b.csv:1: column 'layer' appears twice"},
        {"layer,flops\n", "b.csv:1: the header lacks layer_spec, algo or config"},
        {"layer_spec,algo,config,flops\nx,direct,,12abc\n", "b.csv:2: field flops: '12abc' is not"},
        {"layer_spec,algo,config,status\nx,direct,,fine\n", "b.csv:2: field status"},
        {"layer_spec,algo,config\nx,direct\n", "b.csv:2: 2 cells, the header has 3"},
        {"layer_spec,algo,config\n\"x,direct,\n", "b.csv:2: unterminated quote"},
        {"{\"layer_spec\":\"x\",\"algo\":\"direct\"}\n{\"layer_spec\": 3}\n",
         "b.csv:2: field layer_spec: expected a string"},
        {"{\"layer_spec\":\"x\",\"algo\":\"direct\"}\n[1]\n", "b.csv:2: not a JSON object"},
        {"{\"algo\":\"direct\"}\n", "b.csv:1: a record without layer_spec"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        memset(&err, 0, sizeof err);
        assert_int_equal(iob_records_parse(bad[i][0], strlen(bad[i][0]), "b.csv", &list, &err),
                         IOB_EINVAL);
        if (!strstr(err.msg, bad[i][1]))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i][1]);
        iob_record_list_free(&list);
    }
    /* an empty file is an empty list */
    assert_int_equal(iob_records_parse("", 0, "e.csv", &list, &err), IOB_OK);
    assert_int_equal(list.count, 0);
    assert_int_equal(iob_records_read("/nonexistent/file.csv", &list, &err), IOB_EINVAL);
    free(line);
}

static void test_recfile(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/a.csv", dir);
    iob_recfile *f;
    iob_error err = {0};
    assert_int_equal(iob_recfile_open(path, IOB_RECFMT_CSV, "h100-sxm", &f, &err), IOB_OK);
    iob_record r;
    sample(&r);
    int written;
    assert_int_equal(iob_recfile_append(f, &r, &written, &err), IOB_OK);
    assert_int_equal(written, 1);
    assert_int_equal(iob_recfile_append(f, &r, &written, &err), IOB_OK);
    assert_int_equal(written, 0); /* the same key again */
    snprintf(r.config, sizeof r.config, "algo=winograd,wino_m=4");
    assert_int_equal(iob_recfile_append(f, &r, &written, &err), IOB_OK);
    assert_int_equal(written, 1);
    char key[1024];
    iob_record_key(&r, key, sizeof key);
    assert_true(iob_recfile_has(f, key, 0));
    iob_recfile_close(f);
    size_t len = 0;
    char *good = slurp(path, &len);
    assert_non_null(good);
    assert_int_equal(strncmp(good, iob_record_csv_header(), strlen(iob_record_csv_header())), 0);

    /* a torn tail is cut back to the last full line on open */
    FILE *fp = fopen(path, "ab");
    fputs("l1,\"name=l1", fp);
    fclose(fp);
    assert_int_equal(iob_recfile_open(path, IOB_RECFMT_CSV, "h100-sxm", &f, &err), IOB_OK);
    assert_int_equal(iob_recfile_count(f), 2);
    assert_int_equal(iob_recfile_repaired_bytes(f), 11);
    assert_true(iob_recfile_has(f, key, 0));
    iob_recfile_close(f);
    size_t len2 = 0;
    char *again = slurp(path, &len2);
    assert_int_equal(len2, len);
    assert_memory_equal(again, good, len);
    free(again);

    /* wrong format, another machine, a foreign header */
    assert_int_equal(iob_recfile_open(path, IOB_RECFMT_JSONL, NULL, &f, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "holds CSV records, not JSON Lines"));
    assert_int_equal(iob_recfile_open(path, IOB_RECFMT_CSV, "v100", &f, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "holds records for machine 'h100-sxm'"));
    snprintf(path, sizeof path, "%s/foreign.csv", dir);
    fp = fopen(path, "w");
    fputs("layer_spec,algo,config\nx,direct,\n", fp);
    fclose(fp);
    assert_int_equal(iob_recfile_open(path, IOB_RECFMT_CSV, NULL, &f, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "the CSV header differs"));
    assert_int_equal(iob_recfile_open("/nonexistent/x.csv", IOB_RECFMT_CSV, NULL, &f, &err),
                     IOB_EIO);
    free(good);
    remove_tmpdir(dir);
}

/* docs/validate.md explains every column: each name appears there as `name`. */
static void test_every_field_documented(void **state)
{
    (void)state;
    char *doc = slurp(IOB_SOURCE_DIR "/docs/validate.md", NULL);
    assert_non_null(doc);
    for (int i = 0; i < iob_record_field_count(); i++) {
        const char *name = iob_record_field_name(i);
        char quoted[80];
        snprintf(quoted, sizeof quoted, "`%s`", name);
        /* the per-level columns are documented once as `pred_<level>` etc. */
        const char *prefixes[] = {"pred_", "sim_", "meas_", "relerr_pred_", "relerr_sim_"};
        int level_col = 0;
        for (int p = 0; p < 5; p++)
            for (int l = 0; l < IOB_LVL_COUNT; l++) {
                char col[64];
                snprintf(col, sizeof col, "%s%s", prefixes[p], iob_level_name((iob_level)l));
                if (!strcmp(col, name))
                    level_col = 1;
            }
        if (level_col)
            continue;
        if (!strstr(doc, quoted))
            fail_msg("docs/validate.md does not document the field %s", quoted);
    }
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        char quoted[80];
        snprintf(quoted, sizeof quoted, "`%s`", iob_level_name((iob_level)l));
        if (!strstr(doc, quoted))
            fail_msg("docs/validate.md does not document the level %s", quoted);
    }
    free(doc);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_finish_and_fail),
        cmocka_unit_test(test_round_trip_both_formats),
        cmocka_unit_test(test_reader),
        cmocka_unit_test(test_recfile),
        cmocka_unit_test(test_every_field_documented),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
