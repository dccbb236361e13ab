/* measure_gpu.c - the in-process measurer: iob_gpu_run for configs, iob_gpu_cudnn for the cuDNN
 * baselines. A kernel that faults (illegal address, trap) leaves the CUDA context unusable for
 * the rest of the process (DESIGN.md, "Faults and files"), and iob_gpu_run reports it as
 * IOB_EGPU like any other CUDA failure; so every IOB_EGPU marks this measurer lost and it refuses
 * later calls. Run it inside a worker process (tune/worker.c) to survive such faults. */
#include <math.h>
#include <string.h>

#include <stdlib.h>

#include "iobound/plan.h"
#include "iobound/tune.h"
#include "tune/tune_internal.h"

#define CUDNN_MAX 32

void iob_gpu_measurer_init(iob_gpu_measurer *g, const iob_run_opts *run)
{
    memset(g, 0, sizeof *g);
    if (run)
        g->run = *run;
    else
        iob_run_opts_default(&g->run);
}

static iob_status refuse_if_lost(const iob_gpu_measurer *g, iob_error *err)
{
    if (g->lost)
        return iob_error_set(err, IOB_EGPU, "the CUDA context is not usable after: %s",
                             g->lost_msg);
    return IOB_OK;
}

static void mark_lost(iob_gpu_measurer *g, const char *msg)
{
    g->lost = 1;
    iob_tune_copy(g->lost_msg, sizeof g->lost_msg, msg);
}

static iob_status gpu_measure(void *ctx, const iob_layer *L, const iob_config *cfg,
                              iob_tune_meas *out, iob_error *err)
{
    iob_gpu_measurer *g = ctx;
    iob_status st = refuse_if_lost(g, err);
    if (st)
        return st;
    iob_run_result r;
    memset(&r, 0, sizeof r);
    iob_error e;
    iob_error_clear(&e);
    st = iob_gpu_run(L, cfg, &g->run, &r, &e);
    memset(out, 0, sizeof *out);
    out->status = st;
    out->time_ms = st == IOB_OK ? r.time_ms : NAN;
    out->compile_ms = r.compile_ms;
    out->max_rel_err = st == IOB_OK || st == IOB_ECHECK ? r.max_rel_err : NAN;
    iob_tune_copy(out->message, sizeof out->message, st ? e.msg : "");
    if (st == IOB_ENODEV) /* nothing can be measured here at all */
        return iob_error_set(err, st, "%s", e.msg);
    if (st == IOB_EGPU) {
        out->context_lost = 1;
        mark_lost(g, e.msg);
    }
    return IOB_OK;
}

static iob_status gpu_baseline(void *ctx, const iob_layer *L, iob_tune_baseline *out,
                               iob_error *err)
{
    iob_gpu_measurer *g = ctx;
    iob_status st = refuse_if_lost(g, err);
    if (st)
        return st;
    memset(out, 0, sizeof *out);
    out->fp32_ms = out->tf32_ms = NAN;
    iob_cudnn_result res[CUDNN_MAX];
    int n = 0;
    iob_error e;
    iob_error_clear(&e);
    st = iob_gpu_cudnn(L, &g->run, res, CUDNN_MAX, &n, &e);
    if (st) {
        out->status = st;
        iob_tune_copy(out->message, sizeof out->message, e.msg);
        if (st == IOB_EGPU)
            mark_lost(g, e.msg);
        return st == IOB_ENODEV ? iob_error_set(err, st, "%s", e.msg) : IOB_OK;
    }
    for (int i = 0; i < n; i++) {
        if (res[i].status != IOB_OK || !(res[i].time_ms > 0))
            continue;
        double *t = res[i].tf32 ? &out->tf32_ms : &out->fp32_ms;
        char *name = res[i].tf32 ? out->tf32_algo : out->fp32_algo;
        if (isnan(*t) || res[i].time_ms < *t) {
            *t = res[i].time_ms;
            iob_tune_copy(name, sizeof out->fp32_algo, res[i].algo);
        }
    }
    out->status = isnan(out->fp32_ms) ? IOB_ENOTSUP : IOB_OK;
    if (out->status)
        snprintf(out->message, sizeof out->message, "no cuDNN FP32 algorithm ran (of %d)", n);
    return IOB_OK;
}

iob_measurer iob_gpu_measurer_get(iob_gpu_measurer *g)
{
    iob_measurer m = {gpu_measure, gpu_baseline, g, iob_tune_precompile};
    return m;
}

void iob_tune_precompile(void *ctx, const iob_layer *L, const iob_machine *m,
                         const iob_config *cfgs, size_t n)
{
    (void)ctx;
    if (!iob_gpu_built() || n == 0)
        return;
    /* Why: the kernels of one layer's candidates compile one after another inside each
     * measurement otherwise; F(4x4) Winograd takes about 6 s of NVRTC each (measured on this
     * project's 2-core machine), which alone broke the 5 s per layer target. */
    size_t cap = n * 2 * IOB_PLAN_LAUNCH_MAX;
    iob_launch *ls = malloc(cap * sizeof *ls);
    iob_compile_info *info = malloc(cap * sizeof *info);
    iob_status *st = malloc(cap * sizeof *st);
    if (!ls || !info || !st)
        goto out;
    int nl = 0;
    for (size_t i = 0; i < n; i++) {
        iob_plan plan;
        if (iob_plan_build(L, &cfgs[i], m, &plan, NULL))
            continue;
        for (int j = 0; j < plan.nprep; j++)
            if (iob_launch_is_kernel(&plan.prep[j]))
                ls[nl++] = plan.prep[j];
        for (int j = 0; j < plan.nlaunch; j++)
            if (iob_launch_is_kernel(&plan.launch[j]))
                ls[nl++] = plan.launch[j];
    }
    int arch = m && m->cc_major > 0 ? 10 * m->cc_major + m->cc_minor : 0;
    iob_error err;
    iob_gpu_compile_many(ls, nl, arch, info, st, NULL, &err);
out:
    free(ls);
    free(info);
    free(st);
}
