/* cuda_cublas.c - cuBLAS in the GPU module: the GEMM launches of plans (iob_cublas_gemm: the
 * non-fused Winograd's alpha^2 GEMMs, gpu/host_wino_nonfused.c), and the im2col + cuBLAS SGEMM
 * reference path (`iobound run --algo im2col-cublas`): per chunk of images, the gather kernel (gpu/kernels/im2col_gather.cu) unfolds the input into a
 * column buffer, then one cublasSgemmStridedBatched per group multiplies it with the filter
 * (shapes and their derivation: gpu/host_im2col_cublas.h). FP32 only: the handle is set to
 * CUBLAS_PEDANTIC_MATH, which forbids TF32 and any reduced-precision path.
 * Steps of one run: gather(chunk 0), GEMM(chunk 0), gather(chunk 1), ... (the counters flush the
 * L2 before each). The column buffer is capped at 1 GiB or a quarter of the free memory.
 *
 * cuBLAS is opened with dlopen on first use rather than linked: loading libcublas and
 * libcublasLt (600 MB) costs 0.13 s at every start of the tool (measured: `iobound --version`
 * took 0.155 s linked, 0.02 s without), which every other command would pay for nothing.
 */
#include <cublas_v2.h>
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpu/cuda_internal.h"
#include "gpu/host_im2col_cublas.h"

static pthread_mutex_t handle_lock = PTHREAD_MUTEX_INITIALIZER;
static cublasHandle_t the_handle;

/* The few cuBLAS entry points used, from the library's soname. */
#define STR_(x) #x
#define STR(x) STR_(x)
#define CUBLAS_SONAME "libcublas.so." STR(CUBLAS_VER_MAJOR)
static struct {
    int tried, ok;
    char why[256];
    cublasStatus_t (*create)(cublasHandle_t *);
    cublasStatus_t (*destroy)(cublasHandle_t);
    cublasStatus_t (*set_stream)(cublasHandle_t, cudaStream_t);
    cublasStatus_t (*set_math_mode)(cublasHandle_t, cublasMath_t);
    cublasStatus_t (*sgemm_strided_batched)(cublasHandle_t, cublasOperation_t, cublasOperation_t,
                                            int, int, int, const float *, const float *, int,
                                            long long, const float *, int, long long,
                                            const float *, float *, int, long long, int);
} blas;

/* Called with handle_lock held. */
static int blas_open(void)
{
    if (blas.tried)
        return blas.ok;
    blas.tried = 1;
    void *h = dlopen(CUBLAS_SONAME, RTLD_NOW | RTLD_LOCAL);
    if (!h) {
        snprintf(blas.why, sizeof blas.why, "cannot load %s: %s", CUBLAS_SONAME, dlerror());
        return 0;
    }
    /* POSIX: a function pointer is fetched by copying dlsym's object pointer */
#define SYM(field, name)                                                                      \
    do {                                                                                      \
        void *p_ = dlsym(h, name);                                                            \
        if (!p_) {                                                                            \
            snprintf(blas.why, sizeof blas.why, "%s has no %s", CUBLAS_SONAME, name);         \
            return 0;                                                                         \
        }                                                                                     \
        memcpy(&blas.field, &p_, sizeof p_);                                                  \
    } while (0)
    SYM(create, "cublasCreate_v2");
    SYM(destroy, "cublasDestroy_v2");
    SYM(set_stream, "cublasSetStream_v2");
    SYM(set_math_mode, "cublasSetMathMode");
    SYM(sgemm_strided_batched, "cublasSgemmStridedBatched");
#undef SYM
    blas.ok = 1;
    return 1;
}

static const char *blas_status(cublasStatus_t s)
{
    switch (s) {
    case CUBLAS_STATUS_NOT_INITIALIZED: return "CUBLAS_STATUS_NOT_INITIALIZED";
    case CUBLAS_STATUS_ALLOC_FAILED: return "CUBLAS_STATUS_ALLOC_FAILED";
    case CUBLAS_STATUS_INVALID_VALUE: return "CUBLAS_STATUS_INVALID_VALUE";
    case CUBLAS_STATUS_ARCH_MISMATCH: return "CUBLAS_STATUS_ARCH_MISMATCH";
    case CUBLAS_STATUS_EXECUTION_FAILED: return "CUBLAS_STATUS_EXECUTION_FAILED";
    case CUBLAS_STATUS_NOT_SUPPORTED: return "CUBLAS_STATUS_NOT_SUPPORTED";
    default: return "cuBLAS error";
    }
}

static iob_status blas_fail(cublasStatus_t s, const char *what, iob_error *err)
{
    cudaError_t e = cudaPeekAtLastError();
    if (s == CUBLAS_STATUS_EXECUTION_FAILED && e != cudaSuccess)
        return iob_cuda_fail(e, what, err);
    return iob_error_set(err, IOB_EGPU, "%s: %s (%d)", what, blas_status(s), (int)s);
}

static iob_status get_handle(cublasHandle_t *h, iob_error *err)
{
    iob_gpu_ctx *c;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st)
        return st;
    pthread_mutex_lock(&handle_lock);
    if (!blas_open()) {
        pthread_mutex_unlock(&handle_lock);
        return iob_error_set(err, IOB_EGPU, "cuBLAS: %s", blas.why);
    }
    cublasStatus_t s = CUBLAS_STATUS_SUCCESS;
    if (!the_handle) {
        if ((s = blas.create(&the_handle)) == CUBLAS_STATUS_SUCCESS &&
            ((s = blas.set_stream(the_handle, c->stream)) != CUBLAS_STATUS_SUCCESS ||
             (s = blas.set_math_mode(the_handle, CUBLAS_PEDANTIC_MATH)) != CUBLAS_STATUS_SUCCESS)) {
            blas.destroy(the_handle);
            the_handle = NULL;
        }
    }
    *h = the_handle;
    pthread_mutex_unlock(&handle_lock);
    if (s != CUBLAS_STATUS_SUCCESS)
        return blas_fail(s, "cublasCreate", err);
    return IOB_OK;
}

iob_status iob_cublas_ready(iob_error *err)
{
    cublasHandle_t h;
    return get_handle(&h, err);
}

iob_status iob_cublas_gemm(const iob_gemm_call *g, void *const bufs[6], cudaStream_t s,
                           iob_error *err)
{
    cublasHandle_t h;
    iob_status st = get_handle(&h, err);
    if (st)
        return st;
    const int64_t lim = 2147483647;
    if (g->m > lim || g->n > lim || g->k > lim || g->lda > lim || g->ldb > lim || g->ldc > lim ||
        g->batch > lim)
        return iob_error_set(err, IOB_ERANGE, "cuBLAS GEMM dimensions exceed its int range");
    const float one = 1.0f, zero = 0.0f;
    pthread_mutex_lock(&handle_lock); /* the handle is shared: its stream is set per call */
    cublasStatus_t bs = blas.set_stream(h, s);
    if (bs == CUBLAS_STATUS_SUCCESS)
        bs = blas.sgemm_strided_batched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)g->m, (int)g->n,
                                        (int)g->k, &one, (const float *)bufs[g->a], (int)g->lda,
                                        g->stride_a, (const float *)bufs[g->b], (int)g->ldb,
                                        g->stride_b, &zero, (float *)bufs[g->c], (int)g->ldc,
                                        g->stride_c, (int)g->batch);
    pthread_mutex_unlock(&handle_lock);
    if (bs != CUBLAS_STATUS_SUCCESS)
        return blas_fail(bs, "cublasSgemmStridedBatched", err);
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return iob_cuda_fail(e, "cublasSgemmStridedBatched", err);
    return IOB_OK;
}

typedef struct blas_job {
    cublasHandle_t h;
    iob_im2col_gemm g;
    cudaKernel_t gather;
    iob_launch gather_launch; /* of chunk 0; n0 and nimg are set per step */
    float *col;
} blas_job;

static iob_status blas_step(iob_job *j, int i, cudaStream_t st, iob_error *err)
{
    blas_job *p = j->impl;
    const iob_layer *L = j->s->L;
    int64_t chunk = i / 2, n0 = chunk * p->g.images_per_chunk;
    int64_t nimg = L->n - n0 < p->g.images_per_chunk ? L->n - n0 : p->g.images_per_chunk;
    if (i % 2 == 0) {
        iob_launch l = p->gather_launch;
        l.args[2].i64 = n0;
        l.args[3].i64 = nimg;
        void *bufs[6] = {j->s->x, j->s->w, j->s->y, p->col, NULL, NULL};
        return iob_jit_launch(&l, p->gather, bufs, st, err);
    }
    const float one = 1.0f, zero = 0.0f;
    for (int64_t g = 0; g < p->g.groups; g++) {
        cublasStatus_t s = blas.sgemm_strided_batched(
            p->h, CUBLAS_OP_N, CUBLAS_OP_N, (int)p->g.m, (int)p->g.n, (int)p->g.k, &one,
            p->col + g * p->g.a_group, (int)p->g.lda, p->g.stride_a,
            j->s->w + g * p->g.b_group, (int)p->g.ldb, p->g.stride_b, &zero,
            j->s->y + n0 * p->g.c_image + g * p->g.c_group, (int)p->g.ldc, p->g.stride_c,
            (int)nimg);
        if (s != CUBLAS_STATUS_SUCCESS)
            return blas_fail(s, "cublasSgemmStridedBatched", err);
    }
    cudaError_t e = cudaGetLastError();
    if (e != cudaSuccess)
        return iob_cuda_fail(e, "cublasSgemmStridedBatched", err);
    return IOB_OK;
}

static void blas_release(iob_job *j)
{
    blas_job *p = j->impl;
    if (!p)
        return;
    iob_dev_free(p->col);
    free(p);
}

static const iob_job_ops blas_ops = {NULL, blas_step, blas_release};

iob_status iob_job_cublas(iob_job *j, iob_session *s, iob_error *err)
{
    memset(j, 0, sizeof *j);
    iob_gpu_ctx *c;
    cublasHandle_t h = NULL;
    iob_status st = iob_gpu_ctx_get(&c, err);
    if (st || (st = get_handle(&h, err)))
        return st;
    blas_job *p = calloc(1, sizeof *p);
    if (!p)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    j->ops = &blas_ops;
    j->impl = p;
    j->s = s;
    /* a recursive FP32 sum per output, like a direct kernel: same tolerance (plan of naive) */
    j->tolerance = 1e-4;
    snprintf(j->label, sizeof j->label, "im2col-cublas");
    p->h = h;
    size_t free_b = 0, total_b = 0;
    cudaError_t e = cudaMemGetInfo(&free_b, &total_b);
    if (e != cudaSuccess) {
        st = iob_cuda_fail(e, "cudaMemGetInfo", err);
        goto fail;
    }
    int64_t cap = (int64_t)1 << 30;
    if ((int64_t)(free_b / 4) < cap)
        cap = (int64_t)(free_b / 4);
    if ((st = iob_im2col_gemm_shape(s->L, cap, &p->g, err)) ||
        (st = iob_im2col_gather_launch(s->L, 0, p->g.images_per_chunk,
                                       c->prop.multiProcessorCount, &p->gather_launch, err)))
        goto fail;
    iob_compile_info info;
    if ((st = iob_jit_kernel(&p->gather_launch, &p->gather, &info, err)))
        goto fail;
    j->compile_ms = info.ms;
    j->cache_hits = info.cache_hit;
    j->cache_misses = !info.cache_hit;
    if ((st = iob_dev_alloc((void **)&p->col, (size_t)p->g.col_bytes, "the im2col buffer", err)))
        goto fail;
    j->device_bytes = p->g.col_bytes;
    j->nsteps = (int)(2 * p->g.chunks);
    return IOB_OK;
fail:
    iob_job_release(j);
    return st;
}
