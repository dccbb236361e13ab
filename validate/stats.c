/* stats.c - how well the model and the simulator predict the hardware, and how close the
 * measured traffic comes to the lower bound (docs/validate.md, "Statistics").
 *
 * Per level, over the records with status ok whose algorithm is ours (not cudnn):
 *   relative error  e = (x - measured) / measured, x = predicted or simulated;
 *   median and 90th percentile of |e|: GSL's quantile of the sorted values with linear
 *     interpolation, q_f = v[i] + (v[i+1] - v[i]) * ((n-1) f - i), i = floor((n-1) f);
 *   fit measured = intercept + slope * predicted by least squares (gsl_fit_linear), with
 *     r^2 = 1 - sum (y - fit)^2 / sum (y - mean y)^2.
 * Soundness: a record whose SM<->L2 traffic (read + write) is below bound_gpu_bytes violates the
 *   lower bound (for the measured, predicted and simulated traffic separately).
 * Tightness: per (layer, algorithm), the least SM<->L2 traffic of its configs over the bound;
 *   summarised per algorithm and over all by min, median and max.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_fit.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "iobound/validate.h"

void iob_stats_quantiles(double *v, size_t n, double *median, double *p90)
{
    if (n == 0) {
        *median = *p90 = NAN;
        return;
    }
    gsl_sort(v, 1, n);
    *median = gsl_stats_median_from_sorted_data(v, 1, n);
    *p90 = gsl_stats_quantile_from_sorted_data(v, 1, n, 0.9);
}

void iob_stats_fit(const double *x, const double *y, size_t n, double *slope, double *intercept,
                   double *r2)
{
    *slope = *intercept = *r2 = NAN;
    if (n < 2)
        return;
    int spread = 0;
    for (size_t i = 1; i < n; i++)
        spread |= x[i] != x[0];
    if (!spread) /* a vertical cloud has no least-squares line */
        return;
    double c0, c1, cov00, cov01, cov11, sumsq;
    gsl_fit_linear(x, 1, y, 1, n, &c0, &c1, &cov00, &cov01, &cov11, &sumsq);
    *intercept = c0;
    *slope = c1;
    double mean = gsl_stats_mean(y, 1, n), tss = 0;
    for (size_t i = 0; i < n; i++)
        tss += (y[i] - mean) * (y[i] - mean);
    *r2 = tss > 0 ? 1.0 - sumsq / tss : NAN;
}

static int is_ours(const iob_record *r)
{
    return strcmp(r->algo, IOB_RECORD_ALGO_CUDNN) != 0;
}

/* One (layer, algorithm) group's best traffic for tightness. */
typedef struct group {
    const char *spec, *algo;
    double bound, best_meas, best_pred;
} group;

static int algo_index(const char *name)
{
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        if (!strcmp(name, iob_algo_name((iob_algo)a)))
            return a;
    return -1;
}

static void tightness(const group *g, size_t ng, int algo, int measured, double *buf,
                      iob_tightness *t)
{
    size_t n = 0;
    for (size_t i = 0; i < ng; i++) {
        double best = measured ? g[i].best_meas : g[i].best_pred;
        if ((algo == IOB_TIGHT_ALL || algo_index(g[i].algo) == algo) && isfinite(best))
            buf[n++] = best / g[i].bound;
    }
    t->groups = n;
    if (!n) {
        t->min = t->median = t->max = NAN;
        return;
    }
    gsl_sort(buf, 1, n);
    t->min = buf[0];
    t->max = buf[n - 1];
    t->median = gsl_stats_median_from_sorted_data(buf, 1, n);
}

/* Counts a soundness check of one traffic figure against the bound. */
static void check_sound(double traffic, double bound, size_t *checked, size_t *violations)
{
    if (!isfinite(traffic) || !(bound > 0))
        return;
    (*checked)++;
    *violations += traffic < bound;
}

iob_status iob_summary_compute(const iob_record *recs, size_t n, iob_summary *s, iob_error *err)
{
    memset(s, 0, sizeof *s);
    double *a = malloc((n ? n : 1) * sizeof *a), *b = malloc((n ? n : 1) * sizeof *b);
    group *g = malloc((n ? n : 1) * sizeof *g);
    if (!a || !b || !g) {
        free(a);
        free(b);
        free(g);
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    }
    size_t ng = 0;
    s->records = n;
    for (size_t i = 0; i < n; i++) {
        const iob_record *r = &recs[i];
        s->ok += r->status == IOB_REC_OK;
        s->errors += r->status == IOB_REC_ERROR;
        s->inapplicable += r->status == IOB_REC_INAPPLICABLE;
        s->predicted += r->pred_state == IOB_STAGE_OK;
        s->simulated += r->sim_state == IOB_STAGE_OK;
        s->measured += r->meas_state == IOB_STAGE_OK;
        if (!is_ours(r)) {
            s->cudnn++;
            continue;
        }
        if (r->status != IOB_REC_OK)
            continue;
        double bound = r->bound_gpu_bytes;
        check_sound(iob_levels_l2_total(r->pred), bound, &s->checked_pred, &s->violations_pred);
        check_sound(iob_levels_l2_total(r->sim), bound, &s->checked_sim, &s->violations_sim);
        check_sound(iob_levels_l2_total(r->meas), bound, &s->checked_meas, &s->violations_meas);
        if (!(bound > 0))
            continue;
        /* the record's (layer, algorithm) group; records of a group are usually adjacent */
        size_t j = ng;
        while (j > 0 && !(strcmp(g[j - 1].spec, r->layer_spec) == 0 &&
                          strcmp(g[j - 1].algo, r->algo) == 0))
            j--;
        if (j == 0) {
            g[ng] = (group){r->layer_spec, r->algo, bound, NAN, NAN};
            j = ++ng;
        }
        group *gr = &g[j - 1];
        double pm = iob_levels_l2_total(r->meas), pp = iob_levels_l2_total(r->pred);
        if (isfinite(pm) && !(gr->best_meas <= pm))
            gr->best_meas = pm;
        if (isfinite(pp) && !(gr->best_pred <= pp))
            gr->best_pred = pp;
    }
    for (int l = 0; l < IOB_LVL_COUNT; l++) {
        iob_level_stats *ls = &s->level[l];
        size_t m = 0;
        for (size_t i = 0; i < n; i++)
            if (recs[i].status == IOB_REC_OK && is_ours(&recs[i]) &&
                isfinite(recs[i].relerr_pred[l]))
                a[m++] = fabs(recs[i].relerr_pred[l]);
        ls->n_pred = m;
        iob_stats_quantiles(a, m, &ls->pred_median, &ls->pred_p90);
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (recs[i].status == IOB_REC_OK && is_ours(&recs[i]) &&
                isfinite(recs[i].relerr_sim[l]))
                a[m++] = fabs(recs[i].relerr_sim[l]);
        ls->n_sim = m;
        iob_stats_quantiles(a, m, &ls->sim_median, &ls->sim_p90);
        m = 0;
        for (size_t i = 0; i < n; i++)
            if (recs[i].status == IOB_REC_OK && is_ours(&recs[i]) &&
                isfinite(recs[i].pred[l]) && isfinite(recs[i].meas[l])) {
                a[m] = recs[i].pred[l];
                b[m++] = recs[i].meas[l];
            }
        iob_stats_fit(a, b, m, &ls->slope, &ls->intercept, &ls->r2);
    }
    for (int algo = 0; algo <= IOB_TIGHT_ALL; algo++) {
        tightness(g, ng, algo, 1, a, &s->tight_meas[algo]);
        tightness(g, ng, algo, 0, a, &s->tight_pred[algo]);
    }
    free(a);
    free(b);
    free(g);
    return IOB_OK;
}
