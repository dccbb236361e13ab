/* summary.c - the statistics `iobound tune` prints after its records (docs/tune.md, "Summary"):
 *
 *   speedup(l)       = cudnn_fp32_ms(l) / time_ms(l)
 *   geomean speedup  = exp(mean(log speedup(l)))   over tuned layers with a cuDNN time
 *   within 5%        = |{l : time_ms(l) <= 1.05 * exhaustive_ms(l)}| / |{l with exhaustive}|
 *
 * Means with GSL (gsl_stats_mean). */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_statistics_double.h>

#include "iobound/tune.h"

/* Geometric mean of num[i] / den[i] over the i where both are positive; NaN when none. */
static double geomean_ratio(const double *num, const double *den, size_t n, size_t *used)
{
    double *logs = malloc((n ? n : 1) * sizeof *logs);
    size_t k = 0;
    for (size_t i = 0; logs && i < n; i++)
        if (num[i] > 0 && den[i] > 0)
            logs[k++] = log(num[i] / den[i]);
    double g = k ? exp(gsl_stats_mean(logs, 1, k)) : NAN;
    free(logs);
    *used = k;
    return g;
}

void iob_tune_summarize(const iob_tune_record *r, size_t n, iob_tune_summary *s)
{
    memset(s, 0, sizeof *s);
    s->layers = n;
    s->geomean_speedup = s->worst_speedup = s->geomean_speedup_tf32 = NAN;
    s->within5_fraction = s->geomean_over_random = s->random_within5_fraction = NAN;
    s->max_measured_fraction = s->mean_tune_s = s->max_tune_s = NAN;
    double *tuned = calloc(n ? n : 1, sizeof *tuned), *fp32 = calloc(n ? n : 1, sizeof *fp32),
           *tf32 = calloc(n ? n : 1, sizeof *tf32), *rnd = calloc(n ? n : 1, sizeof *rnd),
           *tune_s = calloc(n ? n : 1, sizeof *tune_s);
    if (!tuned || !fp32 || !tf32 || !rnd || !tune_s)
        goto out;
    size_t within = 0, rwithin = 0, ntune = 0;
    for (size_t i = 0; i < n; i++) {
        const iob_tune_record *x = &r[i];
        if (strcmp(x->status, "ok") || !(x->time_ms > 0))
            continue;
        size_t k = s->tuned++;
        tuned[k] = x->time_ms;
        fp32[k] = x->cudnn_fp32_ms;
        tf32[k] = x->cudnn_tf32_ms;
        rnd[k] = x->random_ms;
        double sp = x->cudnn_fp32_ms / x->time_ms;
        if (x->cudnn_fp32_ms > 0) {
            if (isnan(s->worst_speedup) || sp < s->worst_speedup) {
                s->worst_speedup = sp;
                snprintf(s->worst_layer, sizeof s->worst_layer, "%s", x->layer);
            }
            s->below_0_9 += sp < 0.9;
        }
        if (x->exhaustive_ms > 0) {
            s->with_exhaustive++;
            within += x->time_ms <= 1.05 * x->exhaustive_ms;
            if (x->random_ms > 0) {
                s->random_with_exhaustive++;
                rwithin += x->random_ms <= 1.05 * x->exhaustive_ms;
            }
        }
        if (x->measured >= 0 && x->feasible > 0) {
            double f = (double)x->measured / (double)x->feasible;
            if (isnan(s->max_measured_fraction) || f > s->max_measured_fraction)
                s->max_measured_fraction = f;
        }
        if (x->tune_s >= 0) {
            tune_s[ntune++] = x->tune_s;
            if (isnan(s->max_tune_s) || x->tune_s > s->max_tune_s)
                s->max_tune_s = x->tune_s;
        }
    }
    s->geomean_speedup = geomean_ratio(fp32, tuned, s->tuned, &s->with_cudnn);
    s->geomean_speedup_tf32 = geomean_ratio(tf32, tuned, s->tuned, &s->with_tf32);
    s->geomean_over_random = geomean_ratio(rnd, tuned, s->tuned, &s->with_random);
    if (s->with_exhaustive)
        s->within5_fraction = (double)within / (double)s->with_exhaustive;
    if (s->random_with_exhaustive)
        s->random_within5_fraction = (double)rwithin / (double)s->random_with_exhaustive;
    if (ntune)
        s->mean_tune_s = gsl_stats_mean(tune_s, 1, ntune);
out:
    free(tuned);
    free(fp32);
    free(tf32);
    free(rnd);
    free(tune_s);
}
