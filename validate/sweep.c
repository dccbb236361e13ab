/* sweep.c - the validation sweep: for each layer, algorithm and selected config one record with
 * the bound, the prediction, the simulation and the measurement (docs/validate.md, "Sweeps").
 *
 * Order of work:
 *   1. the measurement worker is started and probes the GPU (the parent never touches CUDA);
 *   2. the record file is opened: torn tail repaired, keys of finished records read;
 *   3. plan (OpenMP across (layer, algorithm) pairs): bounds and the configs to run;
 *   4. per layer, in order: cuDNN's baselines (worker), then chunks of configs whose prediction
 *      and simulation run in parallel (OpenMP), then one by one their measurement (worker) and
 *      the append of their record. Records therefore appear in a fixed order: layers as given,
 *      the layer's cuDNN record first, then algorithms in iob_algo order, configs in the order
 *      the config stage returns them.
 * A record whose key (layer spec, algorithm, config) is in the file is not redone.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "iobound/validate.h"
#include "validate/worker.h"

/* Configs whose prediction and simulation run in one parallel step before their measurements:
 * enough to keep two cores busy, few enough that an interrupted sweep loses little model work. */
#define CHUNK 64
#define BOUNDS_MAX 8

void iob_sweep_opts_default(iob_sweep_opts *o)
{
    memset(o, 0, sizeof *o);
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        o->algos[a] = 1;
    o->select = IOB_CFG_BEST;
    o->top_n = 1;
    o->format = IOB_RECFMT_CSV;
    o->measure = 1;
    o->measure_timeout_s = 600;
    iob_run_opts_default(&o->run);
}

/* One (layer, algorithm): its bounds and the configs to run. */
typedef struct plan_entry {
    size_t layer;
    iob_algo algo;
    int nb;
    iob_bound b[BOUNDS_MAX];
    iob_status bound_st;
    iob_error bound_err;
    int applicable;
    iob_status cfg_st;
    iob_error cfg_err;
    iob_config *cfgs;
    size_t ncfg;
} plan_entry;

typedef struct sweep {
    const iob_sweep_opts *o;
    iob_sweep_hooks h;
    iob_machine m;
    iob_bound_opts bopts;
    iob_recfile *file;
    iob_worker *worker;
    int measuring;
    iob_sweep_result *res;
    iob_sweep_progress prog;
    double t0;
    int noticed_sim, noticed_restart;
    char (*specs)[IOB_RECORD_SPEC_MAX]; /* per layer */
    size_t *skipped;                    /* per layer: records in the file when planned */
    plan_entry *plan;
    size_t nplan;
} sweep;

typedef struct item {
    const plan_entry *e;
    long k; /* config index, -1: the record of an entry without configs */
    iob_record rec;
    iob_status sim_st;
    iob_error sim_err;
    int infeasible;
} item;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void notice(const sweep *s, const char *line)
{
    if (s->o->notice)
        s->o->notice(s->o->ctx, line);
}

static int stopped(const sweep *s) { return s->o->stop && *s->o->stop; }

/* ---- records -------------------------------------------------------------------------------- */

static void fill_layer(const sweep *s, size_t li, const char *algo, iob_record *r)
{
    iob_record_init(r);
    snprintf(r->layer, sizeof r->layer, "%s", s->o->layers[li].name);
    memcpy(r->layer_spec, s->specs[li], sizeof r->layer_spec);
    snprintf(r->algo, sizeof r->algo, "%s", algo);
    snprintf(r->machine, sizeof r->machine, "%s", s->m.name);
}

static void fill_bound(iob_record *r, const iob_bound *b)
{
    double eb = b->elem_bytes;
    snprintf(r->variant, sizeof r->variant, "%s", b->variant);
    r->flops = b->flops;
    r->s_bytes = b->s_words * eb;
    r->bound_sm_bytes = b->bound * eb;
    r->bound_gpu_bytes = b->bound_gpu * eb;
    r->compulsory_bytes = b->compulsory * eb;
    snprintf(r->bound_dominant, sizeof r->bound_dominant, "%s", b->dominant);
}

/* The bound a record of entry e is held to: for a Winograd config, the fused variant of its
 * F(m x m) (the kernels fuse the transforms); otherwise, or without a config, the applicable
 * variant with the least GPU-wide bound. NULL when no variant applies. */
static const iob_bound *pick_bound(const plan_entry *e, const iob_config *cfg)
{
    const iob_bound *best = NULL;
    for (int i = 0; i < e->nb; i++) {
        const iob_bound *b = &e->b[i];
        if (!b->applicable)
            continue;
        if (cfg && cfg->algo == IOB_ALGO_WINOGRAD && cfg->wino_m) {
            char want[48];
            snprintf(want, sizeof want, "F(%dx%d,", cfg->wino_m, cfg->wino_m);
            if (!strncmp(b->variant, want, strlen(want)) && strstr(b->variant, "fused"))
                return b;
        }
        if (!best || b->bound_gpu < best->bound_gpu)
            best = b;
    }
    return best;
}

/* 1 when entry e has configs to run (one record each); otherwise it makes one record that says
 * why not (config index -1). */
static int has_configs(const plan_entry *e)
{
    return e->applicable && !e->bound_st && !e->cfg_st && e->ncfg > 0;
}

static size_t entry_records(const plan_entry *e) { return has_configs(e) ? e->ncfg : 1; }

static void entry_key(const sweep *s, const plan_entry *e, long k, char *buf, size_t size)
{
    char cfg[IOB_RECORD_CONFIG_MAX] = "";
    if (k >= 0)
        iob_config_format(&e->cfgs[k], cfg, sizeof cfg);
    snprintf(buf, size, "%s\t%s\t%s", s->specs[e->layer], iob_algo_name(e->algo), cfg);
}

/* The record of entry e, config k, before any measurement: layer, bound, and the outcome of
 * the plan (an inapplicable algorithm, a failed bound, no configs). */
static void base_record(const sweep *s, const plan_entry *e, long k, iob_record *r)
{
    fill_layer(s, e->layer, iob_algo_name(e->algo), r);
    const iob_config *cfg = k >= 0 ? &e->cfgs[k] : NULL;
    if (cfg)
        iob_config_format(cfg, r->config, sizeof r->config);
    if (e->bound_st) {
        iob_record_fail(r, NULL, "bound", &e->bound_err);
        return;
    }
    const iob_bound *b = pick_bound(e, cfg);
    if (!b) { /* the algorithm does not apply; every variant gives the same reason */
        if (e->nb)
            snprintf(r->variant, sizeof r->variant, "%s", e->b[0].variant);
        r->status = IOB_REC_INAPPLICABLE;
        snprintf(r->error_stage, sizeof r->error_stage, "bound");
        snprintf(r->error_code, sizeof r->error_code, "inapplicable");
        snprintf(r->error, sizeof r->error, "%s", e->nb ? e->b[0].reason : "no bound");
        return;
    }
    fill_bound(r, b);
    if (e->cfg_st) {
        iob_record_fail(r, &r->pred_state, "model", &e->cfg_err);
    } else if (!e->ncfg) {
        iob_error none;
        iob_error_set(&none, IOB_EINFEASIBLE, "no feasible %s config for this layer on %s",
                      iob_algo_name(e->algo), s->m.name);
        iob_record_fail(r, &r->pred_state, "model", &none);
    }
}

/* Prediction and simulation of one item (thread-safe: runs inside the OpenMP loop). */
static void model_stage(const sweep *s, item *it)
{
    const plan_entry *e = it->e;
    base_record(s, e, it->k, &it->rec);
    iob_record *r = &it->rec;
    if (it->k < 0 || r->status != IOB_REC_OK)
        return;
    const iob_layer *L = &s->o->layers[e->layer];
    const iob_config *cfg = &e->cfgs[it->k];
    iob_error err = {0};
    double lv[IOB_LVL_COUNT];
    for (int l = 0; l < IOB_LVL_COUNT; l++)
        lv[l] = NAN;
    iob_status st = s->h.predict(L, cfg, &s->m, lv, r->pred_limiter, &err);
    if (st) {
        iob_record_fail(r, &r->pred_state, "model", &err);
        it->infeasible = st == IOB_EINFEASIBLE;
    } else {
        r->pred_state = IOB_STAGE_OK;
        memcpy(r->pred, lv, sizeof lv);
    }
    if (it->infeasible)
        return; /* neither the simulator nor the GPU can run a config that does not fit */
    for (int l = 0; l < IOB_LVL_COUNT; l++)
        lv[l] = NAN;
    it->sim_st = s->h.simulate(L, cfg, &s->m, lv, &it->sim_err);
    if (it->sim_st == IOB_ENOTSUP) {
        r->sim_state = IOB_STAGE_UNAVAILABLE;
    } else if (it->sim_st) {
        iob_record_fail(r, &r->sim_state, "sim", &it->sim_err);
    } else {
        r->sim_state = IOB_STAGE_OK;
        memcpy(r->sim, lv, sizeof lv);
    }
}

static void copy_cudnn(iob_record *r, const iob_cudnn_best *cb)
{
    r->cudnn_fp32_ms = cb->fp32_ms;
    r->cudnn_tf32_ms = cb->tf32_ms;
    snprintf(r->cudnn_fp32_algo, sizeof r->cudnn_fp32_algo, "%s", cb->fp32_algo);
    snprintf(r->cudnn_tf32_algo, sizeof r->cudnn_tf32_algo, "%s", cb->tf32_algo);
}

static void after_worker_failure(sweep *s, const iob_error *err)
{
    if (err->code == IOB_EGPU && !s->noticed_restart) {
        char line[IOB_ERROR_MSG_MAX + 96];
        snprintf(line, sizeof line, "a measurement failed (%s); its record keeps the error and "
                 "the measurement worker starts afresh", err->msg);
        notice(s, line);
        s->noticed_restart = 1;
    }
}

static void tick(sweep *s)
{
    s->prog.done++;
    s->prog.elapsed_s = now_s() - s->t0;
    if (s->o->progress)
        s->o->progress(s->o->ctx, &s->prog);
}

/* Measures cfg (NULL: cuDNN's best FP32 algorithm) in the worker into r's measured columns, or
 * records the failure; nothing when interrupted. */
static void measure_into(sweep *s, iob_record *r, const iob_layer *L, const iob_config *cfg,
                         int *interrupted)
{
    iob_measurement me;
    iob_error merr = {0};
    iob_status st = iob_worker_measure(s->worker, L, cfg, &s->o->run, s->o->measure_timeout_s,
                                       s->o->stop, interrupted, &me, &merr);
    if (*interrupted)
        return;
    if (st) {
        iob_record_fail(r, &r->meas_state, "measure", &merr);
        after_worker_failure(s, &merr);
        return;
    }
    r->meas_state = IOB_STAGE_OK;
    memcpy(r->meas, me.level, sizeof r->meas);
    r->meas_max_rel_err = me.max_rel_err;
}

/* Appends a finished record and reports progress. IOB_EIO stops the sweep. */
static iob_status emit(sweep *s, iob_record *r, iob_error *err)
{
    iob_record_finish(r);
    int written;
    iob_status st = iob_recfile_append(s->file, r, &written, err);
    if (st)
        return st;
    if (written) {
        s->res->written++;
        if (r->status == IOB_REC_ERROR)
            s->res->errors++;
    } else {
        s->res->duplicates++;
    }
    tick(s);
    return IOB_OK;
}

/* ---- the sweep ------------------------------------------------------------------------------ */

static iob_status check_opts(const iob_sweep_opts *o, iob_error *err)
{
    if (!o->layers || !o->nlayers)
        return iob_error_set(err, IOB_EINVAL, "no layers to sweep");
    if (!o->path || !*o->path)
        return iob_error_set(err, IOB_EINVAL, "no output file");
    int any = 0;
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        any |= o->algos[a] != 0;
    if (!any)
        return iob_error_set(err, IOB_EINVAL, "no algorithm selected");
    if (o->select == IOB_CFG_TOP && o->top_n < 1)
        return iob_error_set(err, IOB_EINVAL, "top:N needs N >= 1");
    return IOB_OK;
}

static void plan_one(const sweep *s, plan_entry *e)
{
    const iob_layer *L = &s->o->layers[e->layer];
    e->bound_st = iob_bound_layer(L, e->algo, &s->bopts, e->b, BOUNDS_MAX, &e->nb,
                                  &e->bound_err);
    if (e->bound_st)
        return;
    e->applicable = pick_bound(e, NULL) != NULL;
    if (!e->applicable)
        return;
    e->cfg_st = s->h.configs(L, e->algo, &s->m, s->o->select, s->o->top_n, &e->cfgs, &e->ncfg,
                             &e->cfg_err);
}

static iob_status make_plan(sweep *s, iob_error *err)
{
    const iob_sweep_opts *o = s->o;
    int nalgo = 0;
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        nalgo += o->algos[a] != 0;
    s->nplan = o->nlayers * (size_t)nalgo;
    s->plan = calloc(s->nplan, sizeof *s->plan);
    s->specs = calloc(o->nlayers, sizeof *s->specs);
    s->skipped = calloc(o->nlayers, sizeof *s->skipped);
    if (!s->plan || !s->specs || !s->skipped)
        return iob_error_set(err, IOB_ENOMEM, "out of memory planning the sweep");
    size_t i = 0;
    for (size_t li = 0; li < o->nlayers; li++) {
        iob_layer_format(&o->layers[li], s->specs[li], sizeof s->specs[li]);
        for (int a = 0; a < IOB_ALGO_COUNT; a++)
            if (o->algos[a]) {
                s->plan[i].layer = li;
                s->plan[i].algo = (iob_algo)a;
                i++;
            }
    }
    long n = (long)s->nplan;
#pragma omp parallel for schedule(dynamic)
    for (long j = 0; j < n; j++)
        plan_one(s, &s->plan[j]);
    return IOB_OK;
}

static void cudnn_key(const sweep *s, size_t li, char *buf, size_t size)
{
    snprintf(buf, size, "%s\t%s\t", s->specs[li], IOB_RECORD_ALGO_CUDNN);
}

/* The layer's cuDNN record: cuDNN's best FP32 algorithm measured like our configs, held to the
 * direct convolution's bound. */
static iob_status cudnn_record(sweep *s, size_t li, const iob_cudnn_best *cb, iob_status cb_st,
                               const iob_error *cb_err, int *interrupted, iob_error *err)
{
    const iob_layer *L = &s->o->layers[li];
    iob_record *r = malloc(sizeof *r);
    if (!r)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    fill_layer(s, li, IOB_RECORD_ALGO_CUDNN, r);
    iob_bound b[BOUNDS_MAX];
    int nb = 0;
    iob_error berr = {0};
    if (iob_bound_layer(L, IOB_ALGO_DIRECT, &s->bopts, b, BOUNDS_MAX, &nb, &berr) || nb < 1)
        iob_record_fail(r, NULL, "bound", &berr);
    else
        fill_bound(r, &b[0]);
    copy_cudnn(r, cb);
    if (cb_st) {
        iob_record_fail(r, &r->meas_state, "cudnn", cb_err);
    } else {
        snprintf(r->variant, sizeof r->variant, "%s", cb->fp32_algo);
        measure_into(s, r, L, NULL, interrupted);
        if (*interrupted) {
            free(r);
            return IOB_OK;
        }
        if (r->meas_state == IOB_STAGE_OK) /* the counters' run is not timed: cuDNN's time */
            r->meas[IOB_LVL_TIME] = cb->fp32_ms;
    }
    iob_status st = emit(s, r, err);
    free(r);
    return st;
}

/* Measures item it (already modelled) and appends its record. */
static iob_status finish_item(sweep *s, item *it, const iob_cudnn_best *cb, int *interrupted,
                              iob_error *err)
{
    iob_record *r = &it->rec;
    *interrupted = 0;
    if (s->measuring) {
        copy_cudnn(r, cb);
        r->meas_state = IOB_STAGE_NOT_RUN;
    } else {
        r->meas_state = IOB_STAGE_UNAVAILABLE;
    }
    if (s->measuring && it->k >= 0 && !it->infeasible && r->status != IOB_REC_INAPPLICABLE) {
        char key[IOB_RECORD_SPEC_MAX + IOB_RECORD_CONFIG_MAX + 32];
        iob_record_key(r, key, sizeof key);
        if (iob_recfile_has(s->file, key, 1)) { /* another process finished it meanwhile */
            s->res->duplicates++;
            tick(s);
            return IOB_OK;
        }
        measure_into(s, r, &s->o->layers[it->e->layer], &it->e->cfgs[it->k], interrupted);
        if (*interrupted)
            return IOB_OK;
    }
    return emit(s, r, err);
}

/* Runs the pending records of layer li. */
static iob_status run_layer(sweep *s, size_t li, item *items, iob_error *err)
{
    char key[IOB_RECORD_SPEC_MAX + IOB_RECORD_CONFIG_MAX + 32];
    /* the layer's pending (entry, config) pairs */
    size_t npend = 0, cap = 0, found = 0;
    struct pend { const plan_entry *e; long k; } *pend = NULL;
    for (size_t i = 0; i < s->nplan; i++) {
        const plan_entry *e = &s->plan[i];
        if (e->layer != li)
            continue;
        size_t nrec = entry_records(e);
        for (size_t k = 0; k < nrec; k++) {
            long kk = has_configs(e) ? (long)k : -1;
            entry_key(s, e, kk, key, sizeof key);
            if (iob_recfile_has(s->file, key, 0)) {
                found++;
                continue;
            }
            if (npend == cap) {
                cap = cap ? 2 * cap : 16;
                struct pend *np = realloc(pend, cap * sizeof *np);
                if (!np) {
                    free(pend);
                    return iob_error_set(err, IOB_ENOMEM, "out of memory");
                }
                pend = np;
            }
            pend[npend].e = e;
            pend[npend].k = kk;
            npend++;
        }
    }
    cudnn_key(s, li, key, sizeof key);
    int cudnn_pending = s->measuring && !iob_recfile_has(s->file, key, 0);
    found += s->measuring && !cudnn_pending;
    /* records another process wrote since the plan was made: done, by someone else */
    for (size_t i = s->skipped[li]; i < found; i++) {
        s->res->duplicates++;
        tick(s);
    }
    iob_status st = IOB_OK;
    iob_cudnn_best cb = {.fp32_ms = NAN, .tf32_ms = NAN};
    int interrupted = 0;
    if (s->measuring && (npend || cudnn_pending)) {
        iob_error cerr = {0};
        iob_status cst = iob_worker_cudnn(s->worker, &s->o->layers[li], &s->o->run,
                                          s->o->measure_timeout_s, s->o->stop, &interrupted,
                                          &cb, &cerr);
        if (cst) {
            cb.fp32_ms = cb.tf32_ms = NAN;
            cb.fp32_algo[0] = cb.tf32_algo[0] = '\0';
            after_worker_failure(s, &cerr);
        }
        if (!interrupted && cudnn_pending)
            st = cudnn_record(s, li, &cb, cst, &cerr, &interrupted, err);
    }
    for (size_t c0 = 0; c0 < npend && !st && !interrupted && !stopped(s); c0 += CHUNK) {
        long nc = (long)(npend - c0 < CHUNK ? npend - c0 : CHUNK);
        for (long j = 0; j < nc; j++) {
            memset(&items[j], 0, sizeof items[j]);
            items[j].e = pend[c0 + (size_t)j].e;
            items[j].k = pend[c0 + (size_t)j].k;
        }
#pragma omp parallel for schedule(dynamic)
        for (long j = 0; j < nc; j++)
            model_stage(s, &items[j]);
        for (long j = 0; j < nc && !s->noticed_sim; j++)
            if (items[j].sim_st == IOB_ENOTSUP) {
                char line[IOB_ERROR_MSG_MAX + 64];
                snprintf(line, sizeof line, "no simulation (%s): the simulated columns stay "
                         "empty", items[j].sim_err.msg);
                notice(s, line);
                s->noticed_sim = 1;
            }
        for (long j = 0; j < nc && !st; j++) {
            if (stopped(s)) {
                interrupted = 1;
                break;
            }
            if (items[j].rec.sim_state == IOB_STAGE_OK)
                s->res->simulated = 1;
            st = finish_item(s, &items[j], &cb, &interrupted, err);
            if (interrupted)
                break;
        }
    }
    if (interrupted || stopped(s))
        s->res->interrupted = 1;
    free(pend);
    return st;
}

iob_status iob_sweep_run(const iob_sweep_opts *o, iob_sweep_result *result, iob_error *err)
{
    memset(result, 0, sizeof *result);
    iob_status st = check_opts(o, err);
    if (st)
        return st;
    sweep s;
    memset(&s, 0, sizeof s);
    s.o = o;
    s.res = result;
    s.m = o->machine;
    s.h = o->hooks;
    if (!s.h.configs) s.h.configs = iob_validate_configs;
    if (!s.h.predict) s.h.predict = iob_validate_predict;
    if (!s.h.simulate) s.h.simulate = iob_validate_simulate;
    if (!s.h.gpu_probe) s.h.gpu_probe = iob_validate_gpu_probe;
    if (!s.h.measure) s.h.measure = iob_validate_measure;
    if (!s.h.cudnn) s.h.cudnn = iob_validate_cudnn;
    s.t0 = now_s();
    item *items = NULL;
    char gpu_note[IOB_ERROR_MSG_MAX + 96] = "";

    /* 1. the worker, before anything else touches the file or starts threads */
    if (o->measure) {
        s.worker = iob_worker_new(&s.h, -1);
        if (!s.worker)
            return iob_error_set(err, IOB_ENOMEM, "out of memory");
        iob_error perr = {0};
        iob_machine dev;
        iob_status pst = iob_worker_probe(s.worker, o->machine_from_device ? &dev : NULL, &perr);
        if (pst == IOB_OK) {
            s.measuring = 1;
            if (o->machine_from_device)
                s.m = dev;
        } else if (o->machine_from_device) {
            st = iob_error_set(err, pst, "--machine device needs a GPU: %s", perr.msg);
            goto done;
        } else {
            snprintf(gpu_note, sizeof gpu_note, "no GPU (%s): running the model and the "
                     "simulation only; the measured columns stay empty", perr.msg);
        }
    } else {
        snprintf(gpu_note, sizeof gpu_note, "measurements off: running the model and the "
                 "simulation only");
        if (o->machine_from_device) {
            st = iob_error_set(err, IOB_EINVAL, "--machine device needs measurements on");
            goto done;
        }
    }
    result->measured = s.measuring;
    s.bopts = iob_bound_opts_for(&s.m, 4);

    /* 2. the file */
    st = iob_recfile_open(o->path, o->format, s.m.name, &s.file, err);
    if (st)
        goto done;
    if (s.worker)
        iob_worker_set_close_fd(s.worker, iob_recfile_fd(s.file));
    if (gpu_note[0]) /* said once the file is known to be good, so that errors stand alone */
        notice(&s, gpu_note);
    result->repaired_bytes = iob_recfile_repaired_bytes(s.file);

    /* 3. the plan */
    st = make_plan(&s, err);
    if (st)
        goto done;
    char key[IOB_RECORD_SPEC_MAX + IOB_RECORD_CONFIG_MAX + 32];
    for (size_t i = 0; i < s.nplan; i++) {
        const plan_entry *e = &s.plan[i];
        size_t nrec = entry_records(e);
        result->planned += nrec;
        for (size_t k = 0; k < nrec; k++) {
            entry_key(&s, e, has_configs(e) ? (long)k : -1, key, sizeof key);
            s.skipped[e->layer] += iob_recfile_has(s.file, key, 0);
        }
    }
    if (s.measuring)
        for (size_t li = 0; li < o->nlayers; li++) {
            result->planned++;
            cudnn_key(&s, li, key, sizeof key);
            s.skipped[li] += iob_recfile_has(s.file, key, 0);
        }
    for (size_t li = 0; li < o->nlayers; li++)
        result->skipped += s.skipped[li];
    s.prog.total = result->planned - result->skipped;
    s.prog.skipped = result->skipped;

    /* 4. the records, layer by layer */
    items = malloc(CHUNK * sizeof *items);
    if (!items) {
        st = iob_error_set(err, IOB_ENOMEM, "out of memory");
        goto done;
    }
    for (size_t li = 0; li < o->nlayers && !st && !result->interrupted; li++) {
        if (stopped(&s)) {
            result->interrupted = 1;
            break;
        }
        st = run_layer(&s, li, items, err);
    }
done:
    if (s.worker)
        result->worker_restarts = iob_worker_restarts(s.worker);
    iob_worker_free(s.worker);
    iob_recfile_close(s.file);
    for (size_t i = 0; s.plan && i < s.nplan; i++)
        free(s.plan[i].cfgs);
    free(s.plan);
    free(s.specs);
    free(s.skipped);
    free(items);
    return st;
}
