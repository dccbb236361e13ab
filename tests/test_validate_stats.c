/* test_validate_stats.c - the statistics of a validation file against values computed by hand:
 * quantiles (odd, even, one and no value), least-squares fits (exact line, scattered points,
 * degenerate input), and a summary of made-up records with known errors, soundness violations
 * and tightness. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "validate_fakes.h"

#define CLOSE(a, b) assert_true(fabs((a) - (b)) < 1e-12)

static void test_quantiles(void **state)
{
    (void)state;
    double med, p90;
    double odd[] = {5, 1, 4, 2, 3};
    iob_stats_quantiles(odd, 5, &med, &p90);
    CLOSE(med, 3);
    CLOSE(p90, 4.6); /* (n-1) 0.9 = 3.6: 4 + 0.6 (5 - 4) */
    double even[] = {4, 1, 3, 2};
    iob_stats_quantiles(even, 4, &med, &p90);
    CLOSE(med, 2.5);
    CLOSE(p90, 3.7); /* 2.7: 3 + 0.7 (4 - 3) */
    double one[] = {0.25};
    iob_stats_quantiles(one, 1, &med, &p90);
    CLOSE(med, 0.25);
    CLOSE(p90, 0.25);
    iob_stats_quantiles(one, 0, &med, &p90);
    assert_true(isnan(med) && isnan(p90));
}

static void test_fit(void **state)
{
    (void)state;
    double slope, icpt, r2;
    double x[] = {1, 2, 3, 4}, y[] = {3, 5, 7, 9};
    iob_stats_fit(x, y, 4, &slope, &icpt, &r2);
    CLOSE(slope, 2);
    CLOSE(icpt, 1);
    CLOSE(r2, 1);
    /* x 1..5, y 2 4 5 4 5: Sxy = 6, Sxx = 10 -> slope 0.6, intercept 4 - 0.6*3 = 2.2;
     * residuals -0.8 0.6 1 -0.6 -0.2 -> SSres 2.4; SStot 6 -> r^2 = 0.6 */
    double x2[] = {1, 2, 3, 4, 5}, y2[] = {2, 4, 5, 4, 5};
    iob_stats_fit(x2, y2, 5, &slope, &icpt, &r2);
    CLOSE(slope, 0.6);
    CLOSE(icpt, 2.2);
    CLOSE(r2, 0.6);
    double same[] = {2, 2, 2};
    iob_stats_fit(same, y, 3, &slope, &icpt, &r2); /* a vertical cloud: no line */
    assert_true(isnan(slope) && isnan(icpt) && isnan(r2));
    iob_stats_fit(x, same, 3, &slope, &icpt, &r2); /* flat y: slope 0, r^2 undefined */
    CLOSE(slope, 0);
    CLOSE(icpt, 2);
    assert_true(isnan(r2));
    iob_stats_fit(x, y, 1, &slope, &icpt, &r2);
    assert_true(isnan(slope));
}

/* A record of layer spec/algo with SM<->L2 traffic pred_read + 50 and meas_read + 50 (writes
 * 50 each), bound_gpu_bytes bound. */
static iob_record rec(const char *spec, const char *algo, double pred_read, double meas_read,
                      double bound)
{
    iob_record r;
    iob_record_init(&r);
    snprintf(r.layer_spec, sizeof r.layer_spec, "%s", spec);
    snprintf(r.algo, sizeof r.algo, "%s", algo);
    r.bound_gpu_bytes = bound;
    r.pred_state = isnan(pred_read) ? IOB_STAGE_NOT_RUN : IOB_STAGE_OK;
    r.meas_state = isnan(meas_read) ? IOB_STAGE_UNAVAILABLE : IOB_STAGE_OK;
    r.pred[IOB_LVL_L2_READ] = pred_read;
    r.pred[IOB_LVL_L2_WRITE] = 50;
    r.meas[IOB_LVL_L2_READ] = meas_read;
    r.meas[IOB_LVL_L2_WRITE] = isnan(meas_read) ? NAN : 50;
    iob_record_finish(&r);
    return r;
}

static void test_summary(void **state)
{
    (void)state;
    iob_record r[12];
    size_t n = 0;
    /* group A (direct, bound 150): measured reads 100, predicted 110 95 100 120 90 ->
     * |e| = .1 .05 0 .2 .1 -> sorted 0 .05 .1 .1 .2: median .1, p90 .1 + .6 (.2 - .1) = .16;
     * predicted totals 160 145 150 170 140: two below 150 */
    const double pa[] = {110, 95, 100, 120, 90};
    for (int i = 0; i < 5; i++)
        r[n++] = rec("A", "direct", pa[i], 100, 150);
    /* group B (winograd, bound 200): measured 210 + 50 = 260, predicted 250 + 50 -> |e| = 4/210 */
    r[n++] = rec("B", "winograd", 250, 210, 200);
    /* group C (direct, bound 1000): predicted only, total 1100 */
    r[n++] = rec("C", "direct", 1050, NAN, 1000);
    /* left out of errors, fits and soundness: cuDNN, an error, an inapplicable record */
    r[n++] = rec("A", "cudnn", NAN, 1, 150); /* measured far below the direct bound */
    r[n] = rec("A", "direct", 1, 1, 150);
    iob_error e;
    iob_error_set(&e, IOB_ECHECK, "wrong output");
    iob_record_fail(&r[n], &r[n].meas_state, "measure", &e);
    n++;
    r[n] = rec("D", "winograd", NAN, NAN, NAN);
    r[n++].status = IOB_REC_INAPPLICABLE;

    iob_summary s;
    assert_int_equal(iob_summary_compute(r, n, &s, NULL), IOB_OK);
    assert_int_equal(s.records, 10);
    assert_int_equal(s.ok, 8);
    assert_int_equal(s.errors, 1);
    assert_int_equal(s.inapplicable, 1);
    assert_int_equal(s.cudnn, 1);
    assert_int_equal(s.measured, 7); /* A x5, B, cuDNN */
    assert_int_equal(s.predicted, 8);

    const iob_level_stats *rd = &s.level[IOB_LVL_L2_READ];
    assert_int_equal(rd->n_pred, 6);
    /* |e|: 0 .05 .1 .1 .2 and 40/210 = .190476: sorted 0 .05 .1 .1 .190476 .2;
     * median (.1 + .1) / 2 = .1; p90 at 4.5: .190476 + .5 (.2 - .190476) */
    CLOSE(rd->pred_median, 0.1);
    CLOSE(rd->pred_p90, 40.0 / 210 + 0.5 * (0.2 - 40.0 / 210));
    assert_int_equal(rd->n_sim, 0);
    assert_true(isnan(rd->sim_median));
    /* fit of measured on predicted over the six points (110,100) (95,100) (100,100) (120,100)
     * (90,100) (250,210): computed by hand below */
    double x[] = {110, 95, 100, 120, 90, 250}, y[] = {100, 100, 100, 100, 100, 210};
    double mx = 0, my = 0, sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < 6; i++)
        mx += x[i] / 6, my += y[i] / 6;
    for (int i = 0; i < 6; i++) {
        sxy += (x[i] - mx) * (y[i] - my);
        sxx += (x[i] - mx) * (x[i] - mx);
        syy += (y[i] - my) * (y[i] - my);
    }
    CLOSE(rd->slope, sxy / sxx);
    CLOSE(rd->intercept, my - sxy / sxx * mx);
    CLOSE(rd->r2, sxy * sxy / (sxx * syy));
    const iob_level_stats *wr = &s.level[IOB_LVL_L2_WRITE];
    assert_int_equal(wr->n_pred, 6);
    CLOSE(wr->pred_median, 0);
    assert_true(isnan(wr->slope)); /* every predicted write is 50 */

    assert_int_equal(s.checked_pred, 7);
    assert_int_equal(s.violations_pred, 2);
    assert_int_equal(s.checked_meas, 6);
    assert_int_equal(s.violations_meas, 0);
    assert_int_equal(s.checked_sim, 0);

    /* tightness, measured: A 150/150 = 1, B 260/200 = 1.3 */
    const iob_tightness *all = &s.tight_meas[IOB_TIGHT_ALL];
    assert_int_equal(all->groups, 2);
    CLOSE(all->min, 1.0);
    CLOSE(all->median, 1.15);
    CLOSE(all->max, 1.3);
    assert_int_equal(s.tight_meas[IOB_ALGO_DIRECT].groups, 1);
    CLOSE(s.tight_meas[IOB_ALGO_WINOGRAD].median, 1.3);
    assert_int_equal(s.tight_meas[IOB_ALGO_IM2COL].groups, 0);
    assert_true(isnan(s.tight_meas[IOB_ALGO_IM2COL].median));
    /* predicted: A 140/150, B 300/200, C 1100/1000 */
    const iob_tightness *pall = &s.tight_pred[IOB_TIGHT_ALL];
    assert_int_equal(pall->groups, 3);
    CLOSE(pall->min, 140.0 / 150);
    CLOSE(pall->median, 1.1);
    CLOSE(pall->max, 1.5);
    CLOSE(s.tight_pred[IOB_ALGO_DIRECT].max, 1.1);

    /* an empty file */
    assert_int_equal(iob_summary_compute(NULL, 0, &s, NULL), IOB_OK);
    assert_int_equal(s.records, 0);
    assert_true(isnan(s.level[0].pred_median));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_quantiles),
        cmocka_unit_test(test_fit),
        cmocka_unit_test(test_summary),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
