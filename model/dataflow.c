/* dataflow.c - dispatch of check / predict / enumerate / best to the algorithms' dataflow files,
 * and the parts every algorithm shares. */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/band_model.h"
#include "model/dataflow_algo.h"
#include "model/direct_model.h"

extern const iob_dataflow_ops iob_direct_dataflow; /* model/direct.c */
extern const iob_dataflow_ops iob_dataflow_winograd; /* model/winograd.c */
extern const iob_dataflow_ops iob_dataflow_im2col; /* model/im2col.c */
extern const iob_dataflow_ops iob_dataflow_im2win; /* model/im2win.c */
extern const iob_dataflow_ops iob_dataflow_wino_nonfused; /* model/wino_nonfused.c */

/* The registered dataflows; an algorithm appears here once its model, trace and kernel exist. */
static const iob_dataflow_ops *const registry[] = {
    &iob_direct_dataflow,
    &iob_dataflow_winograd,
    &iob_dataflow_im2col,
    &iob_dataflow_im2win,
    &iob_dataflow_wino_nonfused,
    NULL,
};

static const iob_dataflow_ops *find_ops(iob_algo algo)
{
    for (size_t i = 0; i < sizeof registry / sizeof registry[0]; i++)
        if (registry[i] && registry[i]->algo == algo)
            return registry[i];
    return NULL;
}

static iob_status no_ops(iob_algo algo, iob_error *err)
{
    return iob_error_set(err, IOB_ENOTSUP, "no dataflow model for algorithm '%s'",
                         iob_algo_name(algo));
}

iob_status iob_dataflow_check(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                              iob_resources *res, iob_error *err)
{
    const iob_dataflow_ops *ops = find_ops(cfg->algo);
    if (!ops)
        return no_ops(cfg->algo, err);
    iob_resources tmp;
    memset(res ? res : &tmp, 0, sizeof tmp);
    return ops->check(L, cfg, m, res ? res : &tmp, err);
}

iob_status iob_dataflow_predict(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                iob_traffic *t, iob_error *err)
{
    const iob_dataflow_ops *ops = find_ops(cfg->algo);
    if (!ops)
        return no_ops(cfg->algo, err);
    iob_resources res;
    memset(&res, 0, sizeof res);
    iob_status st = ops->check(L, cfg, m, &res, err);
    if (st)
        return st;
    memset(t, 0, sizeof *t);
    return ops->predict(L, cfg, m, &res, t, err);
}

/* below this many candidates a parallel region costs more than it saves */
#define ENUM_PARALLEL_MIN 4096

iob_status iob_dataflow_enumerate(const iob_layer *L, iob_algo algo, const iob_machine *m,
                                  iob_config **out, size_t *count, iob_error *err)
{
    *out = NULL;
    *count = 0;
    const iob_dataflow_ops *ops = find_ops(algo);
    if (!ops)
        return no_ops(algo, err);
    iob_config *cand = NULL;
    size_t n = 0;
    if (err) /* an empty space leaves the reason here when the algorithm gives one */
        iob_error_clear(err);
    iob_status st = ops->candidates(L, m, &cand, &n, err);
    if (st)
        return st;
    /* The checks are independent and their memos thread-local (model/direct.c, band.c): a large
     * space is checked on all threads (inside an outer parallel sweep this runs on one), then
     * compacted in enumeration order, so the result does not depend on the thread count. */
    unsigned char *ok = malloc(n ? n : 1);
    if (!ok) {
        free(cand);
        return iob_error_set(err, IOB_ENOMEM, "out of memory checking %zu configs", n);
    }
#pragma omp parallel for schedule(static) if (n >= ENUM_PARALLEL_MIN)
    for (ptrdiff_t i = 0; i < (ptrdiff_t)n; i++) {
        iob_resources r;
        memset(&r, 0, sizeof r);
        ok[i] = ops->check(L, &cand[i], m, &r, NULL) == IOB_OK;
    }
    size_t kept = 0;
    for (size_t i = 0; i < n; i++)
        if (ok[i])
            cand[kept++] = cand[i];
    free(ok);
    if (kept == 0 && n > 0 && err) { /* say why: the first candidate's reason */
        iob_resources r;
        memset(&r, 0, sizeof r);
        iob_error first;
        iob_error_clear(&first);
        ops->check(L, &cand[0], m, &r, &first);
        iob_error_set(err, first.code ? first.code : IOB_EINFEASIBLE,
                      "all %zu candidate configs are infeasible, the first because: %s", n,
                      first.msg);
    }
    *out = cand;
    *count = kept;
    return IOB_OK;
}

static double objective_value(const iob_traffic *t, iob_objective obj)
{
    return obj == IOB_OBJ_TIME ? t->time_s : (double)(t->l2_read_bytes + t->l2_write_bytes);
}

iob_status iob_dataflow_best(const iob_layer *L, iob_algo algo, const iob_machine *m,
                             iob_objective obj, iob_config *best, iob_traffic *t, iob_error *err)
{
    iob_config *all;
    size_t n;
    iob_status st = iob_dataflow_enumerate(L, algo, m, &all, &n, err);
    if (st)
        return st;
    if (n == 0) {
        free(all);
        char why[sizeof err->msg + 2] = "";
        if (err && err->msg[0])
            snprintf(why, sizeof why, ": %s", err->msg);
        return iob_error_set(err, IOB_EINFEASIBLE, "no feasible %s config for this layer on %s%s",
                             iob_algo_name(algo), m->name, why);
    }
    double best_v = 0;
    size_t best_i = n;
    iob_traffic tt, best_t;
    for (size_t i = 0; i < n; i++) {
        if (iob_dataflow_predict(L, &all[i], m, &tt, NULL))
            continue;
        double v = objective_value(&tt, obj);
        if (best_i == n || v < best_v) {
            best_v = v;
            best_i = i;
            best_t = tt;
        }
    }
    if (best_i == n) {
        free(all);
        return iob_error_set(err, IOB_EINFEASIBLE, "no %s config could be predicted",
                             iob_algo_name(algo));
    }
    *best = all[best_i];
    if (t)
        *t = best_t;
    free(all);
    return IOB_OK;
}

iob_status iob_dataflow_split_sectors(const iob_layer *L, const iob_config *cfg,
                                      const iob_machine *m, uint64_t *split, iob_error *err)
{
    *split = 0;
    iob_status st;
    if (cfg->algo == IOB_ALGO_DIRECT) {
        iob_resources res;
        if ((st = iob_dataflow_check(L, cfg, m, &res, err)))
            return st;
        *split = (uint64_t)iob_direct_split_sectors(L, cfg);
        return IOB_OK;
    }
    if (cfg->algo != IOB_ALGO_IM2COL && cfg->algo != IOB_ALGO_IM2WIN)
        return iob_error_set(err, IOB_ENOTSUP, "no fetch model for algorithm '%s'",
                             iob_algo_name(cfg->algo));
    int64_t s; /* iob_band_setup_get inside checks the config */
    st = iob_band_split_sectors(cfg->algo == IOB_ALGO_IM2COL ? &iob_band_im2col : &iob_band_im2win,
                                L, cfg, m, &s, err);
    *split = st ? 0 : (uint64_t)s;
    return st;
}

iob_status iob_dataflow_fetch_sectors(const iob_layer *L, const iob_config *cfg,
                                      const iob_machine *m, uint64_t *sectors, iob_error *err)
{
    *sectors = 0;
    iob_traffic t;
    uint64_t split;
    iob_status st = iob_dataflow_split_sectors(L, cfg, m, &split, err);
    if (st || (st = iob_dataflow_predict(L, cfg, m, &t, err)))
        return st;
    *sectors = t.l2_read_sectors + split;
    return IOB_OK;
}
