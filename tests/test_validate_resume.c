/* test_validate_resume.c - an interrupted sweep keeps every finished record, and the same sweep
 * resumed loses and duplicates nothing: the file ends byte for byte equal to an uninterrupted
 * run's, for CSV and JSON Lines, after a stop between records, a torn last line, and a real
 * SIGKILL in the middle of writing a record. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <omp.h>

#include <cjson/cJSON.h>

#include "model/csv.h"
#include "validate_fakes.h"

#define NLAYERS 4 /* x 3 configs = 12 records, + 4 cuDNN records when measured */

typedef struct stop_after {
    size_t n;
    volatile sig_atomic_t flag;
    int kill_mid_record; /* write half a record, then SIGKILL ourselves */
    const char *path;
} stop_after;

static void progress_stop(void *ctx, const iob_sweep_progress *p)
{
    stop_after *s = ctx;
    if (p->done < s->n)
        return;
    if (s->kill_mid_record) {
        /* what a writer killed inside write() leaves: the first part of the next line */
        FILE *fp = fopen(s->path, "ab");
        fputs("l9,\"name=l9,n=2,c=4", fp);
        fclose(fp);
        raise(SIGKILL);
    }
    s->flag = 1;
}

static char *reference(const char *dir, iob_record_format fmt, int measure, size_t *len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/reference.%s", dir, fmt == IOB_RECFMT_CSV ? "csv" : "jsonl");
    iob_layer layers[NLAYERS];
    iob_sweep_opts o;
    fake_opts(&o, layers, NLAYERS, path, fmt);
    o.measure = measure;
    iob_sweep_result res;
    iob_error err = {0};
    if (iob_sweep_run(&o, &res, &err))
        fail_msg("reference sweep: %s", err.msg);
    assert_int_equal(res.written, NLAYERS * (3 + measure));
    assert_int_equal(res.planned, NLAYERS * (3 + measure));
    return slurp(path, len);
}

static void check_resume(iob_record_format fmt, int measure, int kill_mid_record)
{
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    size_t ref_len = 0;
    char *ref = reference(dir, fmt, measure, &ref_len);
    assert_non_null(ref);
    snprintf(path, sizeof path, "%s/run.%s", dir, fmt == IOB_RECFMT_CSV ? "csv" : "jsonl");
    iob_layer layers[NLAYERS];
    iob_sweep_opts o;
    fake_opts(&o, layers, NLAYERS, path, fmt);
    o.measure = measure;
    stop_after st = {.n = 5, .kill_mid_record = kill_mid_record, .path = path};
    o.progress = progress_stop;
    o.ctx = &st;
    o.stop = &st.flag;
    iob_sweep_result res;
    iob_error err = {0};
    if (kill_mid_record) {
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            /* libgomp's threads do not survive fork(): the child's model runs on one thread */
            omp_set_num_threads(1);
            iob_sweep_run(&o, &res, &err);
            _exit(0); /* not reached: the progress callback kills the process */
        }
        int status;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        assert_true(WIFSIGNALED(status));
        assert_int_equal(WTERMSIG(status), SIGKILL);
    } else {
        assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
        assert_true(res.interrupted);
        assert_int_equal(res.written, 5);
        /* a stop between records: a clean prefix; then a torn line as a kill would leave */
        FILE *fp = fopen(path, "ab");
        fputs(fmt == IOB_RECFMT_CSV ? "l1,\"name=l1,n=2" : "{\"layer\":\"l1\",\"layer_sp", fp);
        fclose(fp);
    }
    /* what survived: exactly the first five records of the reference, then a torn line */
    size_t part_len = 0;
    char *part = slurp(path, &part_len);
    assert_non_null(part);
    const char *cut = ref;
    for (int lines = 0; lines < 5 + (fmt == IOB_RECFMT_CSV); lines++)
        cut = strchr(cut, '\n') + 1;
    size_t prefix = (size_t)(cut - ref);
    assert_true(part_len > prefix);
    assert_memory_equal(part, ref, prefix);
    assert_null(memchr(part + prefix, '\n', part_len - prefix)); /* the torn line */
    int64_t torn = (int64_t)(part_len - prefix);
    free(part);

    /* the same command again */
    stop_after none = {.n = (size_t)-1};
    o.ctx = &none;
    o.stop = &none.flag;
    memset(&res, 0, sizeof res);
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    assert_false(res.interrupted);
    assert_int_equal(res.repaired_bytes, torn);
    assert_int_equal(res.skipped, 5);
    assert_int_equal(res.written, NLAYERS * (3 + measure) - 5);
    assert_int_equal(res.duplicates, 0);
    size_t got_len = 0;
    char *got = slurp(path, &got_len);
    assert_non_null(got);
    assert_int_equal(got_len, ref_len);
    assert_memory_equal(got, ref, ref_len);

    /* and once more: nothing left to do, nothing written */
    memset(&res, 0, sizeof res);
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    assert_int_equal(res.written, 0);
    assert_int_equal(res.skipped, NLAYERS * (3 + measure));
    free(got);
    got = slurp(path, &got_len);
    assert_int_equal(got_len, ref_len);
    assert_memory_equal(got, ref, ref_len);
    free(got);
    free(ref);
    remove_tmpdir(dir);
}

static void test_stop_and_torn_line_csv(void **state)
{
    (void)state;
    check_resume(IOB_RECFMT_CSV, 0, 0);
}

static void test_stop_and_torn_line_jsonl(void **state)
{
    (void)state;
    check_resume(IOB_RECFMT_JSONL, 0, 0);
}

static void test_sigkill_mid_record_csv(void **state)
{
    (void)state;
    check_resume(IOB_RECFMT_CSV, 0, 1);
}

static void test_sigkill_mid_record_jsonl_measured(void **state)
{
    (void)state;
    check_resume(IOB_RECFMT_JSONL, 1, 1);
}

static void test_stop_measured_csv(void **state)
{
    (void)state;
    check_resume(IOB_RECFMT_CSV, 1, 0);
}

/* A resumed sweep may not write into a file of the other format or another machine. */
static void test_refuses_other_format_and_machine(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/r.csv", dir);
    iob_layer layers[1];
    iob_sweep_opts o;
    fake_opts(&o, layers, 1, path, IOB_RECFMT_CSV);
    iob_sweep_result res;
    iob_error err = {0};
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
    o.format = IOB_RECFMT_JSONL;
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "holds CSV records"));
    o.format = IOB_RECFMT_CSV;
    iob_machine_get("a100-sxm", &o.machine, NULL);
    assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "machine 'h100-sxm'"));
    remove_tmpdir(dir);
}

/* Removes every column whose name ends in "l2_read_slice_bytes" from a CSV file or every such
 * key from a JSON Lines file: the file an iobound from before that level wrote. */
static void make_old_file(const char *path, iob_record_format fmt)
{
    iob_record_list list = {0};
    iob_error err = {0};
    if (iob_records_read(path, &list, &err))
        fail_msg("%s", err.msg);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    int nf = iob_record_field_count(), first = 1;
    if (fmt == IOB_RECFMT_CSV) {
        for (int i = 0; i < nf; i++)
            if (!strstr(iob_record_field_name(i), "l2_read_slice_bytes")) {
                fprintf(fp, "%s%s", first ? "" : ",", iob_record_field_name(i));
                first = 0;
            }
        fputc('\n', fp);
    }
    for (size_t k = 0; k < list.count; k++) {
        char *line = NULL;
        assert_int_equal(iob_record_to_line(&list.items[k], fmt, &line, NULL), IOB_OK);
        if (fmt == IOB_RECFMT_JSONL) {
            cJSON *o = cJSON_Parse(line);
            assert_non_null(o);
            for (int i = 0; i < nf; i++)
                if (strstr(iob_record_field_name(i), "l2_read_slice_bytes"))
                    cJSON_DeleteItemFromObjectCaseSensitive(o, iob_record_field_name(i));
            char *text = cJSON_PrintUnformatted(o);
            fprintf(fp, "%s\n", text);
            cJSON_free(text);
            cJSON_Delete(o);
        } else {
            /* the row's cells minus those columns: parse it back through the reader's split */
            char *cells[128];
            line[strcspn(line, "\n")] = '\0';
            int n = iob_csv_split(line, cells, 128);
            assert_int_equal(n, nf);
            first = 1;
            for (int i = 0; i < nf; i++)
                if (!strstr(iob_record_field_name(i), "l2_read_slice_bytes")) {
                    int quote = strpbrk(cells[i], ",\"") || cells[i][0] == ' ' ||
                                cells[i][0] == '#';
                    fputs(first ? "" : ",", fp);
                    if (quote) {
                        fputc('"', fp);
                        for (const char *c = cells[i]; *c; c++) {
                            if (*c == '"')
                                fputc('"', fp);
                            fputc(*c, fp);
                        }
                        fputc('"', fp);
                    } else {
                        fputs(cells[i], fp);
                    }
                    first = 0;
                }
            fputc('\n', fp);
        }
        free(line);
    }
    fclose(fp);
    iob_record_list_free(&list);
}

/* A file written by an iobound from before the L2-slice level: still read (the new columns
 * unknown), but a sweep refuses to append to it with one message, in both formats. */
static void test_old_file(void **state)
{
    (void)state;
    for (int fmt = 0; fmt < 2; fmt++) {
        char dir[256], path[512];
        make_tmpdir(dir, sizeof dir);
        snprintf(path, sizeof path, "%s/old.%s", dir, fmt == IOB_RECFMT_CSV ? "csv" : "jsonl");
        iob_layer layers[2];
        iob_sweep_opts o;
        fake_opts(&o, layers, 2, path, (iob_record_format)fmt);
        o.measure = 1;
        iob_sweep_result res;
        iob_error err = {0};
        assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_OK);
        make_old_file(path, (iob_record_format)fmt);
        iob_record_list list = {0};
        assert_int_equal(iob_records_read(path, &list, &err), IOB_OK);
        assert_int_equal(list.count, res.written);
        int measured = 0;
        for (size_t k = 0; k < list.count; k++) {
            assert_true(isnan(list.items[k].meas[IOB_LVL_L2_READ_SLICE]));
            measured += isfinite(list.items[k].meas[IOB_LVL_L2_READ]);
        }
        assert_true(measured > 0);
        iob_record_list_free(&list);
        assert_int_equal(iob_sweep_run(&o, &res, &err), IOB_EINVAL);
        assert_non_null(strstr(err.msg, path));
        assert_non_null(strstr(err.msg, fmt == IOB_RECFMT_CSV ? "the CSV header differs"
                                                              : "lack the key "
                                                                "'pred_l2_read_slice_bytes'"));
        assert_non_null(strstr(err.msg, "write to a new file"));
        remove_tmpdir(dir);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_stop_and_torn_line_csv),
        cmocka_unit_test(test_old_file),
        cmocka_unit_test(test_stop_and_torn_line_jsonl),
        cmocka_unit_test(test_sigkill_mid_record_csv),
        cmocka_unit_test(test_sigkill_mid_record_jsonl_measured),
        cmocka_unit_test(test_stop_measured_csv),
        cmocka_unit_test(test_refuses_other_format_and_machine),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
