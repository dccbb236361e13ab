/* gpu.h - the GPU module: the present device, JIT-compiled kernels for any config, checked runs,
 * cuDNN baselines and hardware counters. Built only with IOB_WITH_CUDA; otherwise every function
 * here returns IOB_ENODEV with a one-line reason, so callers need no #ifdef.
 */
#ifndef IOBOUND_GPU_H
#define IOBOUND_GPU_H

#include <stdint.h>

#include "iobound/dataflow.h"
#include "iobound/layer.h"
#include "iobound/machine.h"

#ifdef __cplusplus
extern "C" {
#endif

/* 1 when this build has the GPU module (IOB_WITH_CUDA). */
int iob_gpu_built(void);

/* IOB_OK when a CUDA device can be used; IOB_ENODEV with the reason otherwise ("built without
 * CUDA", "no CUDA device: <driver message>"). */
iob_status iob_gpu_available(iob_error *err);

/* Fills m from the present GPU (cudaGetDeviceProperties): SMs, shared memory per SM and per block,
 * registers, L2, compute capability; bandwidth and FP32 rate from the matching preset when the
 * device is one we know (by name), else 0. */
iob_status iob_machine_query_device(iob_machine *m, iob_error *err);

/* ---- checked, timed runs (gpu/cuda_exec.c) ------------------------------------------------ */

typedef struct iob_run_opts {
    int warmup;        /* untimed runs first (default 3) */
    int reps;          /* timed runs; the median is reported (default 20, at least 1) */
    uint64_t seed;     /* inputs and filters drawn from this seed, never zeros (default 1) */
    int flush_l2;      /* read a buffer of twice the L2 before each timed run (default 1) */
    int check;         /* compare the output with the FP64 reference (default 1) */
    int check_samples; /* output elements compared when the full reference costs too much
                          (0 = automatic: all for small layers, a seeded sample otherwise) */
    int with_cudnn;    /* also compare the output with cuDNN's (default 0) */
} iob_run_opts;

/* The defaults above. */
void iob_run_opts_default(iob_run_opts *o);

typedef struct iob_run_result {
    double time_ms;              /* median of the timed runs (the plan's launches) */
    double time_ms_min, time_ms_max;
    int reps;
    double prep_ms;              /* once-per-layer preprocessing (plan prep launches), not in time_ms */
    double compile_ms;           /* NVRTC time spent (0 when every kernel came from the cache) */
    int cache_hits, cache_misses;
    double max_rel_err;          /* against the FP64 reference (docs: definition) */
    double max_rel_err_cudnn;    /* against cuDNN's output when with_cudnn (else -1) */
    double tolerance;            /* what the plan allows */
    int64_t checked_elems;
    double tflops;               /* the layer's FLOPs (2*N*K*P*Q*C/G*R*S) / time_ms */
    int64_t device_bytes;        /* device memory the run allocated */
} iob_run_result;

/* Compiles (or takes from the cache) the config's kernels, allocates and fills the buffers,
 * runs, checks and times. IOB_ECHECK when the output is wrong (result filled, message says
 * where), IOB_EGPU on a CUDA/NVRTC failure (message carries the error or the compile log's first
 * line), IOB_ENOMEM when the layer does not fit the device's free memory, IOB_ENODEV without GPU. */
iob_status iob_gpu_run(const iob_layer *layer, const iob_config *cfg, const iob_run_opts *opts,
                       iob_run_result *result, iob_error *err);

/* ---- cuDNN baselines (gpu/cuda_cudnn.c) -------------------------------------------------- */

typedef struct iob_cudnn_result {
    char algo[48];          /* "IMPLICIT_PRECOMP_GEMM", ... */
    int tf32;               /* 1: CUDNN_DEFAULT_MATH (TF32 allowed); 0: CUDNN_FMA_MATH (FP32) */
    iob_status status;      /* IOB_OK, or why this algorithm did not run */
    char message[128];
    double time_ms;         /* median, same protocol as iob_gpu_run */
    int64_t workspace_bytes;
    double max_rel_err;     /* against the FP64 reference */
} iob_cudnn_result;

/* Runs every forward algorithm cuDNN offers for the layer, FMA math and default (TF32) math,
 * timing each with iob_gpu_run's protocol. Writes up to max entries; *count gets the number. */
iob_status iob_gpu_cudnn(const iob_layer *layer, const iob_run_opts *opts, iob_cudnn_result *out,
                         int max, int *count, iob_error *err);

/* cudnnGetVersion() of the library that was loaded (0 without GPU module). */
long iob_gpu_cudnn_version(void);

/* ---- hardware counters (gpu/counters.cpp: CUPTI Range Profiler; gpu/host_ncu.c: ncu CSV) -- */

typedef struct iob_counters {
    char kernel[96];
    double dram_read_bytes, dram_write_bytes;       /* dram__bytes_read/write.sum */
    double l2_read_sectors, l2_write_sectors;       /* lts__t_sectors_srcunit_tex_op_read/write.sum */
    double l1_global_load_bytes;                    /* l1tex__t_bytes_pipe_lsu_mem_global_op_ld.sum */
    double smem_bytes;                              /* sm__sass_data_bytes_mem_shared.sum */
    double ffma;                                    /* sm__sass_thread_inst_executed_op_ffma_pred_on.sum */
    double duration_ns;                             /* gpu__time_duration.sum */
} iob_counters;

typedef enum iob_counter_via { IOB_VIA_CUPTI = 0, IOB_VIA_NCU = 1 } iob_counter_via;

/* Measures one run of the config (cfg = NULL: cuDNN's fastest FP32 algorithm) per kernel launch,
 * the L2 flushed by a read before each measured launch outside the measured range; the output is
 * checked after profiling. Writes up to max per-kernel entries and their sum. */
iob_status iob_gpu_measure(const iob_layer *layer, const iob_config *cfg,
                           const iob_run_opts *opts, iob_counter_via via, iob_counters *per_kernel,
                           int max, int *nkernels, iob_counters *sum, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
