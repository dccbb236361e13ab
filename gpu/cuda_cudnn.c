/* cuda_cudnn.c - cuDNN baselines in the same process (docs/gpu.md, "cuDNN baselines"), through
 * the legacy convolution API (still working in cuDNN 9, ../shared/device/NOTES.md):
 *
 *  - the algorithms that run are found with cudnnFindConvolutionForwardAlgorithmEx, once with
 *    CUDNN_FMA_MATH (true FP32) and once with CUDNN_DEFAULT_MATH (TF32 tensor cores allowed on
 *    sm_80+), each labelled; the workspace offered to the search is the largest any algorithm
 *    asks for, allocated after a free-memory check (FFT can want ~600 MB);
 *  - each algorithm that runs is then timed with our own protocol (iob_job_time: poisoned output,
 *    flushed L2, CUDA events, median) and its output checked against the FP64 reference.
 *
 * Tolerances (the metric of host_ref.h):
 *  - FMA math, GEMM-like algorithms (IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM, DIRECT): 1e-4,
 *    as for our kernels (FP32 products summed in FP32);
 *  - default math: TF32 keeps 10 of FP32's 23 mantissa bits; truncating both operands errs by at
 *    most 2^-10 each, so a product by 2^-9 ~ 1.95e-3 of |x w|: tolerance 2.5e-3;
 *  - FFT, FFT_TILING, WINOGRAD, WINOGRAD_NONFUSED: their transforms round in a norm-wise way that
 *    no per-element bound covers; 1e-3, to be confirmed on the H100 (docs/gpu.md).
 */
#include <cudnn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_internal.h"

static const char *const algo_names[CUDNN_CONVOLUTION_FWD_ALGO_COUNT] = {
    "IMPLICIT_GEMM", "IMPLICIT_PRECOMP_GEMM", "GEMM", "DIRECT",
    "FFT", "FFT_TILING", "WINOGRAD", "WINOGRAD_NONFUSED",
};

long iob_gpu_cudnn_version(void) { return (long)cudnnGetVersion(); }

double iob_cudnn_tolerance(const char *algo, int tf32)
{
    double tol = 1e-4;
    if (!strncmp(algo, "FFT", 3) || !strncmp(algo, "WINOGRAD", 8))
        tol = 1e-3;
    if (tf32 && tol < 2.5e-3)
        tol = 2.5e-3;
    return tol;
}

static iob_status dnn_fail(cudnnStatus_t s, const char *what, iob_error *err)
{
    /* a cuDNN failure after a kernel fault carries the sticky CUDA error */
    cudaError_t e = cudaPeekAtLastError();
    if (s == CUDNN_STATUS_EXECUTION_FAILED && e != cudaSuccess)
        return iob_cuda_fail(e, what, err);
    return iob_error_set(err, IOB_EGPU, "%s: %s", what, cudnnGetErrorString(s));
}

#define DNN_TRY(call, what)                                                                   \
    do {                                                                                      \
        cudnnStatus_t s_ = (call);                                                            \
        if (s_ != CUDNN_STATUS_SUCCESS)                                                       \
            return dnn_fail(s_, what, err);                                                   \
    } while (0)

static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;
static cudnnHandle_t the_handle;

static iob_status get_handle(cudnnHandle_t *h, iob_error *err)
{
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    pthread_mutex_lock(&handle_lock);
    cudnnStatus_t s = CUDNN_STATUS_SUCCESS;
    if (!the_handle && (s = cudnnCreate(&the_handle)) == CUDNN_STATUS_SUCCESS &&
        (s = cudnnSetStream(the_handle, c->stream)) != CUDNN_STATUS_SUCCESS) {
        cudnnDestroy(the_handle);
        the_handle = NULL;
    }
    *h = the_handle;
    pthread_mutex_unlock(&handle_lock);
    if (s != CUDNN_STATUS_SUCCESS)
        return dnn_fail(s, "cudnnCreate", err);
    return IOB_OK;
}

/* ---- descriptors --------------------------------------------------------------------------- */

typedef struct dnn_desc {
    cudnnTensorDescriptor_t x, y;
    cudnnFilterDescriptor_t w;
    cudnnConvolutionDescriptor_t conv;
} dnn_desc;

static void desc_free(dnn_desc *d)
{
    if (d->x)
        cudnnDestroyTensorDescriptor(d->x);
    if (d->y)
        cudnnDestroyTensorDescriptor(d->y);
    if (d->w)
        cudnnDestroyFilterDescriptor(d->w);
    if (d->conv)
        cudnnDestroyConvolutionDescriptor(d->conv);
    memset(d, 0, sizeof *d);
}

static iob_status desc_make_(const iob_layer *L, int tf32, dnn_desc *d, iob_error *err)
{
    if (L->pad_top != L->pad_bottom || L->pad_left != L->pad_right)
        return iob_error_set(err, IOB_ENOTSUP, "cuDNN's legacy API takes symmetric padding only "
                             "(pad_top=%lld, pad_bottom=%lld, pad_left=%lld, pad_right=%lld)",
                             (long long)L->pad_top, (long long)L->pad_bottom,
                             (long long)L->pad_left, (long long)L->pad_right);
    if (L->n * L->c * L->h * L->w > 2147483647LL || L->n * L->k * L->p * L->q > 2147483647LL)
        return iob_error_set(err, IOB_ENOTSUP, "cuDNN's 4-d descriptors take at most 2^31-1 "
                             "elements per tensor");
    DNN_TRY(cudnnCreateTensorDescriptor(&d->x), "cudnnCreateTensorDescriptor");
    DNN_TRY(cudnnCreateTensorDescriptor(&d->y), "cudnnCreateTensorDescriptor");
    DNN_TRY(cudnnCreateFilterDescriptor(&d->w), "cudnnCreateFilterDescriptor");
    DNN_TRY(cudnnCreateConvolutionDescriptor(&d->conv), "cudnnCreateConvolutionDescriptor");
    DNN_TRY(cudnnSetTensor4dDescriptor(d->x, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, (int)L->n,
                                       (int)L->c, (int)L->h, (int)L->w),
            "cudnnSetTensor4dDescriptor(x)");
    DNN_TRY(cudnnSetFilter4dDescriptor(d->w, CUDNN_DATA_FLOAT, CUDNN_TENSOR_NCHW, (int)L->k,
                                       (int)(L->c / L->groups), (int)L->r, (int)L->s),
            "cudnnSetFilter4dDescriptor");
    DNN_TRY(cudnnSetConvolution2dDescriptor(d->conv, (int)L->pad_top, (int)L->pad_left,
                                            (int)L->stride_h, (int)L->stride_w, (int)L->dil_h,
                                            (int)L->dil_w, CUDNN_CROSS_CORRELATION,
                                            CUDNN_DATA_FLOAT),
            "cudnnSetConvolution2dDescriptor");
    DNN_TRY(cudnnSetConvolutionGroupCount(d->conv, (int)L->groups),
            "cudnnSetConvolutionGroupCount");
    DNN_TRY(cudnnSetConvolutionMathType(d->conv, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH),
            "cudnnSetConvolutionMathType");
    int n, k, p, q;
    DNN_TRY(cudnnGetConvolution2dForwardOutputDim(d->conv, d->x, d->w, &n, &k, &p, &q),
            "cudnnGetConvolution2dForwardOutputDim");
    if (n != L->n || k != L->k || p != L->p || q != L->q)
        return iob_error_set(err, IOB_EGPU, "cuDNN's output shape %dx%dx%dx%d differs from the "
                             "layer's %lldx%lldx%lldx%lld", n, k, p, q, (long long)L->n,
                             (long long)L->k, (long long)L->p, (long long)L->q);
    DNN_TRY(cudnnSetTensor4dDescriptor(d->y, CUDNN_TENSOR_NCHW, CUDNN_DATA_FLOAT, n, k, p, q),
            "cudnnSetTensor4dDescriptor(y)");
    return IOB_OK;
}

static iob_status desc_make(const iob_layer *L, int tf32, dnn_desc *d, iob_error *err)
{
    memset(d, 0, sizeof *d);
    iob_status st = desc_make_(L, tf32, d, err);
    if (st)
        desc_free(d);
    return st;
}

static int algo_parse(const char *name)
{
    for (int i = 0; i < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; i++)
        if (!strcmp(name, algo_names[i]))
            return i;
    return -1;
}

/* ---- the search ---------------------------------------------------------------------------- */

typedef struct dnn_found {
    int n;
    cudnnConvolutionFwdAlgoPerf_t perf[2 * CUDNN_CONVOLUTION_FWD_ALGO_COUNT];
} dnn_found;

/* Every algorithm's result for the layer under the descriptor's math type, fastest first. */
static iob_status find_algos(iob_session *s, cudnnHandle_t h, const dnn_desc *d, dnn_found *f,
                             iob_error *err)
{
    memset(f, 0, sizeof *f);
    size_t ws = 0;
    for (int a = 0; a < CUDNN_CONVOLUTION_FWD_ALGO_COUNT; a++) {
        size_t b = 0;
        if (cudnnGetConvolutionForwardWorkspaceSize(h, d->x, d->w, d->conv, d->y,
                                                    (cudnnConvolutionFwdAlgo_t)a, &b) ==
                CUDNN_STATUS_SUCCESS &&
            b > ws)
            ws = b;
    }
    /* what fits: halve until the allocation passes the free-memory check; algorithms that need
     * more are reported by the search as failing with CUDNN_STATUS_ALLOC_FAILED */
    void *wsp = NULL;
    iob_status st = IOB_ENOMEM;
    while (ws && (st = iob_dev_alloc(&wsp, ws, "cuDNN search workspace", NULL)) == IOB_ENOMEM)
        ws /= 2;
    if (ws && st)
        return iob_dev_alloc(&wsp, ws, "cuDNN search workspace", err);
    int want = 0;
    cudnnStatus_t r = cudnnGetConvolutionForwardAlgorithmMaxCount(h, &want);
    if (r == CUDNN_STATUS_SUCCESS) {
        if (want > (int)(sizeof f->perf / sizeof f->perf[0]))
            want = (int)(sizeof f->perf / sizeof f->perf[0]);
        r = cudnnFindConvolutionForwardAlgorithmEx(h, d->x, s->x, d->w, s->w, d->conv, d->y, s->y,
                                                   want, &f->n, f->perf, wsp, ws);
    }
    iob_dev_free(wsp);
    if (r != CUDNN_STATUS_SUCCESS)
        return dnn_fail(r, "cudnnFindConvolutionForwardAlgorithmEx", err);
    return IOB_OK;
}

/* ---- the cuDNN job ------------------------------------------------------------------------- */

typedef struct dnn_job {
    dnn_desc d;
    cudnnHandle_t h;
    cudnnConvolutionFwdAlgo_t algo;
    void *ws;
    size_t ws_bytes;
} dnn_job;

static iob_status dnn_step(iob_job *j, int i, cudaStream_t st, iob_error *err)
{
    (void)i, (void)st; /* the handle is bound to the context's stream */
    dnn_job *p = j->impl;
    const float one = 1.0f, zero = 0.0f;
    DNN_TRY(cudnnConvolutionForward(p->h, &one, p->d.x, j->s->x, p->d.w, j->s->w, p->d.conv,
                                    p->algo, p->ws, p->ws_bytes, &zero, p->d.y, j->s->y),
            j->label);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return iob_cuda_fail(e, j->label, err);
    return IOB_OK;
}

static void dnn_release(iob_job *j)
{
    dnn_job *p = j->impl;
    if (!p)
        return;
    iob_dev_free(p->ws);
    desc_free(&p->d);
    free(p);
}

static const iob_job_ops dnn_ops = {NULL, dnn_step, dnn_release};

/* A job for algorithm `algo` (enum value) with the math type `math`. */
static iob_status dnn_job_make(iob_job *j, iob_session *s, int algo, int tf32,
                               cudnnMathType_t math, iob_error *err)
{
    memset(j, 0, sizeof *j);
    cudnnHandle_t h;
    iob_status st = get_handle(&h, err);
    if (st)
        return st;
    dnn_job *p = calloc(1, sizeof *p);
    if (!p)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    j->ops = &dnn_ops;
    j->impl = p;
    j->s = s;
    j->nsteps = 1;
    j->tolerance = iob_cudnn_tolerance(algo_names[algo], tf32);
    snprintf(j->label, sizeof j->label, "cudnn %s (%s)", algo_names[algo],
             tf32 ? "TF32 allowed" : "FMA");
    p->h = h;
    p->algo = (cudnnConvolutionFwdAlgo_t)algo;
    if ((st = desc_make(s->L, tf32, &p->d, err)))
        goto fail;
    cudnnStatus_t r = cudnnSetConvolutionMathType(p->d.conv, math);
    if (r != CUDNN_STATUS_SUCCESS) {
        st = dnn_fail(r, "cudnnSetConvolutionMathType", err);
        goto fail;
    }
    r = cudnnGetConvolutionForwardWorkspaceSize(h, p->d.x, p->d.w, p->d.conv, p->d.y, p->algo,
                                                &p->ws_bytes);
    if (r != CUDNN_STATUS_SUCCESS) {
        st = iob_error_set(err, IOB_ENOTSUP, "cuDNN %s does not take this layer: %s",
                           algo_names[algo], cudnnGetErrorString(r));
        goto fail;
    }
    if ((st = iob_dev_alloc(&p->ws, p->ws_bytes, "the cuDNN workspace", err)))
        goto fail;
    j->device_bytes = (int64_t)p->ws_bytes;
    return IOB_OK;
fail:
    iob_job_release(j);
    return st;
}

iob_status iob_job_cudnn(iob_job *j, iob_session *s, const char *algo, int tf32, iob_error *err)
{
    memset(j, 0, sizeof *j);
    if (algo && *algo) {
        int a = algo_parse(algo);
        if (a < 0)
            return iob_error_set(err, IOB_EINVAL, "unknown cuDNN algorithm '%s' (known: "
                                 "IMPLICIT_GEMM, IMPLICIT_PRECOMP_GEMM, GEMM, DIRECT, FFT, "
                                 "FFT_TILING, WINOGRAD, WINOGRAD_NONFUSED)", algo);
        return dnn_job_make(j, s, a, tf32, tf32 ? CUDNN_DEFAULT_MATH : CUDNN_FMA_MATH, err);
    }
    /* the fastest algorithm that runs with this math type */
    cudnnHandle_t h;
    dnn_desc d;
    dnn_found f;
    iob_status st = get_handle(&h, err);
    if (st || (st = desc_make(s->L, tf32, &d, err)))
        return st;
    st = find_algos(s, h, &d, &f, err);
    desc_free(&d);
    if (st)
        return st;
    for (int i = 0; i < f.n; i++)
        if (f.perf[i].status == CUDNN_STATUS_SUCCESS &&
            (tf32 || f.perf[i].mathType == CUDNN_FMA_MATH))
            return dnn_job_make(j, s, (int)f.perf[i].algo, tf32, f.perf[i].mathType, err);
    return iob_error_set(err, IOB_ENOTSUP, "no cuDNN algorithm runs this layer with %s math",
                         tf32 ? "default" : "FMA");
}

iob_status iob_cudnn_reference_output(iob_session *s, iob_error *err)
{
    if (s->cudnn_y)
        return IOB_OK;
    iob_job j;
    iob_status st = iob_job_cudnn(&j, s, "", 0, err);
    if (st)
        return st;
    iob_gpu_ctx *c;
    cudaError_t e = cudaSuccess;
    if (!(st = iob_gpu_ctx_get(&c, err)) && !(st = iob_session_poison(s, c->stream, err)) &&
        !(st = iob_job_run_steps(&j, c->stream, err))) {
        if ((e = cudaStreamSynchronize(c->stream)) != cudaSuccess)
            st = iob_cuda_fail(e, j.label, err);
    }
    if (!st && !(s->cudnn_y = malloc(s->y_bytes)))
        st = iob_error_set(err, IOB_ENOMEM, "out of memory");
    if (!st && ((e = cudaMemcpyAsync(s->cudnn_y, s->y, s->y_bytes, cudaMemcpyDeviceToHost,
                                     c->stream)) != cudaSuccess ||
                (e = cudaStreamSynchronize(c->stream)) != cudaSuccess))
        st = iob_cuda_fail(e, "cudaMemcpy (cuDNN output)", err);
    iob_job_release(&j);
    return st;
}

/* ---- all baselines ------------------------------------------------------------------------- */

static void result_init(iob_cudnn_result *r, int algo, int tf32)
{
    memset(r, 0, sizeof *r);
    snprintf(r->algo, sizeof r->algo, "%s", (unsigned)algo < CUDNN_CONVOLUTION_FWD_ALGO_COUNT ?
                                                algo_names[algo] : "?");
    r->tf32 = tf32;
    r->max_rel_err = -1;
}

iob_status iob_gpu_cudnn(const iob_layer *layer, const iob_run_opts *opts, iob_cudnn_result *out,
                         int max, int *count, iob_error *err)
{
    *count = 0;
    iob_run_opts o;
    if (opts)
        o = *opts;
    else
        iob_run_opts_default(&o);
    o.with_cudnn = 0; /* these are cuDNN's own outputs */
    opts = &o;
    iob_session own, *sp;
    iob_status st = iob_session_acquire(layer, opts, &own, &sp, err);
    if (st)
        return st;
    iob_session *const s = sp;
    cudnnHandle_t h;
    if ((st = get_handle(&h, err))) {
        iob_session_release(s, st);
        return st;
    }
    for (int tf32 = 0; tf32 < 2 && !st; tf32++) {
        dnn_desc d;
        dnn_found f;
        if ((st = desc_make(layer, tf32, &d, err)))
            break;
        st = find_algos(s, h, &d, &f, err);
        desc_free(&d);
        for (int i = 0; !st && i < f.n; i++) {
            /* with default math an algorithm may appear once per math type it supports */
            if (*count >= max)
                break;
            iob_cudnn_result *r = &out[(*count)++];
            result_init(r, (int)f.perf[i].algo, tf32);
            if (f.perf[i].status != CUDNN_STATUS_SUCCESS) {
                r->status = IOB_ENOTSUP;
                snprintf(r->message, sizeof r->message, "%s",
                         cudnnGetErrorString(f.perf[i].status));
                continue;
            }
            if (!tf32 && f.perf[i].mathType != CUDNN_FMA_MATH) {
                r->status = IOB_ENOTSUP;
                snprintf(r->message, sizeof r->message, "offered only with math type %d",
                         (int)f.perf[i].mathType);
                continue;
            }
            iob_job j;
            iob_error e;
            iob_run_result rr;
            r->status = dnn_job_make(&j, s, (int)f.perf[i].algo, tf32, f.perf[i].mathType, &e);
            if (!r->status) {
                r->workspace_bytes = j.device_bytes;
                r->status = iob_job_time(&j, opts, &rr, &e);
                iob_job_release(&j);
                if (!r->status || r->status == IOB_ECHECK) {
                    r->time_ms = rr.time_ms;
                    r->max_rel_err = opts->check ? rr.max_rel_err : -1;
                }
            }
            if (r->status)
                snprintf(r->message, sizeof r->message, "%.127s", e.msg);
            /* a sticky error ends the process's GPU work: stop and say so */
            if (r->status == IOB_EGPU && !strncmp(e.msg, "sticky error", 12)) {
                st = r->status;
                if (err)
                    *err = e;
            }
        }
    }
    iob_session_release(s, st);
    return st;
}
