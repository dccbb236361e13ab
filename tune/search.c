/* search.c - the bound-guided search: measure the best-ranked configs of a pruned space, keep the
 * fastest one whose output check passed (docs/tune.md, "The search"). Also the per-layer memo of
 * measurements and the result bookkeeping the baseline searches share. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/tune.h"
#include "tune/tune_internal.h"

void iob_tune_memo_free(iob_tune_memo *memo)
{
    free(memo->cfg);
    free(memo->meas);
    memset(memo, 0, sizeof *memo);
}

static const iob_tune_meas *memo_find(const iob_tune_memo *memo, const iob_config *cfg)
{
    for (size_t i = 0; i < memo->count; i++)
        if (iob_config_equal(&memo->cfg[i], cfg))
            return &memo->meas[i];
    return NULL;
}

static iob_status memo_add(iob_tune_memo *memo, const iob_config *cfg, const iob_tune_meas *m,
                           iob_error *err)
{
    if (memo->count == memo->cap) {
        size_t cap = memo->cap ? 2 * memo->cap : 64;
        iob_config *nc = realloc(memo->cfg, cap * sizeof *nc);
        if (!nc)
            return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu measurements", cap);
        memo->cfg = nc;
        iob_tune_meas *nm = realloc(memo->meas, cap * sizeof *nm);
        if (!nm)
            return iob_error_set(err, IOB_ENOMEM, "out of memory for %zu measurements", cap);
        memo->meas = nm;
        memo->cap = cap;
    }
    memo->cfg[memo->count] = *cfg;
    memo->meas[memo->count] = *m;
    memo->count++;
    return IOB_OK;
}

iob_status iob_tune_measure(const iob_measurer *meas, const iob_layer *L, const iob_config *cfg,
                            iob_tune_memo *memo, iob_tune_meas *out, iob_error *err)
{
    const iob_tune_meas *seen = memo ? memo_find(memo, cfg) : NULL;
    if (seen) {
        *out = *seen;
        return IOB_OK;
    }
    memset(out, 0, sizeof *out);
    out->time_ms = out->max_rel_err = NAN;
    iob_status st = meas->measure(meas->ctx, L, cfg, out, err);
    if (st)
        return st;
    if (out->status == IOB_OK && !(out->time_ms > 0)) { /* a "pass" without a time is a failure */
        out->status = IOB_EGPU;
        snprintf(out->message, sizeof out->message, "the measurer returned no time");
    }
    return memo ? memo_add(memo, cfg, out, err) : IOB_OK;
}

void iob_tune_result_start(iob_tune_result *r, const iob_tune_space *s)
{
    memset(r, 0, sizeof *r);
    r->best_ms = r->best_pred_s = r->best_ratio = NAN;
    r->best_rank = -1;
    r->feasible = s->count;
    r->kept = s->kept;
    r->relaxed = s->relaxed;
}

void iob_tune_result_add(iob_tune_result *r, const iob_tune_cand *c, const iob_tune_meas *m)
{
    r->measured++;
    if (m->compile_ms > 0)
        r->compile_ms += m->compile_ms;
    if (m->status != IOB_OK) {
        r->failed++;
        if (r->nfailures < IOB_TUNE_FAIL_MAX) {
            iob_tune_failure *f = &r->failures[r->nfailures++];
            f->cfg = c->cfg;
            f->status = m->status;
            snprintf(f->message, sizeof f->message, "%s",
                     m->message[0] ? m->message : iob_status_name(m->status));
        }
        return;
    }
    if (!r->found || m->time_ms < r->best_ms) {
        r->found = 1;
        r->best = c->cfg;
        r->best_ms = m->time_ms;
        r->best_pred_s = c->pred_time_s;
        r->best_ratio = c->ratio;
        r->best_rank = c->rank;
    }
}

void iob_tune_result_stop(iob_tune_result *r, const iob_error *why)
{
    r->stopped = 1;
    snprintf(r->message, sizeof r->message, "measuring stopped: %.200s",
             why->msg[0] ? why->msg : iob_status_name(why->code));
}

size_t *iob_tune_enum_order(const iob_tune_space *s)
{
    size_t *order = malloc((s->count ? s->count : 1) * sizeof *order);
    if (order)
        for (size_t i = 0; i < s->count; i++)
            order[s->cands[i].index] = i;
    return order;
}

iob_status iob_tune_measure_list(const iob_tune_space *s, const iob_layer *L,
                                 const iob_measurer *meas, const size_t *order, size_t n,
                                 iob_tune_memo *memo, iob_tune_result *res, iob_error *err)
{
    double t0 = iob_tune_now(NULL);
    iob_status rc = IOB_OK;
    if (meas->prepare && n) { /* compile the whole list in parallel first (see iob_measurer) */
        iob_config *cfgs = malloc(n * sizeof *cfgs);
        if (cfgs) {
            for (size_t j = 0; j < n; j++)
                cfgs[j] = s->cands[order[j]].cfg;
            meas->prepare(meas->ctx, L, s->machine, cfgs, n);
            free(cfgs);
        }
    }
    for (size_t j = 0; j < n; j++) {
        const iob_tune_cand *c = &s->cands[order[j]];
        iob_tune_meas m;
        iob_error e;
        iob_error_clear(&e);
        iob_status st = iob_tune_measure(meas, L, &c->cfg, memo, &m, &e);
        if (st == IOB_ENOMEM) {
            rc = iob_error_set(err, st, "%s", e.msg);
            break;
        }
        if (st) {
            iob_tune_result_stop(res, &e);
            break;
        }
        iob_tune_result_add(res, c, &m);
    }
    res->tune_s = iob_tune_now(NULL) - t0;
    return rc;
}

/* The order in which the kept candidates are measured: first, for every algorithm among them,
 * its best-ranked `per_algo` configs (so that a time model that favours one algorithm cannot hide
 * another: on the H100, resnet50.res5.3x3 at batch 1 had its fastest config, a Winograd one,
 * ranked below eight direct configs); then the rest by rank. Within the first group, rank order.
 * Returns a malloc'ed permutation of [0, s->kept) or NULL. */
static size_t *measure_order(const iob_tune_space *s, size_t per_algo)
{
    size_t *order = malloc((s->kept ? s->kept : 1) * sizeof *order);
    unsigned char *taken = calloc(s->kept ? s->kept : 1, 1);
    if (!order || !taken) {
        free(order);
        free(taken);
        return NULL;
    }
    size_t n = 0, seen[IOB_ALGO_COUNT] = {0};
    for (size_t i = 0; i < s->kept; i++) {
        int a = (int)s->cands[i].cfg.algo;
        if (a >= 0 && a < IOB_ALGO_COUNT && seen[a] < per_algo) {
            seen[a]++;
            taken[i] = 1;
            order[n++] = i;
        }
    }
    for (size_t i = 0; i < s->kept; i++)
        if (!taken[i])
            order[n++] = i;
    free(taken);
    return order;
}

/* Configs of each algorithm measured before the others by rank: 2 (fewer when the budget is
 * small) when more than one algorithm has kept configs, else 0. */
static size_t per_algo_count(const iob_tune_space *s, size_t budget)
{
    int nalgo = 0, present[IOB_ALGO_COUNT] = {0};
    for (size_t i = 0; i < s->kept; i++)
        if ((int)s->cands[i].cfg.algo >= 0 && (int)s->cands[i].cfg.algo < IOB_ALGO_COUNT &&
            !present[s->cands[i].cfg.algo]++)
            nalgo++;
    if (nalgo < 2)
        return 0;
    return budget / (size_t)nalgo < 2 ? budget / (size_t)nalgo : 2;
}

iob_status iob_tune_first_measured(const iob_tune_space *s, size_t budget, unsigned char *mark)
{
    size_t *order = measure_order(s, per_algo_count(s, budget));
    if (!order)
        return IOB_ENOMEM;
    for (size_t i = 0; i < s->kept; i++)
        mark[i] = 0;
    for (size_t j = 0; j < budget && j < s->kept; j++)
        mark[order[j]] = 1;
    free(order);
    return IOB_OK;
}

iob_status iob_tune_search(const iob_tune_space *s, const iob_layer *L, const iob_measurer *meas,
                           const iob_tune_opts *opts, iob_tune_memo *memo, iob_tune_result *res,
                           iob_error *err)
{
    iob_tune_result_start(res, s);
    double t0 = iob_tune_now(opts);
    res->budget = iob_tune_budget(s->count, s->kept, opts);
    /* Why "as many again" after K failures: a layer whose K best configs all fail is a kernel
     * bug to report, not a reason to measure the whole space; K more bound the cost at 2K. */
    size_t limit = 2 * res->budget;
    size_t *order = measure_order(s, per_algo_count(s, res->budget));
    if (!order)
        return iob_error_set(err, IOB_ENOMEM, "out of memory ordering %zu candidates", s->kept);
    if (meas->prepare) {
        size_t np = limit < s->kept ? limit : s->kept;
        iob_config *cfgs = malloc((np ? np : 1) * sizeof *cfgs);
        if (cfgs) {
            /* the first K (the usual case) compile together; the reserve K only if needed */
            size_t first = res->budget < np ? res->budget : np;
            for (size_t j = 0; j < first; j++)
                cfgs[j] = s->cands[order[j]].cfg;
            meas->prepare(meas->ctx, L, s->machine, cfgs, first);
            free(cfgs);
        }
    }
    for (size_t j = 0; j < s->kept; j++) {
        size_t i = order[j];
        if (res->measured >= res->budget && (res->found || res->measured >= limit))
            break;
        if (opts->budget_s > 0 && res->found && iob_tune_now(opts) - t0 >= opts->budget_s) {
            res->budget_hit = 1;
            break;
        }
        iob_tune_meas m;
        iob_error e;
        iob_error_clear(&e);
        iob_status st = iob_tune_measure(meas, L, &s->cands[i].cfg, memo, &m, &e);
        if (st == IOB_ENOMEM) {
            free(order);
            return iob_error_set(err, st, "%s", e.msg);
        }
        if (st) {
            iob_tune_result_stop(res, &e);
            break;
        }
        iob_tune_result_add(res, &s->cands[i], &m);
    }
    free(order);
    res->tune_s = iob_tune_now(opts) - t0;
    if (!res->found && !res->stopped)
        snprintf(res->message, sizeof res->message, "none of the %zu measured configs passed",
                 res->measured);
    return IOB_OK;
}

iob_status iob_tune_layer(const iob_layer *L, const iob_machine *m, const iob_tune_source *src,
                          const iob_measurer *meas, const iob_tune_opts *opts, iob_tune_memo *memo,
                          iob_tune_space *space_out, iob_tune_result *res, iob_error *err)
{
    iob_tune_space space;
    iob_status st = iob_tune_space_build(L, m, src, opts, &space, err);
    if (st)
        return st;
    st = iob_tune_search(&space, L, meas, opts, memo, res, err);
    res->tune_s += space.build_s;
    if (space_out && st == IOB_OK)
        *space_out = space;
    else
        iob_tune_space_free(&space);
    return st;
}
