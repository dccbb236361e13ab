/* cuda_internal.h - what the CUDA files of gpu/ share (internal; includes the CUDA runtime header,
 * so only gpu/cuda_*.c and gpu/counters.cpp include it).
 *
 * Vocabulary:
 *  - the context (cuda_device.c): the device, its properties, one stream, the L2 flush buffer,
 *    and the sticky-error state of the process;
 *  - a session (cuda_exec.c): one layer's buffers - inputs drawn from the seeded generator on the
 *    host and copied to the device, the output, and the FP64 reference of the checked outputs;
 *  - a job: one way of computing the layer on a session (a plan's kernels, a cuDNN algorithm, the
 *    im2col + cuBLAS path), as `prep` (once) and `nsteps` steps that make one run. A step is one
 *    kernel launch or one library call; the counters flush the L2 before each step.
 */
#ifndef IOB_GPU_CUDA_INTERNAL_H
#define IOB_GPU_CUDA_INTERNAL_H

#include <cuda_runtime.h>

#include "gpu/host_ref.h"
#include "iobound/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- context and errors (cuda_device.c) ---------------------------------------------------- */

typedef struct iob_gpu_ctx {
    int dev;
    struct cudaDeviceProp prop;
    int arch;                 /* 10 * major + minor */
    cudaStream_t stream;
    void *flush_buf;          /* 2 x L2, zero-filled */
    size_t flush_bytes;
    float *sink;
    cudaKernel_t flush_kernel;
    iob_launch flush_launch;
} iob_gpu_ctx;

/* The process's context, set up on first use (device 0 or $CUDA_VISIBLE_DEVICES's first).
 * IOB_ENODEV without a device, IOB_EGPU after a sticky error. */
iob_status iob_gpu_ctx_get(iob_gpu_ctx **ctx, iob_error *err);

/* Turns a failed CUDA call into IOB_EGPU "what: cudaErrorX: text". Errors that leave the context
 * unusable (illegal address, launch failure, trap, ...) are marked sticky: the message starts with
 * "sticky error" and every later call of the module fails at once, so that a caller restarts its
 * worker process (DESIGN.md, "Faults and files"). Non-sticky errors are cleared. */
iob_status iob_cuda_fail(cudaError_t e, const char *what, iob_error *err);
#define IOB_CUDA_TRY(call, what)                                                              \
    do {                                                                                      \
        cudaError_t e_ = (call);                                                              \
        if (e_ != cudaSuccess)                                                                \
            return iob_cuda_fail(e_, what, err);                                              \
    } while (0)

/* cudaMalloc after checking cudaMemGetInfo: IOB_ENOMEM "what needs X MB of device memory, Y MB
 * free" when bytes + a 64 MiB margin do not fit. *p = NULL for bytes = 0. */
iob_status iob_dev_alloc(void **p, size_t bytes, const char *what, iob_error *err);
/* iob_dev_alloc rounded up to whole 32-byte sectors, the bytes past `bytes` zeroed: for tensors
 * that kernels read in 16-byte pieces of sectors. */
iob_status iob_dev_alloc_sectors(void **p, size_t bytes, const char *what, iob_error *err);
void iob_dev_free(void *p);

/* Enqueues the L2 flush (a read of 2 x L2) on s. */
iob_status iob_gpu_flush(cudaStream_t s, iob_error *err);

/* A driver entry point through cudart (the binary never links libcuda), or NULL. */
void *iob_driver_entry(const char *symbol);

/* ---- compiled kernels (cuda_jit.c) ---------------------------------------------------------- */

/* The loaded kernel of a launch for the present device (compiled or taken from the caches). */
iob_status iob_jit_kernel(const iob_launch *l, cudaKernel_t *k, iob_compile_info *info,
                          iob_error *err);
/* Like iob_jit_kernel, but the kernel is never unloaded to make room: for handles a caller keeps
 * for the whole process (the L2 flush kernel of the context). */
iob_status iob_jit_kernel_pinned(const iob_launch *l, cudaKernel_t *k, iob_compile_info *info,
                                 iob_error *err);
/* Launches l with its grid, block, dynamic shared memory (the limit raised above 48 KB) and
 * arguments; bufs[IOB_BUF_*] are the device pointers. Checks the launch (cudaGetLastError). */
iob_status iob_jit_launch(const iob_launch *l, cudaKernel_t k, void *const bufs[6],
                          cudaStream_t s, iob_error *err);

/* ---- sessions and jobs (cuda_exec.c) -------------------------------------------------------- */

typedef struct iob_session {
    const iob_layer *L;
    iob_layer_counts counts;
    float *hx, *hw, *hy;      /* host: inputs and the copied-back output */
    float *x, *w, *y;         /* device */
    size_t x_bytes, w_bytes, y_bytes;
    int64_t y_elems;
    iob_ref ref;
    int have_ref;
    float *cudnn_y;           /* host: cuDNN's output when compared (with_cudnn), else NULL */
    int64_t device_bytes;
    /* a sampled reference and no cuDNN comparison: the checks scan and gather on the device
     * (gpu/kernels/check.cu) instead of copying the whole output back */
    int device_check;
    long long *d_idx;         /* the reference's indices */
    float *d_vals, *h_vals;   /* the gathered outputs */
    unsigned long long *d_scan; /* unwritten, first unwritten, non-finite, first non-finite */
    iob_launch scan_launch, gather_launch;
    cudaKernel_t scan_kernel, gather_kernel;
} iob_session;

/* Draws the inputs (seed), computes the reference (opts->check), allocates and fills the device
 * buffers. IOB_ENOMEM when the layer does not fit the device or the host. */
iob_status iob_session_open(iob_session *s, const iob_layer *L, const iob_run_opts *o,
                            iob_error *err);
void iob_session_close(iob_session *s);
/* The session of (L, o): the one kept from the last run of the same layer and options when there
 * is one, else a new one (kept for the next run); *s points to it, or to `own` when another
 * thread holds the kept one. Release with iob_session_release and the run's status (a failed run
 * closes the kept session). iob_session_cache_drop closes the kept session to free its memory
 * (before a session that is not kept, e.g. a profiled one). */
iob_status iob_session_acquire(const iob_layer *L, const iob_run_opts *o, iob_session *own,
                               iob_session **s, iob_error *err);
void iob_session_release(iob_session *s, iob_status result);
void iob_session_cache_drop(void);
/* Copies the output back and compares it with the reference (chk), then applies the verdict. */
iob_status iob_session_check(iob_session *s, const char *what, double tolerance,
                             iob_check *chk, iob_error *err);
/* Poisons the output (IOB_POISON_BITS in every element) on stream st. */
iob_status iob_session_poison(iob_session *s, cudaStream_t st, iob_error *err);

typedef struct iob_job iob_job;
typedef struct iob_job_ops {
    iob_status (*prep)(iob_job *j, cudaStream_t s, iob_error *err);          /* may be NULL */
    iob_status (*step)(iob_job *j, int i, cudaStream_t s, iob_error *err);
    void (*release)(iob_job *j);
} iob_job_ops;

struct iob_job {
    const iob_job_ops *ops;
    iob_session *s;
    void *impl;
    int nsteps;
    char label[160];
    double tolerance;
    double compile_ms;
    int cache_hits, cache_misses;
    int64_t device_bytes;     /* workspaces the job allocated */
};

/* Job constructors. Each allocates what it needs (checked against free memory). */
iob_status iob_job_plan(iob_job *j, iob_session *s, const iob_plan *plan, iob_error *err);
iob_status iob_job_cublas(iob_job *j, iob_session *s, iob_error *err);
/* cuBLAS loaded and its handle made (IOB_EGPU with the reason otherwise). */
iob_status iob_cublas_ready(iob_error *err);
/* A plan's cuBLAS launch (plan.h, iob_gemm_call) on stream s over the plan's buffers. */
iob_status iob_cublas_gemm(const iob_gemm_call *g, void *const bufs[6], cudaStream_t s,
                           iob_error *err);
/* algo "" = the fastest FMA-math algorithm found with cudnnFindConvolutionForwardAlgorithmEx */
iob_status iob_job_cudnn(iob_job *j, iob_session *s, const char *algo, int tf32, iob_error *err);
/* The job of any target. */
iob_status iob_job_for_target(iob_job *j, iob_session *s, const iob_gpu_target *t,
                              iob_error *err);
void iob_job_release(iob_job *j);

/* Runs the job's steps once on stream st (no poisoning, no flush). */
iob_status iob_job_run_steps(iob_job *j, cudaStream_t st, iob_error *err);
/* The timing protocol (docs/gpu.md): prep once (timed apart), warm-up, reps timed runs with the
 * output poisoned and the L2 flushed before each, every launch checked; the output of the first
 * and of the last run compared with the reference. */
iob_status iob_job_time(iob_job *j, const iob_run_opts *o, iob_run_result *r, iob_error *err);

/* cuDNN's output for the session's layer (the fastest FMA algorithm), into s->cudnn_y. */
iob_status iob_cudnn_reference_output(iob_session *s, iob_error *err);
/* Tolerance of a cuDNN algorithm (by name) under a math mode. */
double iob_cudnn_tolerance(const char *algo, int tf32);

/* ---- counters (counters.cpp: CUPTI Range Profiler) ------------------------------------------ */

/* One measured step: before(ctx) runs unprofiled (the steps before it and the L2 flush), then the
 * step itself runs profiled; both are repeated until the profiler has all its passes (AutoRange:
 * one range per kernel the step launches; UserReplay: we replay, so the step must be repeatable).
 * Writes up to max per-kernel counters; *n gets the number of kernels of the step. */
typedef iob_status (*iob_cupti_fn)(void *ctx, iob_error *err);
iob_status iob_cupti_measure_step(iob_cupti_fn before, iob_cupti_fn step, void *ctx,
                                  iob_counters *out, int max, int *n, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
