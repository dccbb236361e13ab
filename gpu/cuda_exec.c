/* cuda_exec.c - checked, timed runs (docs/gpu.md, "Buffers and checks", "Timing protocol"):
 * sessions (a layer's buffers and reference), jobs (what computes it), the plan job, and the
 * iob_gpu_run* entry points.
 *
 * Protocol of one timed measurement:
 *   prep launches once (timed apart) ->
 *   `warmup` untimed runs, then `reps` timed runs; before each run the output is filled with the
 *   poison pattern (NaN bits 0xFFFFFFFF) and the L2 is flushed by reading 2 x L2 (outside the
 *   events) -> each run between two CUDA events on one stream, the stream synchronised after it
 *   (a fault is reported by the run that caused it) -> the median, min and max of the timed runs
 *   -> the output of the first and of the last run compared with the FP64 reference (sampled for
 *   large layers) and scanned in full for unwritten or non-finite elements.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_internal.h"

/* ---- sessions ------------------------------------------------------------------------------ */

/* The device side of the checks of a sampled reference (gpu/kernels/check.cu): the indices
 * uploaded once, the two kernels loaded. Buffers as launch arguments: WORK0 = the output,
 * WORK1 = scan counters or indices, WORK2 = the gathered values. */
static iob_status device_check_open(iob_session *s, iob_gpu_ctx *c, iob_error *err)
{
    int64_t n = s->ref.count;
    iob_status st;
    if ((st = iob_dev_alloc((void **)&s->d_idx, (size_t)n * sizeof(long long), "check indices",
                            err)) ||
        (st = iob_dev_alloc((void **)&s->d_vals, (size_t)n * sizeof(float), "checked outputs",
                            err)) ||
        (st = iob_dev_alloc((void **)&s->d_scan, 4 * sizeof(unsigned long long), "check counts",
                            err)))
        return st;
    if (!(s->h_vals = malloc((size_t)n * sizeof(float))))
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    _Static_assert(sizeof(long long) == sizeof(int64_t), "index width");
    IOB_CUDA_TRY(cudaMemcpyAsync(s->d_idx, s->ref.index, (size_t)n * sizeof(long long),
                                 cudaMemcpyHostToDevice, c->stream),
                 "cudaMemcpy (check indices)");
    IOB_CUDA_TRY(cudaStreamSynchronize(c->stream), "copying the check indices");
    iob_launch *sl = &s->scan_launch, *gl = &s->gather_launch;
    if ((st = iob_launch_init(sl, "check.cu", "iob_check_scan", 4 * c->prop.multiProcessorCount,
                              1, 1, 256, 0, err)) ||
        (st = iob_launch_init(gl, "check.cu", "iob_check_gather", (n + 255) / 256, 1, 1, 256, 0,
                              err)))
        return st;
    iob_launch_arg_buf(sl, IOB_BUF_WORK0);
    sl->args[sl->nargs++] = (iob_kernel_arg){.kind = IOB_ARG_I64, .i64 = s->y_elems};
    iob_launch_arg_buf(sl, IOB_BUF_WORK1);
    iob_launch_arg_buf(gl, IOB_BUF_WORK0);
    iob_launch_arg_buf(gl, IOB_BUF_WORK1);
    gl->args[gl->nargs++] = (iob_kernel_arg){.kind = IOB_ARG_I64, .i64 = n};
    iob_launch_arg_buf(gl, IOB_BUF_WORK2);
    iob_compile_info info;
    if ((st = iob_jit_kernel_pinned(&s->scan_launch, &s->scan_kernel, &info, err)) ||
        (st = iob_jit_kernel_pinned(&s->gather_launch, &s->gather_kernel, &info, err)))
        return st;
    s->device_check = 1;
    return IOB_OK;
}

/* Scan and gather on the device, the comparison on the host (iob_ref_check_gathered). */
static iob_status device_check(iob_session *s, iob_gpu_ctx *c, iob_check *chk, iob_error *err)
{
    memset(chk, 0, sizeof *chk);
    const unsigned long long init[4] = {0, ~0ull, 0, ~0ull};
    unsigned long long scan[4];
    IOB_CUDA_TRY(cudaMemcpyAsync(s->d_scan, init, sizeof init, cudaMemcpyHostToDevice,
                                 c->stream),
                 "cudaMemcpy (check counts)");
    void *bufs[6] = {0};
    bufs[IOB_BUF_WORK0] = s->y;
    bufs[IOB_BUF_WORK1] = s->d_scan;
    iob_status st = iob_jit_launch(&s->scan_launch, s->scan_kernel, bufs, c->stream, err);
    if (st)
        return st;
    bufs[IOB_BUF_WORK1] = s->d_idx;
    bufs[IOB_BUF_WORK2] = s->d_vals;
    if ((st = iob_jit_launch(&s->gather_launch, s->gather_kernel, bufs, c->stream, err)))
        return st;
    IOB_CUDA_TRY(cudaMemcpyAsync(scan, s->d_scan, sizeof scan, cudaMemcpyDeviceToHost, c->stream),
                 "cudaMemcpy (check counts)");
    IOB_CUDA_TRY(cudaMemcpyAsync(s->h_vals, s->d_vals, (size_t)s->ref.count * sizeof(float),
                                 cudaMemcpyDeviceToHost, c->stream),
                 "cudaMemcpy (checked outputs)");
    IOB_CUDA_TRY(cudaStreamSynchronize(c->stream), "checking the output");
    chk->unwritten = (int64_t)scan[0];
    chk->first_unwritten = scan[0] ? (int64_t)scan[1] : -1;
    chk->nonfinite = (int64_t)scan[2];
    chk->first_nonfinite = scan[2] ? (int64_t)scan[3] : -1;
    iob_ref_check_gathered(&s->ref, s->h_vals, chk);
    return IOB_OK;
}

iob_status iob_session_open(iob_session *s, const iob_layer *L, const iob_run_opts *o,
                            iob_error *err)
{
    memset(s, 0, sizeof *s);
    s->L = L;
    iob_status st = iob_layer_counts_get(L, &s->counts, err);
    if (st)
        return st;
    iob_gpu_ctx *c;
    if ((st = iob_gpu_ctx_get(&c, err)))
        return st;
    s->x_bytes = (size_t)s->counts.input_elems * sizeof(float);
    s->w_bytes = (size_t)s->counts.weight_elems * sizeof(float);
    s->y_bytes = (size_t)s->counts.output_elems * sizeof(float);
    s->y_elems = (int64_t)s->counts.output_elems;
    /* the device first: a layer that does not fit is an IOB_ENOMEM record before any host
     * memory is touched (DESIGN.md, "Faults and files") */
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess)
        return iob_cuda_fail(e, "cudaMemGetInfo", err);
    double need = 4.0 * ((double)s->counts.input_elems + (double)s->counts.weight_elems +
                         (double)s->counts.output_elems);
    if (need + (64 << 20) > (double)free_b)
        return iob_error_set(err, IOB_ENOMEM, "the layer's tensors need %.1f MB of device "
                             "memory, %.1f MB free (of %.1f MB)", need / 1e6, free_b / 1e6,
                             total_b / 1e6);
    if ((st = iob_dev_alloc_sectors((void **)&s->x, s->x_bytes, "the input", err)) ||
        (st = iob_dev_alloc_sectors((void **)&s->w, s->w_bytes, "the filter", err)) ||
        (st = iob_dev_alloc_sectors((void **)&s->y, s->y_bytes, "the output", err))) {
        iob_session_close(s);
        return st;
    }
    s->device_bytes = (int64_t)(s->x_bytes + s->w_bytes + s->y_bytes);
    s->hx = malloc(s->x_bytes);
    s->hw = malloc(s->w_bytes);
    s->hy = malloc(s->y_bytes);
    if (!s->hx || !s->hw || !s->hy) {
        iob_session_close(s);
        return iob_error_set(err, IOB_ENOMEM, "no host memory for the layer's %.1f MB of tensors",
                             (s->x_bytes + s->w_bytes + 2.0 * s->y_bytes) / 1e6);
    }
    iob_ref_fill(s->hx, (size_t)s->counts.input_elems, o->seed, IOB_STREAM_INPUT);
    iob_ref_fill(s->hw, (size_t)s->counts.weight_elems, o->seed, IOB_STREAM_FILTER);
    /* copies and memsets go on the context's stream and are waited for: the stream is
     * non-blocking, so the legacy default stream of a plain cudaMemcpy would not order them
     * before our kernels (a pageable H2D cudaMemcpy may return before its DMA completes) */
    if ((e = cudaMemcpyAsync(s->x, s->hx, s->x_bytes, cudaMemcpyHostToDevice, c->stream)) !=
            cudaSuccess ||
        (e = cudaMemcpyAsync(s->w, s->hw, s->w_bytes, cudaMemcpyHostToDevice, c->stream)) !=
            cudaSuccess ||
        (e = cudaStreamSynchronize(c->stream)) != cudaSuccess) {
        iob_session_close(s);
        return iob_cuda_fail(e, "cudaMemcpy (inputs)", err);
    }
    if (o->check) {
        int64_t samples = iob_ref_samples_for(L, o->check_samples);
        if ((st = iob_ref_compute(L, s->hx, s->hw, samples, o->seed, &s->ref, err))) {
            iob_session_close(s);
            return st;
        }
        s->have_ref = 1;
        if (s->ref.index && !o->with_cudnn && (st = device_check_open(s, c, err))) {
            iob_session_close(s);
            return st;
        }
    }
    return IOB_OK;
}

void iob_session_close(iob_session *s)
{
    iob_dev_free(s->x);
    iob_dev_free(s->w);
    iob_dev_free(s->y);
    iob_dev_free(s->d_idx);
    iob_dev_free(s->d_vals);
    iob_dev_free(s->d_scan);
    free(s->h_vals);
    free(s->hx);
    free(s->hw);
    free(s->hy);
    free(s->cudnn_y);
    if (s->have_ref)
        iob_ref_free(&s->ref);
    memset(s, 0, sizeof *s);
}

iob_status iob_session_poison(iob_session *s, cudaStream_t st, iob_error *err)
{
    IOB_CUDA_TRY(cudaMemsetAsync(s->y, 0xFF, s->y_bytes, st), "poisoning the output");
    return IOB_OK;
}

iob_status iob_session_check(iob_session *s, const char *what, double tolerance,
                             iob_check *chk, iob_error *err)
{
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    if (s->device_check) {
        if ((st = device_check(s, c, chk, err)))
            return st;
        return iob_ref_verdict(s->L, chk, tolerance, what, err);
    }
    IOB_CUDA_TRY(cudaMemcpyAsync(s->hy, s->y, s->y_bytes, cudaMemcpyDeviceToHost, c->stream),
                 "cudaMemcpy (output)");
    IOB_CUDA_TRY(cudaStreamSynchronize(c->stream), "copying the output back");
    iob_ref empty = {0};
    iob_ref_check(s->have_ref ? &s->ref : &empty, s->hy, s->y_elems, chk);
    return iob_ref_verdict(s->L, chk, tolerance, what, err);
}

/* ---- the session of the last layer, kept for the next run of it ----------------------------
 * A tuner measures K configs of one layer and then cuDNN's algorithms on it: drawing the inputs,
 * computing the reference and filling the device for every run cost about half a second each on
 * a 100 M-element layer. The last session stays open for the next run of the same layer with the
 * same inputs and checks (key: the layer's spec, seed, check options). One at a time: a run of
 * another layer closes it first; a run that fails in any way closes it (a faulting or wrong
 * kernel may have written where it must not); a thread that finds it in use opens its own. */
static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct {
    int open;
    char key[1100];
    iob_layer L;
    iob_session s;
} cache;

static void session_key(const iob_layer *L, const iob_run_opts *o, char *key, size_t size)
{
    int n = iob_layer_format(L, key, size);
    if (n >= 0 && (size_t)n < size)
        snprintf(key + n, size - (size_t)n, "|seed=%llu,check=%d/%d,cudnn=%d",
                 (unsigned long long)o->seed, o->check, o->check_samples, o->with_cudnn);
}

iob_status iob_session_acquire(const iob_layer *L, const iob_run_opts *o, iob_session *own,
                               iob_session **s, iob_error *err)
{
    if (pthread_mutex_trylock(&cache_lock)) {
        *s = own;
        return iob_session_open(own, L, o, err);
    }
    char key[sizeof cache.key];
    session_key(L, o, key, sizeof key);
    if (cache.open && !strcmp(cache.key, key)) {
        cache.s.L = L;
        *s = &cache.s;
        return IOB_OK;
    }
    if (cache.open)
        iob_session_close(&cache.s);
    cache.open = 0;
    iob_status st = iob_session_open(&cache.s, L, o, err);
    if (st) {
        pthread_mutex_unlock(&cache_lock);
        return st;
    }
    cache.open = 1;
    snprintf(cache.key, sizeof cache.key, "%s", key);
    *s = &cache.s;
    return IOB_OK;
}

void iob_session_release(iob_session *s, iob_status result)
{
    if (s != &cache.s) {
        iob_session_close(s);
        return;
    }
    if (result) {
        iob_session_close(&cache.s);
        cache.open = 0;
    }
    pthread_mutex_unlock(&cache_lock);
}

void iob_session_cache_drop(void)
{
    if (pthread_mutex_trylock(&cache_lock))
        return; /* in use: its owner releases it */
    if (cache.open)
        iob_session_close(&cache.s);
    cache.open = 0;
    pthread_mutex_unlock(&cache_lock);
}

/* ---- jobs ---------------------------------------------------------------------------------- */

void iob_job_release(iob_job *j)
{
    if (j->ops && j->ops->release)
        j->ops->release(j);
    memset(j, 0, sizeof *j);
}

iob_status iob_job_run_steps(iob_job *j, cudaStream_t st, iob_error *err)
{
    for (int i = 0; i < j->nsteps; i++) {
        iob_status s = j->ops->step(j, i, st, err);
        if (s)
            return s;
    }
    return IOB_OK;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Waits for the stream; a failure here is a kernel fault (or a sticky error). */
static iob_status sync_run(cudaStream_t st, const char *label, iob_error *err)
{
    cudaError_t e = cudaStreamSynchronize(st);
    if (e != cudaSuccess) {
        char what[200];
        snprintf(what, sizeof what, "running %s", label);
        return iob_cuda_fail(e, what, err);
    }
    return IOB_OK;
}

iob_status iob_job_time(iob_job *j, const iob_run_opts *o, iob_run_result *r, iob_error *err)
{
    iob_session *s = j->s;
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    cudaStream_t stream = c->stream;
    memset(r, 0, sizeof *r);
    r->max_rel_err_cudnn = -1;
    r->tolerance = j->tolerance;
    r->compile_ms = j->compile_ms;
    r->cache_hits = j->cache_hits;
    r->cache_misses = j->cache_misses;
    r->device_bytes = s->device_bytes + j->device_bytes;
    int warmup = o->warmup > 0 ? o->warmup : 0, reps = o->reps > 0 ? o->reps : 1;
    double *times = malloc((size_t)reps * sizeof *times);
    if (!times)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    cudaEvent_t ev0 = NULL, ev1 = NULL;
    cudaError_t e;
    if ((e = cudaEventCreate(&ev0)) != cudaSuccess || (e = cudaEventCreate(&ev1)) != cudaSuccess) {
        st = iob_cuda_fail(e, "cudaEventCreate", err);
        goto out;
    }
    if (j->ops->prep) {
        if ((e = cudaEventRecord(ev0, stream)) != cudaSuccess) {
            st = iob_cuda_fail(e, "cudaEventRecord", err);
            goto out;
        }
        if ((st = j->ops->prep(j, stream, err)))
            goto out;
        if ((e = cudaEventRecord(ev1, stream)) != cudaSuccess) {
            st = iob_cuda_fail(e, "cudaEventRecord", err);
            goto out;
        }
        if ((st = sync_run(stream, j->label, err)))
            goto out;
        float ms = 0;
        cudaEventElapsedTime(&ms, ev0, ev1);
        r->prep_ms = ms;
    }
    iob_check first = {0};
    iob_status check_st = IOB_OK;
    iob_error check_err = {0};
    for (int it = 0; it < warmup + reps; it++) {
        int timed = it >= warmup;
        if ((st = iob_session_poison(s, stream, err)))
            goto out;
        if (o->flush_l2 && (st = iob_gpu_flush(stream, err)))
            goto out;
        if (timed && (e = cudaEventRecord(ev0, stream)) != cudaSuccess) {
            st = iob_cuda_fail(e, "cudaEventRecord", err);
            goto out;
        }
        if ((st = iob_job_run_steps(j, stream, err)))
            goto out;
        if (timed && (e = cudaEventRecord(ev1, stream)) != cudaSuccess) {
            st = iob_cuda_fail(e, "cudaEventRecord", err);
            goto out;
        }
        if ((st = sync_run(stream, j->label, err)))
            goto out;
        if (timed) {
            float ms = 0;
            if ((e = cudaEventElapsedTime(&ms, ev0, ev1)) != cudaSuccess) {
                st = iob_cuda_fail(e, "cudaEventElapsedTime", err);
                goto out;
            }
            times[it - warmup] = ms;
        }
        if (it == 0 && o->check && warmup + reps > 1) {
            /* the first run's output too: a kernel may only be right once its caches are warm.
             * A wrong output is reported after the timing, with the result filled. */
            char what[200];
            snprintf(what, sizeof what, "%s (first run)", j->label);
            iob_status cs = iob_session_check(s, what, j->tolerance, &first, &check_err);
            if (cs == IOB_ECHECK)
                check_st = cs;
            else if ((st = cs)) {
                if (err)
                    *err = check_err;
                goto out;
            }
        }
    }
    qsort(times, (size_t)reps, sizeof *times, cmp_double);
    r->reps = reps;
    r->time_ms = reps % 2 ? times[reps / 2] : 0.5 * (times[reps / 2 - 1] + times[reps / 2]);
    r->time_ms_min = times[0];
    r->time_ms_max = times[reps - 1];
    r->tflops = (double)s->counts.flops / (r->time_ms * 1e-3) / 1e12;
    if (o->check) {
        iob_check last;
        iob_error last_err;
        iob_status cs = iob_session_check(s, j->label, j->tolerance, &last, &last_err);
        if (cs && cs != IOB_ECHECK) {
            if (err)
                *err = last_err;
            st = cs;
            goto out;
        }
        if (cs && !check_st) {
            check_st = cs;
            check_err = last_err;
        }
        r->max_rel_err = last.max_rel_err > first.max_rel_err ? last.max_rel_err
                                                               : first.max_rel_err;
        if (last.unwritten || last.nonfinite || first.unwritten || first.nonfinite)
            r->max_rel_err = INFINITY;
        r->checked_elems = last.checked;
        if (o->with_cudnn) {
            /* cuDNN overwrites the device output; ours is already in s->hy */
            if ((st = iob_cudnn_reference_output(s, err)))
                goto out;
            r->max_rel_err_cudnn = iob_ref_compare(&s->ref, s->hy, s->cudnn_y);
        }
    }
    if (check_st) {
        st = check_st;
        if (err)
            *err = check_err;
    }
out:
    if (ev0)
        cudaEventDestroy(ev0);
    if (ev1)
        cudaEventDestroy(ev1);
    free(times);
    return st;
}

/* ---- the plan job -------------------------------------------------------------------------- */

typedef struct plan_job {
    iob_plan plan;
    cudaKernel_t prep[IOB_PLAN_LAUNCH_MAX], launch[IOB_PLAN_LAUNCH_MAX];
    void *work[IOB_PLAN_WORK];
} plan_job;

static void plan_bufs(iob_job *j, void *bufs[6])
{
    plan_job *p = j->impl;
    bufs[IOB_BUF_INPUT] = j->s->x;
    bufs[IOB_BUF_FILTER] = j->s->w;
    bufs[IOB_BUF_OUTPUT] = j->s->y;
    for (int i = 0; i < IOB_PLAN_WORK; i++)
        bufs[IOB_BUF_WORK0 + i] = p->work[i];
}

/* one launch: our kernel, or cuBLAS's GEMM */
static iob_status plan_launch(const iob_launch *l, cudaKernel_t k, void *const bufs[6],
                              cudaStream_t s, iob_error *err)
{
    if (!iob_launch_is_kernel(l))
        return iob_cublas_gemm(&l->gemm, bufs, s, err);
    return iob_jit_launch(l, k, bufs, s, err);
}

static iob_status plan_prep(iob_job *j, cudaStream_t s, iob_error *err)
{
    plan_job *p = j->impl;
    void *bufs[6];
    plan_bufs(j, bufs);
    for (int i = 0; i < p->plan.nprep; i++) {
        iob_status st = plan_launch(&p->plan.prep[i], p->prep[i], bufs, s, err);
        if (st)
            return st;
    }
    return IOB_OK;
}

static iob_status plan_step(iob_job *j, int i, cudaStream_t s, iob_error *err)
{
    plan_job *p = j->impl;
    void *bufs[6];
    plan_bufs(j, bufs);
    return plan_launch(&p->plan.launch[i], p->launch[i], bufs, s, err);
}

static void plan_release(iob_job *j)
{
    plan_job *p = j->impl;
    if (!p)
        return;
    for (int i = 0; i < IOB_PLAN_WORK; i++)
        iob_dev_free(p->work[i]);
    free(p);
}

static const iob_job_ops plan_ops = {plan_prep, plan_step, plan_release};

static iob_status load_launch(iob_job *j, const iob_launch *l, cudaKernel_t *k, iob_error *err)
{
    iob_compile_info info;
    iob_status st = iob_jit_kernel(l, k, &info, err);
    if (st)
        return st;
    j->compile_ms += info.ms;
    if (info.cache_hit)
        j->cache_hits++;
    else
        j->cache_misses++;
    return IOB_OK;
}

iob_status iob_job_plan(iob_job *j, iob_session *s, const iob_plan *plan, iob_error *err)
{
    memset(j, 0, sizeof *j);
    if (plan->nlaunch < 1 || plan->nlaunch > IOB_PLAN_LAUNCH_MAX || plan->nprep < 0 ||
        plan->nprep > IOB_PLAN_LAUNCH_MAX)
        return iob_error_set(err, IOB_EINVAL, "plan with %d launches and %d prep launches",
                             plan->nlaunch, plan->nprep);
    plan_job *p = calloc(1, sizeof *p);
    if (!p)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    p->plan = *plan;
    j->ops = &plan_ops;
    j->impl = p;
    j->s = s;
    j->nsteps = plan->nlaunch;
    j->tolerance = plan->tolerance > 0 ? plan->tolerance : 1e-4;
    snprintf(j->label, sizeof j->label, "%s", plan->launch[0].entry);
    /* compile every kernel first (in parallel), so that a compile error costs no allocation;
     * a cuBLAS launch has nothing to compile, but cuBLAS must load */
    iob_launch all[2 * IOB_PLAN_LAUNCH_MAX];
    int n = 0, gemms = 0;
    for (int i = 0; i < plan->nprep + plan->nlaunch; i++) {
        const iob_launch *l = i < plan->nprep ? &plan->prep[i] : &plan->launch[i - plan->nprep];
        if (iob_launch_is_kernel(l))
            all[n++] = *l;
        else
            gemms++;
    }
    iob_compile_info info[2 * IOB_PLAN_LAUNCH_MAX];
    iob_status sts[2 * IOB_PLAN_LAUNCH_MAX];
    iob_status st = gemms ? iob_cublas_ready(err) : IOB_OK;
    if (!st)
        st = iob_gpu_compile_many(all, n, 0, info, sts, NULL, err);
    for (int i = 0; !st && i < plan->nprep; i++)
        if (iob_launch_is_kernel(&plan->prep[i]))
            st = load_launch(j, &plan->prep[i], &p->prep[i], err);
    for (int i = 0; !st && i < plan->nlaunch; i++)
        if (iob_launch_is_kernel(&plan->launch[i]))
            st = load_launch(j, &plan->launch[i], &p->launch[i], err);
    /* the compilation above is what costs: report its time and cache use */
    j->compile_ms = 0;
    j->cache_hits = j->cache_misses = 0;
    for (int i = 0; !st && i < n; i++) {
        j->compile_ms += info[i].ms;
        if (info[i].cache_hit)
            j->cache_hits++;
        else
            j->cache_misses++;
    }
    for (int i = 0; !st && i < IOB_PLAN_WORK; i++) {
        char what[48];
        snprintf(what, sizeof what, "workspace %d", i);
        if ((st = iob_dev_alloc_sectors(&p->work[i], (size_t)plan->work_bytes[i], what, err)))
            break;
        j->device_bytes += plan->work_bytes[i];
        /* workspaces start poisoned too: a kernel may not rely on zeroed memory */
        if (p->work[i]) {
            iob_gpu_ctx *c;
            cudaError_t e;
            if ((st = iob_gpu_ctx_get(&c, err)))
                break;
            if ((e = cudaMemsetAsync(p->work[i], 0xFF, (size_t)plan->work_bytes[i], c->stream)) !=
                    cudaSuccess ||
                (e = cudaStreamSynchronize(c->stream)) != cudaSuccess)
                st = iob_cuda_fail(e, "poisoning a workspace", err);
        }
    }
    if (st)
        iob_job_release(j);
    return st;
}

iob_status iob_job_for_target(iob_job *j, iob_session *s, const iob_gpu_target *t,
                              iob_error *err)
{
    memset(j, 0, sizeof *j);
    iob_status st;
    iob_plan plan;
    switch (t->kind) {
    case IOB_TARGET_CONFIG: {
        iob_gpu_ctx *c;
        iob_machine m;
        if ((st = iob_gpu_ctx_get(&c, err)) || (st = iob_machine_query_device(&m, err)) ||
            (st = iob_plan_build(s->L, &t->cfg, &m, &plan, err)))
            return st;
        st = iob_job_plan(j, s, &plan, err);
        if (!st)
            iob_config_format(&t->cfg, j->label, sizeof j->label);
        return st;
    }
    case IOB_TARGET_PLAN:
        if (!t->plan)
            return iob_error_set(err, IOB_EINVAL, "plan target without a plan");
        return iob_job_plan(j, s, t->plan, err);
    case IOB_TARGET_REF:
        if (t->ref == IOB_GPU_REF_IM2COL_CUBLAS)
            return iob_job_cublas(j, s, err);
        if ((st = iob_plan_naive(s->L, &plan, err)))
            return st;
        st = iob_job_plan(j, s, &plan, err);
        if (!st)
            snprintf(j->label, sizeof j->label, "naive");
        return st;
    case IOB_TARGET_CUDNN:
        return iob_job_cudnn(j, s, t->cudnn_algo, t->tf32, err);
    }
    return iob_error_set(err, IOB_EINVAL, "unknown target kind %d", (int)t->kind);
}

/* ---- entry points -------------------------------------------------------------------------- */

iob_status iob_gpu_run_target(const iob_layer *layer, const iob_gpu_target *target,
                              const iob_run_opts *opts, iob_run_result *result, iob_error *err)
{
    iob_run_opts def;
    if (!opts) {
        iob_run_opts_default(&def);
        opts = &def;
    }
    memset(result, 0, sizeof *result);
    result->max_rel_err_cudnn = -1;
    iob_session own, *s;
    iob_status st = iob_session_acquire(layer, opts, &own, &s, err);
    if (st)
        return st;
    iob_job j;
    if (!(st = iob_job_for_target(&j, s, target, err))) {
        st = iob_job_time(&j, opts, result, err);
        iob_job_release(&j);
    }
    iob_session_release(s, st);
    return st;
}

iob_status iob_gpu_run(const iob_layer *layer, const iob_config *cfg, const iob_run_opts *opts,
                       iob_run_result *result, iob_error *err)
{
    iob_gpu_target t;
    memset(&t, 0, sizeof t);
    t.kind = IOB_TARGET_CONFIG;
    t.cfg = *cfg;
    return iob_gpu_run_target(layer, &t, opts, result, err);
}
