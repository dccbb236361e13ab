/* test_validate_plot.c - every plot script runs on the committed test file
 * (tests/data/validate_small.csv, made-up measurements) and gives a non-empty PNG and SVG; a file
 * without measurements skips the figures that need them and makes the others; a missing gnuplot
 * and a bad folder name are clear errors. Exits 77 (skipped) when gnuplot is not installed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "iobound/plot.h"
#include "validate_fakes.h"

static iob_record_list small;

static int have_gnuplot(void)
{
    return system("gnuplot --version >/dev/null 2>&1") == 0;
}

static void assert_png(const char *path)
{
    size_t len = 0;
    char *d = slurp(path, &len);
    if (!d)
        fail_msg("%s missing", path);
    assert_true(len > 2000);
    assert_memory_equal(d, "\x89PNG\r\n\x1a\n", 8);
    free(d);
}

static void assert_svg(const char *path)
{
    size_t len = 0;
    char *d = slurp(path, &len);
    if (!d)
        fail_msg("%s missing", path);
    assert_true(len > 2000);
    assert_non_null(strstr(d, "<svg"));
    assert_non_null(strstr(d, "</svg>"));
    free(d);
}

static void test_every_plot_from_the_small_file(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir);
    char out[300];
    snprintf(out, sizeof out, "%s/plots", dir); /* created by the call */
    iob_plot_opts po = {.out_dir = out};
    iob_plot_report rep;
    iob_error err = {0};
    if (iob_plot_make(small.items, small.count, &po, &rep, &err))
        fail_msg("%s", err.msg);
    assert_int_equal(rep.count, 4);
    assert_string_equal(rep.machine, "h100-sxm");
    const char *names[] = {"pred_vs_meas", "layers", "roofline", "speedup"};
    for (int i = 0; i < 4; i++) {
        assert_string_equal(rep.plot[i].name, names[i]);
        if (!rep.plot[i].made)
            fail_msg("%s not made: %s", names[i], rep.plot[i].note);
        assert_png(rep.plot[i].png);
        assert_svg(rep.plot[i].svg);
    }
    /* the data behind the figures: 5 layers in the per-layer data, 12 kernels + 5 cuDNN in the
     * roofline's (best config per layer and algorithm) */
    char path[400];
    snprintf(path, sizeof path, "%s/layers.dat", out);
    char *d = slurp(path, NULL);
    assert_non_null(d);
    int lines = 0;
    for (char *p = d; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 5);
    assert_non_null(strstr(d, "\"layer1.0.conv2 (winograd)\""));
    free(d);
    snprintf(path, sizeof path, "%s/roofline.dat", out);
    d = slurp(path, NULL);
    assert_non_null(d);
    lines = 0;
    for (char *p = d; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 1 + 5 + 2 + 5); /* direct x5, winograd x2, cuDNN x5 */
    free(d);
    remove_tmpdir(dir);
}

static void test_without_measurements(void **state)
{
    (void)state;
    iob_record *r = malloc(small.count * sizeof *r);
    assert_non_null(r);
    size_t n = 0;
    for (size_t i = 0; i < small.count; i++) {
        if (!strcmp(small.items[i].algo, "cudnn"))
            continue;
        r[n] = small.items[i];
        for (int l = 0; l < IOB_LVL_COUNT; l++)
            r[n].meas[l] = r[n].relerr_pred[l] = NAN;
        r[n].meas_state = IOB_STAGE_UNAVAILABLE;
        r[n].cudnn_fp32_ms = r[n].cudnn_tf32_ms = NAN;
        n++;
    }
    char dir[256];
    make_tmpdir(dir, sizeof dir);
    iob_plot_opts po = {.out_dir = dir};
    iob_plot_report rep;
    iob_error err = {0};
    if (iob_plot_make(r, n, &po, &rep, &err))
        fail_msg("%s", err.msg);
    assert_false(rep.plot[0].made);
    assert_non_null(strstr(rep.plot[0].note, "skipped"));
    assert_true(rep.plot[1].made); /* bound and prediction only */
    assert_non_null(strstr(rep.plot[1].note, "no measurements"));
    assert_png(rep.plot[1].png);
    assert_svg(rep.plot[1].svg);
    assert_false(rep.plot[2].made);
    assert_non_null(strstr(rep.plot[2].note, "needs measured times"));
    assert_false(rep.plot[3].made);
    /* and a file with nothing plottable at all: every figure skipped, no error */
    for (size_t i = 0; i < n; i++)
        r[i].status = IOB_REC_ERROR;
    assert_int_equal(iob_plot_make(r, n, &po, &rep, &err), IOB_OK);
    for (int i = 0; i < 4; i++)
        assert_false(rep.plot[i].made);
    free(r);
    remove_tmpdir(dir);
}

static void test_errors(void **state)
{
    (void)state;
    char dir[256];
    make_tmpdir(dir, sizeof dir);
    iob_plot_opts po = {.out_dir = dir, .gnuplot = "/nonexistent/gnuplot"};
    iob_plot_report rep;
    iob_error err = {0};
    assert_int_equal(iob_plot_make(small.items, small.count, &po, &rep, &err), IOB_ENOTSUP);
    assert_non_null(strstr(err.msg, "gnuplot not found"));
    assert_int_equal(iob_status_exit_code(err.code), 1);
    po.gnuplot = NULL;
    po.out_dir = "/tmp/it's";
    assert_int_equal(iob_plot_make(small.items, small.count, &po, &rep, &err), IOB_EINVAL);
    po.out_dir = dir;
    po.machine = "tpu";
    assert_int_equal(iob_plot_make(small.items, small.count, &po, &rep, &err), IOB_EINVAL);
    po.machine = NULL;
    po.out_dir = "/nonexistent/parent/out";
    assert_int_equal(iob_plot_make(small.items, small.count, &po, &rep, &err), IOB_EIO);
    remove_tmpdir(dir);
}

int main(void)
{
    if (!have_gnuplot()) {
        fprintf(stderr, "gnuplot is not installed: skipped\n");
        return 77;
    }
    iob_error err = {0};
    if (iob_records_read(IOB_SOURCE_DIR "/tests/data/validate_small.csv", &small, &err)) {
        fprintf(stderr, "%s\n", err.msg);
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_plot_from_the_small_file),
        cmocka_unit_test(test_without_measurements),
        cmocka_unit_test(test_errors),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    iob_record_list_free(&small);
    return rc;
}
