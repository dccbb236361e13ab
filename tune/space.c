/* space.c - the tuner's search space of one layer: every feasible config of every algorithm,
 * predicted, compared with its algorithm's lower bound, pruned and ranked (docs/tune.md).
 *
 *   ratio(c) = (l2_read_bytes + l2_write_bytes)(c) / (bound_gpu(algo(c)) * 4)
 *   kept(c)  = ratio(c) <= factor        (relaxed: ratio(c) <= factor * min ratio, when no c is)
 *   rank     = kept configs ordered by (predicted time, predicted bytes, enumeration order)
 *   K        = top_k, or min(max_measure, max(min_measure, floor(max_fraction * feasible))),
 *              at most |kept|
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

/* ---- the model as a source --------------------------------------------------------------- */

static iob_status model_enumerate(void *ctx, const iob_layer *L, iob_algo algo,
                                  const iob_machine *m, iob_config **out, size_t *count,
                                  iob_error *err)
{
    (void)ctx;
    return iob_dataflow_enumerate(L, algo, m, out, count, err);
}

static iob_status model_predict(void *ctx, const iob_layer *L, const iob_config *cfg,
                                const iob_machine *m, iob_traffic *t, iob_error *err)
{
    (void)ctx;
    return iob_dataflow_predict(L, cfg, m, t, err);
}

static iob_status model_bound(void *ctx, const iob_layer *L, const iob_config *cfg,
                              const iob_machine *m, double *bytes, iob_error *err)
{
    (void)ctx;
    return iob_tune_config_bound(L, cfg, m, bytes, err);
}

iob_tune_source iob_tune_source_model(void)
{
    iob_tune_source s = {model_enumerate, model_predict, model_bound, NULL};
    return s;
}

iob_status iob_tune_config_bound(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                 double *bytes, iob_error *err)
{
    iob_bound b[8];
    int nb = 0;
    iob_bound_opts bo = iob_bound_opts_for(m, 4);
    iob_status st = iob_bound_layer(L, cfg->algo, &bo, b, 8, &nb, err);
    if (st)
        return st;
    char want[48] = "";
    int by_m = cfg->algo == IOB_ALGO_WINOGRAD || cfg->algo == IOB_ALGO_WINOGRAD_NONFUSED;
    if (by_m) /* the variant of the config's m: fused, or stored for the non-fused kernels */
        snprintf(want, sizeof want, "F(%dx%d,%lldx%lld) %s", cfg->wino_m, cfg->wino_m,
                 (long long)L->r, (long long)L->s,
                 cfg->algo == IOB_ALGO_WINOGRAD ? "fused" : "stored, U prepared");
    double least = INFINITY;
    for (int i = 0; i < nb; i++) {
        if (!b[i].applicable)
            continue;
        double v = iob_bound_bytes(&b[i], b[i].bound_gpu);
        if (by_m && !strcmp(b[i].variant, want)) {
            *bytes = v;
            return IOB_OK;
        }
        if (v < least)
            least = v;
    }
    if (isinf(least))
        return iob_error_set(err, IOB_ENOTSUP, "%s: %s", iob_algo_name(cfg->algo),
                             nb > 0 ? b[0].reason : "no bound");
    *bytes = least;
    return IOB_OK;
}

/* ---- options ----------------------------------------------------------------------------- */

void iob_tune_opts_default(iob_tune_opts *o)
{
    memset(o, 0, sizeof *o);
    o->factor = IOB_TUNE_DEFAULT_FACTOR;
    o->max_fraction = IOB_TUNE_MAX_FRACTION;
    o->min_measure = IOB_TUNE_MIN_MEASURE;
    o->max_measure = IOB_TUNE_MAX_MEASURE;
}

iob_status iob_tune_opts_check(const iob_tune_opts *o, iob_error *err)
{
    if (!isfinite(o->factor) || o->factor <= 1)
        return iob_error_set(err, IOB_EINVAL, "factor %g: must be a number above 1", o->factor);
    if (o->top_k < 0)
        return iob_error_set(err, IOB_EINVAL, "top %d: must not be negative", o->top_k);
    if (!(o->max_fraction > 0 && o->max_fraction <= 1))
        return iob_error_set(err, IOB_EINVAL, "max_fraction %g: must be in (0, 1]",
                             o->max_fraction);
    if (o->min_measure < 1)
        return iob_error_set(err, IOB_EINVAL, "min_measure %d: must be at least 1",
                             o->min_measure);
    if (o->max_measure < 0)
        return iob_error_set(err, IOB_EINVAL, "max_measure %d: must not be negative",
                             o->max_measure);
    if (!(o->budget_s >= 0) || !isfinite(o->budget_s))
        return iob_error_set(err, IOB_EINVAL, "budget %g s: must be a number >= 0", o->budget_s);
    return IOB_OK;
}

size_t iob_tune_budget(size_t feasible, size_t kept, const iob_tune_opts *o)
{
    size_t k;
    if (o->top_k > 0) {
        k = (size_t)o->top_k;
    } else {
        /* floor, with a guard so that 0.05 * 100 = 5 is not 4.999... */
        k = (size_t)(o->max_fraction * (double)feasible + 1e-9);
        if (k < (size_t)o->min_measure)
            k = (size_t)o->min_measure;
        if (o->max_measure > 0 && k > (size_t)o->max_measure)
            k = (size_t)o->max_measure;
    }
    return k < kept ? k : kept;
}

double iob_tune_now(const iob_tune_opts *o)
{
    if (o && o->clock)
        return o->clock(o->clock_ctx);
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

/* ---- building the space ------------------------------------------------------------------ */

static void append_skip(iob_tune_space *s, iob_algo a, const char *why)
{
    size_t len = strlen(s->skipped);
    snprintf(s->skipped + len, sizeof s->skipped - len, "%s%s: %s", len ? "; " : "",
             iob_algo_name(a), why);
}

/* Kept first by (time, bytes, index); the rest by (ratio with NaN last, index). */
static int cand_cmp(const void *pa, const void *pb)
{
    const iob_tune_cand *a = pa, *b = pb;
    if (a->kept != b->kept)
        return a->kept ? -1 : 1;
    if (a->kept) {
        if (a->pred_time_s != b->pred_time_s)
            return a->pred_time_s < b->pred_time_s ? -1 : 1;
        if (a->pred_bytes != b->pred_bytes)
            return a->pred_bytes < b->pred_bytes ? -1 : 1;
    } else {
        int an = isnan(a->ratio), bn = isnan(b->ratio);
        if (an != bn)
            return an ? 1 : -1;
        if (!an && a->ratio != b->ratio)
            return a->ratio < b->ratio ? -1 : 1;
    }
    return a->index < b->index ? -1 : a->index > b->index;
}

/* The bound of (algo, wino_m), asked of the source once per pair. */
typedef struct bound_cache {
    int have[IOB_ALGO_COUNT][9];
    double bytes[IOB_ALGO_COUNT][9];
} bound_cache;

static double cached_bound(bound_cache *bc, const iob_tune_source *src, const iob_layer *L,
                           const iob_config *cfg, const iob_machine *m)
{
    int a = (int)cfg->algo, wm = cfg->wino_m >= 0 && cfg->wino_m < 9 ? cfg->wino_m : 8;
    if (!bc->have[a][wm]) {
        double v = NAN;
        if (src->bound(src->ctx, L, cfg, m, &v, NULL) || !(v > 0))
            v = NAN; /* no bound: the config cannot be pruned by it */
        bc->bytes[a][wm] = v;
        bc->have[a][wm] = 1;
    }
    return bc->bytes[a][wm];
}

iob_status iob_tune_space_build(const iob_layer *L, const iob_machine *m,
                                const iob_tune_source *src, const iob_tune_opts *opts,
                                iob_tune_space *s, iob_error *err)
{
    memset(s, 0, sizeof *s);
    s->min_pruned_bytes = INFINITY;
    iob_status st = iob_tune_opts_check(opts, err);
    if (st)
        return st;
    double t0 = iob_tune_now(opts);
    size_t cap = 0;
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        if (opts->algo_mask && !(opts->algo_mask & (1u << a)))
            continue;
        iob_config *cfgs = NULL;
        size_t n = 0;
        iob_error e;
        iob_error_clear(&e);
        st = src->enumerate(src->ctx, L, (iob_algo)a, m, &cfgs, &n, &e);
        if (st == IOB_ENOTSUP || (st == IOB_OK && n == 0)) {
            append_skip(s, (iob_algo)a, st ? e.msg : (e.msg[0] ? e.msg : "no feasible config"));
            free(cfgs);
            continue;
        }
        if (st) {
            free(cfgs);
            iob_tune_space_free(s);
            return iob_error_set(err, st, "enumerating %s configs: %s",
                                 iob_algo_name((iob_algo)a), e.msg);
        }
        if (s->count + n > cap) {
            size_t ncap = (s->count + n) * 2;
            iob_tune_cand *nc = realloc(s->cands, ncap * sizeof *nc);
            if (!nc) {
                free(cfgs);
                iob_tune_space_free(s);
                return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu configs", ncap);
            }
            s->cands = nc;
            cap = ncap;
        }
        for (size_t i = 0; i < n; i++) {
            iob_tune_cand *c = &s->cands[s->count];
            memset(c, 0, sizeof *c);
            c->cfg = cfgs[i];
            c->index = s->count++;
            c->rank = -1;
        }
        s->per_algo[a] = n;
        free(cfgs);
    }
    if (s->count == 0) {
        iob_status code = IOB_ENOTSUP;
        char why[sizeof s->skipped];
        snprintf(why, sizeof why, "%s", s->skipped[0] ? s->skipped : "no algorithm selected");
        iob_tune_space_free(s);
        return iob_error_set(err, code, "no algorithm has a feasible config (%s)", why);
    }

    /* predict and compare with the bound */
    bound_cache bc;
    memset(&bc, 0, sizeof bc);
    double min_ratio = INFINITY;
    for (size_t i = 0; i < s->count; i++) {
        iob_tune_cand *c = &s->cands[i];
        iob_traffic t;
        memset(&t, 0, sizeof t);
        c->pred_time_s = c->pred_bytes = c->bound_bytes = c->ratio = NAN;
        if (src->predict(src->ctx, L, &c->cfg, m, &t, NULL) || !(t.time_s >= 0)) {
            s->unpredicted++;
            continue;
        }
        c->predicted = 1;
        c->pred_time_s = t.time_s;
        c->pred_bytes = (double)t.l2_read_bytes + (double)t.l2_write_bytes;
        c->bound_bytes = cached_bound(&bc, src, L, &c->cfg, m);
        if (!isnan(c->bound_bytes)) {
            c->ratio = c->pred_bytes / c->bound_bytes;
            if (c->ratio < min_ratio)
                min_ratio = c->ratio;
        }
    }
    s->factor_used = opts->factor;
    size_t within = 0;
    for (size_t i = 0; i < s->count; i++) {
        const iob_tune_cand *c = &s->cands[i];
        within += c->predicted && (isnan(c->ratio) || c->ratio <= opts->factor);
    }
    /* Why relax rather than give up: a model whose every config is far above the bound says
     * more about the bound's slack on this layer (or the model) than about the configs; ranking
     * the best of them still beats not tuning, and the record carries the flag. */
    if (within == 0 && isfinite(min_ratio)) {
        s->relaxed = 1;
        s->factor_used = opts->factor * min_ratio;
    }
    for (size_t i = 0; i < s->count; i++) {
        iob_tune_cand *c = &s->cands[i];
        if (!c->predicted)
            continue;
        c->kept = isnan(c->ratio) || c->ratio <= s->factor_used;
        if (c->kept)
            s->kept++;
        else if (c->pred_bytes < s->min_pruned_bytes)
            s->min_pruned_bytes = c->pred_bytes;
    }
    qsort(s->cands, s->count, sizeof *s->cands, cand_cmp);
    for (size_t i = 0; i < s->kept; i++)
        s->cands[i].rank = (int)i;
    s->build_s = iob_tune_now(opts) - t0;
    s->machine = m;
    return IOB_OK;
}

void iob_tune_space_free(iob_tune_space *s)
{
    free(s->cands);
    s->cands = NULL;
    s->count = s->kept = 0;
}

int iob_tune_certified(const iob_tune_space *s, double best_s, double l2_bw)
{
    if (!(l2_bw > 0) || !(best_s > 0))
        return -1;
    if (isinf(s->min_pruned_bytes))
        return 1;
    return s->min_pruned_bytes / l2_bw >= best_s;
}

iob_status iob_tune_roofline_floor(const iob_layer *L, const iob_machine *m, double *seconds,
                                   iob_error *err)
{
    iob_layer_counts c;
    iob_status st = iob_layer_counts_get(L, &c, err);
    if (st)
        return st;
    double rate = iob_machine_fp32_rate(m), bw = iob_machine_dram_bw(m);
    if (!(rate > 0) || !(bw > 0))
        return iob_error_set(err, IOB_EINVAL, "machine %s has no FP32 rate or DRAM bandwidth",
                             m->name);
    double t_flop = (double)c.flops / rate;
    double t_mem = 4.0 * (double)c.compulsory_elems / bw;
    *seconds = t_flop > t_mem ? t_flop : t_mem;
    return IOB_OK;
}
