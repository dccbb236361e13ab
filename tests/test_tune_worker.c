/* test_tune_worker.c - measurements in a worker process survive the faults that end a CUDA
 * context: a worker that is killed, hangs, reports a lost context or sends garbage turns that
 * config into a failed result and is replaced; a worker whose measurer is broken stops the tuner;
 * a worker that cannot start is an error. This test binary is its own worker: run with --worker
 * it serves a scripted measurer (the config's tile_k picks the behaviour, see child_measure). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include <math.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "tune_mock.h"

enum { OK_FAST = 1, WRONG = 2, CRASH = 3, HANG = 4, LOST = 5, BROKEN = 6, GARBAGE = 7 };

/* ---- the child ----------------------------------------------------------------------------- */

static iob_status child_measure(void *ctx, const iob_layer *L, const iob_config *cfg,
                                iob_tune_meas *out, iob_error *err)
{
    (void)ctx, (void)L;
    int kind = cfg->tile_k % 10;
    memset(out, 0, sizeof *out);
    out->time_ms = 0.1 * cfg->tile_k;
    out->compile_ms = 5;
    out->max_rel_err = 1e-6;
    switch (kind) {
    case WRONG:
        out->status = IOB_ECHECK;
        snprintf(out->message, sizeof out->message, "max rel err 0.5 at (0,1,2,3)");
        return IOB_OK;
    case CRASH:
        raise(SIGKILL); /* what a segfault in the driver looks like from outside */
        return IOB_OK;
    case HANG:
        sleep(60);
        return IOB_OK;
    case LOST:
        out->status = IOB_EGPU;
        out->context_lost = 1;
        snprintf(out->message, sizeof out->message, "an illegal memory access was encountered");
        return IOB_OK;
    case BROKEN:
        return iob_error_set(err, IOB_ENODEV, "no CUDA device");
    case GARBAGE:
        printf("this is not JSON\n");
        fflush(stdout);
        return IOB_OK;
    default:
        out->status = IOB_OK;
        return IOB_OK;
    }
}

static iob_status child_baseline(void *ctx, const iob_layer *L, iob_tune_baseline *out,
                                 iob_error *err)
{
    (void)ctx, (void)err;
    memset(out, 0, sizeof *out);
    out->fp32_ms = (double)L->c / 100;
    out->tf32_ms = NAN;
    snprintf(out->fp32_algo, sizeof out->fp32_algo, "FFT_TILING");
    return IOB_OK;
}

/* ---- the parent ---------------------------------------------------------------------------- */

static char self[4096];

static iob_tune_worker *open_worker(double timeout_s)
{
    char *argv[] = {self, "--worker", NULL};
    iob_tune_worker *w;
    iob_error err = {0};
    if (iob_tune_worker_open(argv, timeout_s, &w, &err))
        fail_msg("worker: %s", err.msg);
    return w;
}

static iob_tune_meas measure_kind(iob_measurer *m, int tile_k, iob_status want_rc)
{
    iob_layer L = mock_layer();
    iob_config cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.algo = IOB_ALGO_DIRECT;
    cfg.tile_k = tile_k;
    cfg.stages = cfg.split_c = 1;
    iob_tune_meas out;
    iob_error err = {0};
    iob_status rc = m->measure(m->ctx, &L, &cfg, &out, &err);
    if (rc != want_rc)
        fail_msg("tile_k=%d: measure returned %d (%s), expected %d", tile_k, rc, err.msg,
                 want_rc);
    return out;
}

static void test_results_and_faults(void **state)
{
    (void)state;
    iob_tune_worker *w = open_worker(0.5);
    iob_measurer m = iob_tune_worker_measurer(w);
    assert_int_equal(iob_tune_worker_starts(w), 1);

    iob_tune_meas r = measure_kind(&m, 11, IOB_OK); /* tile_k 11: a pass, 1.1 ms */
    assert_int_equal(r.status, IOB_OK);
    assert_true(fabs(r.time_ms - 1.1) < 1e-12);
    assert_true(r.compile_ms == 5 && r.max_rel_err == 1e-6);

    r = measure_kind(&m, WRONG, IOB_OK);
    assert_int_equal(r.status, IOB_ECHECK);
    assert_string_equal(r.message, "max rel err 0.5 at (0,1,2,3)");
    assert_int_equal(r.context_lost, 0);
    assert_int_equal(iob_tune_worker_starts(w), 1); /* a wrong output keeps the process */

    r = measure_kind(&m, CRASH, IOB_OK);
    assert_int_equal(r.status, IOB_EGPU);
    assert_non_null(strstr(r.message, "worker process died (killed by signal 9"));
    assert_int_equal(r.context_lost, 1);
    r = measure_kind(&m, 21, IOB_OK); /* a fresh worker answers the next one */
    assert_int_equal(r.status, IOB_OK);
    assert_int_equal(iob_tune_worker_starts(w), 2);

    r = measure_kind(&m, HANG, IOB_OK);
    assert_int_equal(r.status, IOB_EGPU);
    assert_string_equal(r.message, "worker gave no answer within 0.5 s and was killed");
    r = measure_kind(&m, 31, IOB_OK);
    assert_int_equal(r.status, IOB_OK);
    assert_int_equal(iob_tune_worker_starts(w), 3);

    r = measure_kind(&m, LOST, IOB_OK); /* a sticky CUDA error: that process is done */
    assert_int_equal(r.status, IOB_EGPU);
    assert_int_equal(r.context_lost, 1);
    assert_string_equal(r.message, "an illegal memory access was encountered");
    r = measure_kind(&m, 41, IOB_OK);
    assert_int_equal(r.status, IOB_OK);
    assert_int_equal(iob_tune_worker_starts(w), 4);

    r = measure_kind(&m, GARBAGE, IOB_OK);
    assert_int_equal(r.status, IOB_EGPU);
    assert_non_null(strstr(r.message, "malformed answer"));
    r = measure_kind(&m, 51, IOB_OK);
    assert_int_equal(r.status, IOB_OK);
    assert_int_equal(iob_tune_worker_starts(w), 5);

    /* the baseline goes through the same process */
    iob_layer L = mock_layer();
    iob_tune_baseline b;
    assert_int_equal(m.baseline(m.ctx, &L, &b, NULL), IOB_OK);
    assert_true(b.fp32_ms == 0.64);
    assert_true(isnan(b.tf32_ms));
    assert_string_equal(b.fp32_algo, "FFT_TILING");

    /* a broken measurer in the worker: the measurer fails, and is not restarted */
    iob_tune_meas x;
    iob_error err;
    iob_config cfg = {.algo = IOB_ALGO_DIRECT, .tile_k = BROKEN, .stages = 1, .split_c = 1};
    assert_int_equal(m.measure(m.ctx, &L, &cfg, &x, &err), IOB_ENODEV);
    assert_string_equal(err.msg, "worker: no CUDA device");
    cfg.tile_k = 61;
    assert_int_equal(m.measure(m.ctx, &L, &cfg, &x, &err), IOB_EIO);
    assert_int_equal(iob_tune_worker_starts(w), 5);
    iob_tune_worker_close(w);
}

/* The tuner through a worker: a crashing and a hanging config are skipped and reported, the
 * fastest passing config of the top K wins. */
static void test_tuner_through_worker(void **state)
{
    (void)state;
    static mock_land land; /* the source side; the worker decides the outcomes by tile_k */
    mock_init(&land);
    for (int i = 0; i < 60; i++)
        mock_add(&land, IOB_ALGO_DIRECT, 1e-3 * (i + 1), 150, 0, IOB_OK);
    /* entries i have tile_k = i + 1: ranks 0..5 are tile_k 1..6 */
    iob_tune_source src = mock_source(&land);
    iob_tune_worker *w = open_worker(0.5);
    iob_measurer m = iob_tune_worker_measurer(w);
    iob_layer L = mock_layer();
    iob_machine h100;
    iob_machine_get("h100-sxm", &h100, NULL);
    iob_tune_opts o;
    iob_tune_opts_default(&o);
    o.top_k = 5; /* tile_k 1 (pass, 0.1 ms), 2 (wrong), 3 (crash), 4 (hang), 5 (lost) */
    iob_tune_result r;
    iob_error err;
    assert_int_equal(iob_tune_layer(&L, &h100, &src, &m, &o, NULL, NULL, &r, &err), IOB_OK);
    assert_true(r.found);
    assert_int_equal(r.best.tile_k, 1);
    assert_true(fabs(r.best_ms - 0.1) < 1e-12);
    assert_int_equal(r.measured, 5);
    assert_int_equal(r.failed, 4);
    assert_int_equal(r.nfailures, 4);
    assert_int_equal(r.failures[1].cfg.tile_k, 3);
    assert_non_null(strstr(r.failures[1].message, "died"));
    assert_non_null(strstr(r.failures[2].message, "no answer within"));
    assert_false(r.stopped);
    assert_int_equal(iob_tune_worker_starts(w), 3);
    iob_tune_worker_close(w);
}

static void test_worker_that_cannot_start(void **state)
{
    (void)state;
    iob_tune_worker *w;
    iob_error err;
    char *none[] = {"/nonexistent/iobound", "tune", "--worker", NULL};
    assert_int_equal(iob_tune_worker_open(none, 1, &w, &err), IOB_EIO);
    assert_null(w);
    char *silent[] = {"/bin/true", NULL}; /* starts, never greets */
    assert_int_equal(iob_tune_worker_open(silent, 1, &w, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, "did not greet"));
    char *argv[] = {self, "--worker", NULL};
    assert_int_equal(iob_tune_worker_open(argv, 0, &w, &err), IOB_EINVAL);
    iob_tune_worker_close(NULL);
}

static void test_serve_protocol_errors(void **state)
{
    (void)state;
    /* the child's loop on its own: a bad request line ends it with 2; a bad layer is a failed
     * result, not a crash */
    iob_measurer inner = {child_measure, NULL, NULL};
    FILE *in = tmpfile(), *out = tmpfile();
    fputs("{\"op\":\"measure\",\"layer\":\"c=0,h=8,k=8,r=3\",\"config\":\"algo=direct\"}\n"
          "{\"op\":\"baseline\",\"layer\":\"c=8,h=8,k=8,r=3\"}\n"
          "not json\n",
          in);
    rewind(in);
    assert_int_equal(iob_tune_worker_serve(in, out, &inner), 2);
    rewind(out);
    char line[1024];
    assert_non_null(fgets(line, sizeof line, out));
    assert_non_null(strstr(line, "\"hello\":\"iobound-tune-worker\""));
    assert_non_null(fgets(line, sizeof line, out));
    assert_non_null(strstr(line, "\"status\":1")); /* IOB_EINVAL */
    assert_non_null(strstr(line, "bad request: c=0: must be at least 1"));
    assert_non_null(fgets(line, sizeof line, out));
    assert_non_null(strstr(line, "this measurer has no baseline"));
    assert_null(fgets(line, sizeof line, out));
    fclose(in);
    fclose(out);
}

int main(int argc, char **argv)
{
    if (argc > 1 && !strcmp(argv[1], "--worker")) {
        iob_measurer m = {child_measure, child_baseline, NULL};
        return iob_tune_worker_serve(stdin, stdout, &m);
    }
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n <= 0)
        return 77;
    self[n] = '\0';
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_results_and_faults),
        cmocka_unit_test(test_tuner_through_worker),
        cmocka_unit_test(test_worker_that_cannot_start),
        cmocka_unit_test(test_serve_protocol_errors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
