/* cuda_measure.c - iob_gpu_measure*: hardware counters of one run of a target, per kernel and in
 * sum (docs/gpu.md, "Counters"; metric meanings: docs/counters.md).
 *
 * In-process (IOB_VIA_CUPTI, gpu/counters.cpp): prep once; then for each step s of the run a
 * profiling session whose passes each run, unprofiled, the output poisoning, steps 0..s-1 and the
 * L2 flush (a read of 2 x L2), and then step s under the profiler (one range per kernel). After
 * the last session the output - that of a complete run - is checked against the reference.
 *
 * Through Nsight Compute (IOB_VIA_NCU): the tool re-runs itself as
 *   ncu --metrics ... [-k regex:^(ENTRY|...)$] --cache-control all --clock-control none --csv
 *       --page raw --log-file DIR/ncu.csv  IOBOUND run --layer SPEC <target> --seed S --ncu-child
 * where the child runs the target once (no warm-up, no flush of its own: ncu's cache control
 * flushes before each profiled kernel) and checks its output; the CSV is then parsed.
 */
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "gpu/cuda_internal.h"
#include "gpu/host_counters.h"
#include "gpu/host_ncu.h"

typedef struct step_ctx {
    iob_job *j;
    int step;
    int flush;
} step_ctx;

static iob_status before_step(void *p, iob_error *err)
{
    step_ctx *c = p;
    iob_gpu_ctx *g;
    iob_status st = iob_gpu_ctx_get(&g, err);
    if (st || (st = iob_session_poison(c->j->s, g->stream, err)))
        return st;
    for (int i = 0; i < c->step; i++)
        if ((st = c->j->ops->step(c->j, i, g->stream, err)))
            return st;
    if (c->flush && (st = iob_gpu_flush(g->stream, err)))
        return st;
    return IOB_OK;
}

static iob_status run_step(void *p, iob_error *err)
{
    step_ctx *c = p;
    iob_gpu_ctx *g;
    iob_status st = iob_gpu_ctx_get(&g, err);
    if (st)
        return st;
    return c->j->ops->step(c->j, c->step, g->stream, err);
}

static void label_sum(iob_counters *sum, const iob_job *j)
{
    snprintf(sum->kernel, sizeof sum->kernel, "%.95s", j->label);
}

static iob_status measure_cupti(const iob_layer *L, const iob_gpu_target *t,
                                const iob_run_opts *o, iob_counters *per, int max, int *nk,
                                iob_counters *sum, iob_error *err)
{
    iob_session s;
    iob_session_cache_drop(); /* a profiled run opens its own: free the kept one's memory */
    iob_status st = iob_session_open(&s, L, o, err);
    if (st)
        return st;
    iob_job j;
    if ((st = iob_job_for_target(&j, &s, t, err))) {
        iob_session_close(&s);
        return st;
    }
    iob_gpu_ctx *g;
    cudaError_t e;
    if (!(st = iob_gpu_ctx_get(&g, err)) && j.ops->prep && !(st = j.ops->prep(&j, g->stream, err)) &&
        (e = cudaStreamSynchronize(g->stream)) != cudaSuccess)
        st = iob_cuda_fail(e, "prep launches", err);
    label_sum(sum, &j);
    for (int step = 0; !st && step < j.nsteps; step++) {
        step_ctx c = {&j, step, o->flush_l2};
        int n = 0;
        iob_counters *dst = per + (*nk < max ? *nk : max);
        st = iob_cupti_measure_step(before_step, run_step, &c, dst, max - (*nk < max ? *nk : max),
                                    &n, err);
        for (int i = 0; !st && i < n; i++) {
            if (*nk + i < max)
                iob_counters_add(sum, &per[*nk + i]);
        }
        if (!st)
            *nk += n;
    }
    if (!st && o->check) {
        /* the last pass ran every step: its output must be right, profiling or not */
        iob_check chk;
        char what[200];
        snprintf(what, sizeof what, "%s (after profiling)", j.label);
        st = iob_session_check(&s, what, j.tolerance, &chk, err);
    }
    iob_job_release(&j);
    iob_session_close(&s);
    return st;
}

/* ---- through Nsight Compute ---------------------------------------------------------------- */

/* The iobound tool to re-run: $IOBOUND_EXE, else this process when it is the tool. */
static iob_status tool_path(char *buf, size_t size, iob_error *err)
{
    const char *e = getenv("IOBOUND_EXE");
    if (e && *e) {
        snprintf(buf, size, "%s", e);
        return IOB_OK;
    }
    ssize_t n = readlink("/proc/self/exe", buf, size - 1);
    if (n > 0) {
        buf[n] = '\0';
        const char *base = strrchr(buf, '/');
        if (!strcmp(base ? base + 1 : buf, "iobound"))
            return IOB_OK;
    }
    return iob_error_set(err, IOB_ENOTSUP, "measuring through ncu re-runs the iobound tool: set "
                         "IOBOUND_EXE to its path");
}

/* ^(a|b)$ of the distinct entries of a plan's timed launches. */
static void entry_regex(const iob_plan *p, char *buf, size_t size)
{
    size_t n = (size_t)snprintf(buf, size, "^(");
    for (int i = 0; i < p->nlaunch && n < size; i++) {
        int dup = 0;
        for (int k = 0; k < i; k++)
            dup |= !strcmp(p->launch[k].entry, p->launch[i].entry);
        if (!dup) /* cuBLAS picks its kernel: every SGEMM kernel name has "gemm" in it */
            n += (size_t)snprintf(buf + n, size - n, "%s%s", n > 2 ? "|" : "",
                                  iob_launch_is_kernel(&p->launch[i]) ? p->launch[i].entry
                                                                      : ".*gemm.*");
    }
    if (n < size)
        snprintf(buf + n, size - n, ")$");
}

static iob_status measure_ncu(const iob_layer *L, const iob_gpu_target *t, const iob_run_opts *o,
                              iob_counters *per, int max, int *nk, iob_counters *sum,
                              iob_error *err)
{
    char exe[PATH_MAX], spec[1024], seed[32], cfgtext[512], regex[512];
    iob_status st = tool_path(exe, sizeof exe, err);
    if (st)
        return st;
    if (iob_layer_format(L, spec, sizeof spec) >= (int)sizeof spec)
        return iob_error_set(err, IOB_ERANGE, "layer spec too long for the ncu child");
    snprintf(seed, sizeof seed, "%llu", (unsigned long long)o->seed);
    const char *child[24];
    int n = 0;
    child[n++] = exe;
    child[n++] = "run";
    child[n++] = "--layer";
    child[n++] = spec;
    const char *kregex = NULL;
    iob_gpu_target tt = *t;
    iob_plan plan;
    switch (t->kind) {
    case IOB_TARGET_CONFIG: {
        iob_machine m;
        if ((st = iob_machine_query_device(&m, err)) ||
            (st = iob_plan_build(L, &t->cfg, &m, &plan, err)))
            return st;
        iob_config_format(&t->cfg, cfgtext, sizeof cfgtext);
        child[n++] = "--algo";
        child[n++] = iob_algo_name(t->cfg.algo);
        child[n++] = "--config";
        child[n++] = cfgtext;
        entry_regex(&plan, regex, sizeof regex);
        kregex = regex;
        break;
    }
    case IOB_TARGET_REF:
        child[n++] = "--algo";
        child[n++] = iob_gpu_ref_name(t->ref);
        if (t->ref == IOB_GPU_REF_NAIVE) {
            if ((st = iob_plan_naive(L, &plan, err)))
                return st;
            entry_regex(&plan, regex, sizeof regex);
            kregex = regex;
        }
        break;
    case IOB_TARGET_CUDNN:
        if (!tt.cudnn_algo[0]) {
            /* resolve "the fastest" here, so that the child's search is not profiled */
            iob_session s;
            iob_job j;
            if ((st = iob_session_open(&s, L, o, err)))
                return st;
            if (!(st = iob_job_for_target(&j, &s, t, err))) {
                /* label: "cudnn NAME (FMA)" */
                sscanf(j.label, "cudnn %47s", tt.cudnn_algo);
                iob_job_release(&j);
            }
            iob_session_close(&s);
            if (st)
                return st;
        }
        child[n++] = "--algo";
        child[n++] = "cudnn";
        child[n++] = "--cudnn-algo";
        child[n++] = tt.cudnn_algo;
        if (t->tf32)
            child[n++] = "--tf32";
        break;
    case IOB_TARGET_PLAN:
        return iob_error_set(err, IOB_ENOTSUP, "a bare plan cannot be measured through ncu (the "
                             "child process could not rebuild it); use --via cupti");
    }
    child[n++] = "--seed";
    child[n++] = seed;
    child[n++] = "--ncu-child";
    child[n] = NULL;

    const char *tmp = getenv("TMPDIR");
    char dir[PATH_MAX], log_file[PATH_MAX + 16], out_file[PATH_MAX + 16];
    snprintf(dir, sizeof dir, "%s/iobound-ncu-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir))
        return iob_error_set(err, IOB_EIO, "cannot create a temporary folder in %s",
                             tmp && *tmp ? tmp : "/tmp");
    snprintf(log_file, sizeof log_file, "%s/ncu.csv", dir);
    snprintf(out_file, sizeof out_file, "%s/ncu.out", dir);
    const char *ncu = getenv("IOB_NCU");
    char **argv = NULL;
    if ((st = iob_ncu_argv(ncu && *ncu ? ncu : "ncu", kregex, log_file, child, &argv, err)))
        return st;
    int count = 0;
    st = iob_ncu_run(argv, out_file, log_file, per, max, &count, err);
    free(argv);
    if (!st && count == 0)
        st = iob_error_set(err, IOB_EGPU, "ncu profiled no kernel (output in %s)", out_file);
    if (!st) {
        *nk = count;
        for (int i = 0; i < count && i < max; i++)
            iob_counters_add(sum, &per[i]);
        char label[160];
        iob_gpu_target_label(&tt, label, sizeof label);
        snprintf(sum->kernel, sizeof sum->kernel, "%.95s", label);
        /* keep the files of a failed measurement for diagnosis; remove them otherwise */
        unlink(log_file);
        unlink(out_file);
        rmdir(dir);
    }
    return st;
}

iob_status iob_gpu_measure_target(const iob_layer *layer, const iob_gpu_target *target,
                                  const iob_run_opts *opts, iob_counter_via via,
                                  iob_counters *per_kernel, int max, int *nkernels,
                                  iob_counters *sum, iob_error *err)
{
    *nkernels = 0;
    memset(sum, 0, sizeof *sum);
    iob_run_opts def;
    if (!opts) {
        iob_run_opts_default(&def);
        opts = &def;
    }
    iob_gpu_ctx *g;
    iob_status st = iob_gpu_ctx_get(&g, err);
    if (st)
        return st;
    if (via == IOB_VIA_NCU)
        return measure_ncu(layer, target, opts, per_kernel, max, nkernels, sum, err);
    return measure_cupti(layer, target, opts, per_kernel, max, nkernels, sum, err);
}

iob_status iob_gpu_measure(const iob_layer *layer, const iob_config *cfg,
                           const iob_run_opts *opts, iob_counter_via via, iob_counters *per_kernel,
                           int max, int *nkernels, iob_counters *sum, iob_error *err)
{
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    if (cfg) {
        t.kind = IOB_TARGET_CONFIG;
        t.cfg = *cfg;
    } else {
        t.kind = IOB_TARGET_CUDNN;
    }
    return iob_gpu_measure_target(layer, &t, opts, via, per_kernel, max, nkernels, sum, err);
}
