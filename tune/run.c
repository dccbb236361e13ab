/* run.c - one layer's full tuning record: the bound-guided search, cuDNN's best FP32 and TF32
 * times, the roofline floor, and the random and exhaustive searches it is compared with, all on
 * one memo of measurements (docs/tune.md, "Comparisons"). */
#include <math.h>
#include <string.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

static void fill_from_result(iob_tune_record *r, const iob_tune_result *res)
{
    if (res->found)
        iob_config_format(&res->best, r->config, sizeof r->config);
    r->time_ms = res->best_ms;
    r->pred_ms = res->best_pred_s * 1e3;
    r->ratio = res->best_ratio;
    r->rank = res->best_rank;
    r->measured = (long)res->measured;
    r->feasible = (long)res->feasible;
    r->kept = (long)res->kept;
    r->failed = (long)res->failed;
    r->tune_s = res->tune_s;
    snprintf(r->status, sizeof r->status, "%s",
             res->found ? "ok" : res->stopped ? "stopped" : "no-config");
    if (res->message[0])
        iob_tune_copy(r->message, sizeof r->message, res->message);
    else if (res->failed)
        snprintf(r->message, sizeof r->message, "%zu of %zu measured configs failed",
                 res->failed, res->measured);
    if (res->relaxed) {
        size_t n = strlen(r->message);
        snprintf(r->message + n, sizeof r->message - n, "%spruning relaxed", n ? "; " : "");
    }
}

/* The measurer failed after the guided search: a config already found stays "ok" (it was
 * measured and checked), only the comparisons are missing, and the message says so. */
static void stop(iob_tune_record *r, const char *what, const char *why, int *stopped)
{
    *stopped = 1;
    if (strcmp(r->status, "ok"))
        snprintf(r->status, sizeof r->status, "stopped");
    snprintf(r->message, sizeof r->message, "%s: %.200s", what, why);
}

iob_status iob_tune_layer_record(const iob_layer *L, const iob_machine *m,
                                 const iob_tune_source *src, const iob_measurer *meas,
                                 const iob_tune_opts *opts, const iob_tune_compare *cmp,
                                 iob_tune_record *r, iob_tune_result *res_out, int *stopped,
                                 iob_error *err)
{
    *stopped = 0;
    iob_tune_record_init(r);
    iob_layer_format(L, r->spec, sizeof r->spec);
    snprintf(r->layer, sizeof r->layer, "%s", L->name[0] ? L->name : "-");
    double floor_s;
    if (iob_tune_roofline_floor(L, m, &floor_s, NULL) == IOB_OK)
        r->floor_ms = floor_s * 1e3;

    iob_tune_memo memo = {0};
    iob_tune_space space;
    iob_tune_result res;
    iob_error e;
    iob_error_clear(&e);
    iob_status st = iob_tune_layer(L, m, src, meas, opts, &memo, &space, &res, &e);
    if (st) {
        iob_tune_memo_free(&memo);
        if (st == IOB_ENOMEM)
            return iob_error_set(err, st, "%s", e.msg);
        snprintf(r->status, sizeof r->status, "error");
        iob_tune_copy(r->message, sizeof r->message, e.msg);
        return IOB_OK;
    }
    if (res_out)
        *res_out = res;
    fill_from_result(r, &res);
    *stopped = res.stopped;
    if (!*stopped && meas->baseline) {
        iob_tune_baseline b;
        if (meas->baseline(meas->ctx, L, &b, &e)) {
            stop(r, "cuDNN", e.msg, stopped);
        } else {
            r->cudnn_fp32_ms = b.fp32_ms;
            r->cudnn_tf32_ms = b.tf32_ms;
            iob_tune_copy(r->cudnn_fp32_algo, sizeof r->cudnn_fp32_algo, b.fp32_algo);
            iob_tune_copy(r->cudnn_tf32_algo, sizeof r->cudnn_tf32_algo, b.tf32_algo);
        }
    }
    if (!*stopped && cmp && cmp->random) {
        iob_tune_result rr;
        st = iob_tune_random(&space, L, meas, res.measured, cmp->seed, &memo, &rr, err);
        if (st)
            goto out;
        r->random_ms = rr.best_ms;
        r->random_measured = (long)rr.measured;
        if (rr.found)
            iob_config_format(&rr.best, r->random_config, sizeof r->random_config);
        if (rr.stopped)
            stop(r, "random search", rr.message, stopped);
    }
    if (!*stopped && cmp && cmp->exhaustive &&
        (!cmp->exhaustive_max || space.count <= (size_t)cmp->exhaustive_max)) {
        iob_tune_result er;
        st = iob_tune_exhaustive(&space, L, meas, &memo, &er, err);
        if (st)
            goto out;
        r->exhaustive_ms = er.best_ms;
        r->exhaustive_measured = (long)er.measured;
        r->exhaustive_ratio = er.best_ratio;
        r->exhaustive_rank = er.best_rank;
        if (er.found)
            iob_config_format(&er.best, r->exhaustive_config, sizeof r->exhaustive_config);
        if (er.stopped)
            stop(r, "exhaustive search", er.message, stopped);
    }
    if (res.found)
        r->certified = iob_tune_certified(&space, res.best_ms * 1e-3, m->l2_bw_peak);
out:
    iob_tune_space_free(&space);
    iob_tune_memo_free(&memo);
    return st;
}

void iob_tune_entry_from_record(const iob_layer *L, const iob_tune_record *r,
                                const char kernel_hash[17], iob_tune_entry *e)
{
    memset(e, 0, sizeof *e);
    iob_tune_layer_key(L, e->layer, sizeof e->layer);
    iob_tune_copy(e->name, sizeof e->name, L->name);
    iob_tune_copy(e->config, sizeof e->config, r->config);
    e->time_ms = r->time_ms;
    e->cudnn_fp32_ms = r->cudnn_fp32_ms;
    e->cudnn_tf32_ms = r->cudnn_tf32_ms;
    e->measured = r->measured;
    e->feasible = r->feasible;
    e->tune_s = r->tune_s;
    iob_tune_copy(e->kernel_hash, sizeof e->kernel_hash, kernel_hash);
}
