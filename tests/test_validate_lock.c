/* test_validate_lock.c - two processes writing one record file at once: their lines never
 * interleave (every line is a whole record, the CSV header appears once), and two copies of the
 * same sweep write each record exactly once between them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/wait.h>

#include <cmocka.h>
#include <omp.h>

#include "validate_fakes.h"

#define PER_WRITER 150

static void writer(const char *path, iob_record_format fmt, int id)
{
    iob_recfile *f;
    if (iob_recfile_open(path, fmt, "h100-sxm", &f, NULL))
        _exit(10);
    iob_record r;
    iob_record_init(&r);
    snprintf(r.machine, sizeof r.machine, "h100-sxm");
    snprintf(r.algo, sizeof r.algo, "direct");
    /* long lines (a 500-byte error text) make a torn or interleaved write likely if unlocked */
    memset(r.error, 'x', 500);
    r.error[500] = '\0';
    for (int i = 0; i < PER_WRITER; i++) {
        snprintf(r.layer, sizeof r.layer, "w%d", id);
        snprintf(r.layer_spec, sizeof r.layer_spec, "name=w%d,n=1,c=%d,h=8,k=8,r=3", id, i + 1);
        r.flops = id * 1000 + i;
        int written;
        if (iob_recfile_append(f, &r, &written, NULL) || !written)
            _exit(11);
    }
    iob_recfile_close(f);
    _exit(0);
}

static void check_two_writers(iob_record_format fmt)
{
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/lock.%s", dir, fmt == IOB_RECFMT_CSV ? "csv" : "jsonl");
    pid_t pid[2];
    for (int w = 0; w < 2; w++) {
        pid[w] = fork();
        assert_true(pid[w] >= 0);
        if (pid[w] == 0)
            writer(path, fmt, w);
    }
    for (int w = 0; w < 2; w++) {
        int status;
        assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    size_t len = 0;
    char *text = slurp(path, &len);
    assert_non_null(text);
    /* whole lines only: the file parses, with nothing torn, and the header is there once */
    iob_record_list list = {0};
    iob_error err = {0};
    if (iob_records_parse(text, len, path, &list, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(list.torn_bytes, 0);
    assert_int_equal(list.count, 2 * PER_WRITER);
    size_t lines = 0;
    for (size_t i = 0; i < len; i++)
        lines += text[i] == '\n';
    assert_int_equal(lines, 2 * PER_WRITER + (fmt == IOB_RECFMT_CSV));
    /* each writer's records complete and in its own order */
    int next[2] = {0, 0};
    for (size_t i = 0; i < list.count; i++) {
        const iob_record *r = &list.items[i];
        int w = r->layer[1] - '0';
        assert_true(w == 0 || w == 1);
        assert_true(r->flops == w * 1000 + next[w]);
        assert_int_equal(strlen(r->error), 500);
        next[w]++;
    }
    assert_int_equal(next[0], PER_WRITER);
    assert_int_equal(next[1], PER_WRITER);
    iob_record_list_free(&list);
    free(text);
    remove_tmpdir(dir);
}

static void test_two_writers_csv(void **state)
{
    (void)state;
    check_two_writers(IOB_RECFMT_CSV);
}

static void test_two_writers_jsonl(void **state)
{
    (void)state;
    check_two_writers(IOB_RECFMT_JSONL);
}

/* Two copies of one sweep on one file: every record once. */
static void test_two_sweeps_same_file(void **state)
{
    (void)state;
    char dir[256], path[512];
    make_tmpdir(dir, sizeof dir);
    snprintf(path, sizeof path, "%s/same.csv", dir);
    enum { NL = 6 };
    pid_t pid[2];
    for (int w = 0; w < 2; w++) {
        pid[w] = fork();
        assert_true(pid[w] >= 0);
        if (pid[w] == 0) {
            omp_set_num_threads(1); /* libgomp's threads do not survive fork() */
            fake_predict_sleep_us = 2000;
            iob_layer layers[NL];
            iob_sweep_opts o;
            fake_opts(&o, layers, NL, path, IOB_RECFMT_CSV);
            iob_sweep_result res;
            if (iob_sweep_run(&o, &res, NULL))
                _exit(10);
            /* what this copy wrote plus what the other did, every record of the plan */
            _exit(res.written + res.duplicates + res.skipped == NL * 3 ? 0 : 11);
        }
    }
    for (int w = 0; w < 2; w++) {
        int status;
        assert_int_equal(waitpid(pid[w], &status, 0), pid[w]);
        assert_true(WIFEXITED(status));
        assert_int_equal(WEXITSTATUS(status), 0);
    }
    iob_record_list list = {0};
    iob_error err = {0};
    if (iob_records_read(path, &list, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(list.count, NL * 3);
    for (size_t i = 0; i < list.count; i++)
        for (size_t j = i + 1; j < list.count; j++) {
            char a[1024], b[1024];
            iob_record_key(&list.items[i], a, sizeof a);
            iob_record_key(&list.items[j], b, sizeof b);
            assert_string_not_equal(a, b);
        }
    iob_record_list_free(&list);
    remove_tmpdir(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_two_writers_csv),
        cmocka_unit_test(test_two_writers_jsonl),
        cmocka_unit_test(test_two_sweeps_same_file),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
