/* plan.h - how a config becomes GPU work: the kernels to compile, their macros, grids and
 * arguments. Pure host logic (no CUDA header), so it builds and is unit-tested everywhere; the GPU
 * executor (gpu/cuda_exec.c) only follows a plan.
 *
 * Buffers: the executor owns the input (N,C,H,W), the filter (K,C/G,R,S) and the output (N,K,P,Q),
 * all FP32 NCHW-contiguous, plus up to IOB_PLAN_WORK workspaces whose sizes the plan gives.
 * `prep` launches run once per layer before timing (weights preprocessing: Winograd's filter
 * transform, im2win's filter reorder) and are timed separately; `launch` launches are the timed
 * run, in order, on one stream.
 *
 * Macros: every kernel gets the layer as LAYER_N, LAYER_C, LAYER_H, LAYER_W, LAYER_K, LAYER_R,
 * LAYER_S, LAYER_P, LAYER_Q, LAYER_STRIDE_H, LAYER_STRIDE_W, LAYER_PAD_TOP, LAYER_PAD_LEFT,
 * LAYER_DIL_H, LAYER_DIL_W, LAYER_GROUPS, and the config as its upper-cased keys (TILE_K, ...);
 * iob_plan_defines() writes them. A launch may add its own macros in `defines`.
 */
#ifndef IOBOUND_PLAN_H
#define IOBOUND_PLAN_H

#include <stdint.h>

#include "iobound/dataflow.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_PLAN_WORK 3
#define IOB_PLAN_LAUNCH_MAX 4
#define IOB_PLAN_ARGS_MAX 8

typedef enum iob_buf {
    IOB_BUF_INPUT = 0,
    IOB_BUF_FILTER,
    IOB_BUF_OUTPUT,
    IOB_BUF_WORK0,
    IOB_BUF_WORK1,
    IOB_BUF_WORK2
} iob_buf;

typedef enum iob_arg_kind { IOB_ARG_BUF = 0, IOB_ARG_I64, IOB_ARG_F32 } iob_arg_kind;

typedef struct iob_kernel_arg {
    iob_arg_kind kind;
    iob_buf buf;   /* IOB_ARG_BUF: a device pointer (float *) */
    int64_t i64;   /* IOB_ARG_I64 */
    float f32;     /* IOB_ARG_F32 */
} iob_kernel_arg;

/* A batched FP32 GEMM run by cuBLAS (cublasSgemmStridedBatched, CUBLAS_PEDANTIC_MATH: no TF32),
 * column-major as cuBLAS counts: C_i (m x n) = A_i (m x k) * B_i (k x n) for i < batch, with
 * A_i = buf a + i * stride_a (+ offset_a) and so on; no transposes, alpha = 1, beta = 0. */
typedef struct iob_gemm_call {
    int64_t m, n, k, lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c, batch;
    iob_buf a, b, c;
} iob_gemm_call;

typedef enum iob_launch_kind {
    IOB_LAUNCH_KERNEL = 0, /* one of our kernels, compiled through NVRTC */
    IOB_LAUNCH_SGEMM       /* a cuBLAS batched SGEMM (gemm below; file, entry are labels) */
} iob_launch_kind;

typedef struct iob_launch {
    iob_launch_kind kind;
    iob_gemm_call gemm;   /* IOB_LAUNCH_SGEMM */
    char file[32];        /* kernel source in gpu/kernels/, e.g. "direct.cu" */
    char entry[64];       /* extern "C" __global__ function name */
    char defines[4096];   /* "-DNAME=VALUE ..." (layer, config and launch macros) */
    uint32_t grid[3], block[3];
    int64_t smem_bytes;   /* dynamic shared memory */
    int nargs;
    iob_kernel_arg args[IOB_PLAN_ARGS_MAX];
} iob_launch;

typedef struct iob_plan {
    int nprep;
    iob_launch prep[IOB_PLAN_LAUNCH_MAX];
    int nlaunch;
    iob_launch launch[IOB_PLAN_LAUNCH_MAX];
    int64_t work_bytes[IOB_PLAN_WORK];
    /* a reference for the output check that is not the plain convolution (0 = convolution) */
    double tolerance;     /* max relative error the output may have against the FP64 reference */
} iob_plan;

/* 1 when the launch is one of our kernels (has a source to compile). */
static inline int iob_launch_is_kernel(const iob_launch *l) { return l->kind == IOB_LAUNCH_KERNEL; }

/* Builds the plan of a feasible config (gpu/host_plan.c dispatches to gpu/host_<algo>.c).
 * Fails like iob_dataflow_check, or IOB_ENOTSUP for an algorithm without a kernel. */
iob_status iob_plan_build(const iob_layer *layer, const iob_config *cfg, const iob_machine *m,
                          iob_plan *plan, iob_error *err);

/* 1 when iob_plan_build has a builder for algo (a gpu/host_<algo>.c registered in host_plan.c). */
int iob_plan_has_builder(iob_algo algo);

/* Writes the layer and config macros ("-DLAYER_N=1 ... -DTILE_K=64 ...") into buf; cfg = NULL
 * writes the layer macros only. Returns IOB_ERANGE if they do not fit. */
iob_status iob_plan_defines(const iob_layer *layer, const iob_config *cfg, char *buf,
                            size_t size, iob_error *err);

/* Sets a kernel launch (clearing the rest of *l): the source file and entry, the grid (gx, gy,
 * gz), the threads per block and the dynamic shared memory. IOB_EINFEASIBLE when the grid passes
 * CUDA's limits (2^31-1 blocks along x, 65535 along y and z). */
iob_status iob_launch_init(iob_launch *l, const char *file, const char *entry, int64_t gx,
                           int64_t gy, int64_t gz, int threads, int64_t smem_bytes,
                           iob_error *err);

/* Appends a buffer argument (the kernel's next parameter). */
void iob_launch_arg_buf(iob_launch *l, iob_buf b);

/* Appends " -DNAME=VALUE" to a launch's defines; IOB_ERANGE if it does not fit. */
iob_status iob_launch_define(iob_launch *l, const char *name, long long value, iob_error *err);

/* The plan of the naive kernel (gpu/kernels/naive.cu, gpu/host_naive.c): one thread per output
 * element, the correctness baseline of the GPU module. It is not one of the model's dataflows and
 * is not in the builders table of iob_plan_build (it takes no config); run it through
 * iob_gpu_run_target with an IOB_TARGET_REF (IOB_GPU_REF_NAIVE) or IOB_TARGET_PLAN target.
 * Tolerance 1e-4. Fails with IOB_ERANGE when the grid would exceed 2^31-1 blocks. */
iob_status iob_plan_naive(const iob_layer *layer, iob_plan *plan, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
