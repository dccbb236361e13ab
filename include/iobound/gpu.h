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
#include "iobound/plan.h"

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
    double l2_read_sectors, l2_write_sectors;       /* lts__t_sectors_srcunit_tex_op_read/write.sum:
                                                       what the L2 slices counted (requests of
                                                       several SMs to one sector may be merged) */
    double l1_global_load_bytes;                    /* l1tex__t_bytes_pipe_lsu_mem_global_op_ld.sum */
    double smem_bytes;                              /* sm__sass_data_bytes_mem_shared.sum */
    double ffma;                                    /* sm__sass_thread_inst_executed_op_ffma_pred_on.sum */
    double duration_ns;                             /* gpu__time_duration.sum */
    double sm_read_sectors; /* l1tex__m_xbar2l1tex_read_sectors.sum: sectors the crossbar
                               delivered from L2 to the SMs' L1TEX, the SM side of the reads
                               and what the model predicts (docs/counters.md) */
} iob_counters;

typedef enum iob_counter_via { IOB_VIA_CUPTI = 0, IOB_VIA_NCU = 1 } iob_counter_via;

/* Measures one run of the config (cfg = NULL: cuDNN's fastest FP32 algorithm) per kernel launch,
 * the L2 flushed by a read before each measured launch outside the measured range; the output is
 * checked after profiling. Writes up to max per-kernel entries and their sum. */
iob_status iob_gpu_measure(const iob_layer *layer, const iob_config *cfg,
                           const iob_run_opts *opts, iob_counter_via via, iob_counters *per_kernel,
                           int max, int *nkernels, iob_counters *sum, iob_error *err);

/* ---- what to run: a config, a plan, a reference path or a cuDNN algorithm ------------------ */

/* Reference paths that are not dataflows of the model (docs/gpu.md): the naive kernel (one thread
 * per output, gpu/kernels/naive.cu) and im2col + cuBLAS SGEMM (gpu/cuda_cublas.c, FP32 with
 * CUBLAS_PEDANTIC_MATH, no TF32). */
typedef enum iob_gpu_ref { IOB_GPU_REF_NAIVE = 0, IOB_GPU_REF_IM2COL_CUBLAS, IOB_GPU_REF_COUNT } iob_gpu_ref;

/* "naive", "im2col-cublas". */
const char *iob_gpu_ref_name(iob_gpu_ref ref);
/* Parses one of the names above; IOB_EINVAL otherwise (message lists them). */
iob_status iob_gpu_ref_parse(const char *name, iob_gpu_ref *ref, iob_error *err);

/* Our kernel launches of a reference path for a layer (naive: its one kernel; im2col-cublas: the
 * gather of all images, the GEMMs being cuBLAS's), e.g. for compile checks. Writes up to max;
 * *n gets the count. Fails like iob_plan_naive. */
iob_status iob_gpu_ref_launches(const iob_layer *layer, iob_gpu_ref ref, int sm_count,
                                iob_launch *out, int max, int *n, iob_error *err);

typedef enum iob_target_kind {
    IOB_TARGET_CONFIG = 0, /* cfg: a dataflow config, built into a plan by iob_plan_build */
    IOB_TARGET_PLAN,       /* plan: any plan (tests, the tuner) */
    IOB_TARGET_REF,        /* ref: a reference path */
    IOB_TARGET_CUDNN       /* cudnn_algo ("" = the fastest FMA-math algorithm), tf32 */
} iob_target_kind;

typedef struct iob_gpu_target {
    iob_target_kind kind;
    iob_config cfg;
    const iob_plan *plan;  /* not owned */
    iob_gpu_ref ref;
    char cudnn_algo[48];   /* "IMPLICIT_PRECOMP_GEMM", ... as in iob_cudnn_result.algo */
    int tf32;              /* cuDNN: 1 = CUDNN_DEFAULT_MATH (TF32 allowed), 0 = CUDNN_FMA_MATH */
} iob_gpu_target;

/* A one-line label: "algo=direct,tile_k=64,...", "naive", "cudnn IMPLICIT_GEMM (FMA)", ... */
int iob_gpu_target_label(const iob_gpu_target *t, char *buf, size_t size);

/* iob_gpu_run for any target (iob_gpu_run(cfg) is the IOB_TARGET_CONFIG case). A cuDNN target
 * is timed with the same protocol; its tolerance is that of iob_gpu_cudnn. */
iob_status iob_gpu_run_target(const iob_layer *layer, const iob_gpu_target *target,
                              const iob_run_opts *opts, iob_run_result *result, iob_error *err);

/* iob_gpu_measure for any target (iob_gpu_measure(cfg) is the IOB_TARGET_CONFIG case, cfg = NULL
 * the IOB_TARGET_CUDNN case with cudnn_algo ""). sum->kernel gets the target's label. With
 * IOB_VIA_NCU the program re-runs itself under Nsight Compute: `$IOB_NCU` (default `ncu` on the
 * PATH) runs `$IOBOUND_EXE` (default /proc/self/exe when that is the iobound tool) with the
 * hidden `run --ncu-child` option (docs/gpu.md, "ncu fallback"). */
iob_status iob_gpu_measure_target(const iob_layer *layer, const iob_gpu_target *target,
                                  const iob_run_opts *opts, iob_counter_via via,
                                  iob_counters *per_kernel, int max, int *nkernels,
                                  iob_counters *sum, iob_error *err);

/* ---- kernel compilation (gpu/cuda_jit.c; cache: gpu/host_cache.c) ----------------------- */

typedef struct iob_compile_info {
    double ms;           /* NVRTC time; 0 when the cubin came from the cache */
    int cache_hit;
    size_t cubin_bytes;
    int arch;            /* the SM version compiled for: 90 = sm_90 */
    char key[65];        /* the cache key (SHA-256, hex) */
} iob_compile_info;

/* Compiles the file of one launch with its macros for arch (90 = sm_90; 0 = the present
 * device's) through NVRTC into a cubin, or takes it from the on-disk cache ($IOB_CACHE_DIR, else
 * $XDG_CACHE_HOME/iobound, else ~/.cache/iobound). Needs no GPU when arch > 0. Fails with
 * IOB_EGPU carrying the first error line of NVRTC's log (the whole log: iob_gpu_compile_log()),
 * IOB_EINVAL for a file that is not embedded, IOB_ENODEV without the GPU module (or arch 0
 * without a GPU). A cache that cannot be written is not an error. */
iob_status iob_gpu_compile(const iob_launch *launch, int arch, iob_compile_info *info,
                           iob_error *err);

/* Compiles n launches in parallel (OpenMP threads). st[i] and info[i] (and errs[i] when errs is
 * not NULL) describe launch i. Returns IOB_OK when every launch compiled, else the status of the
 * first failure (lowest i) with its message in err. */
iob_status iob_gpu_compile_many(const iob_launch *launches, int n, int arch,
                                iob_compile_info *info, iob_status *st, iob_error *errs,
                                iob_error *err);

/* The full NVRTC log of the last failed compilation in the calling thread ("" if none). */
const char *iob_gpu_compile_log(void);

/* The kernel sources embedded in this build (gpu/kernels/ *.cu and *.cuh, in name order): their
 * number, and the name and size in bytes of the i-th (NULL past the end). */
int iob_gpu_kernel_file_count(void);
const char *iob_gpu_kernel_file(int i, size_t *bytes);

/* NVRTC's version. IOB_ENODEV without the GPU module. */
iob_status iob_gpu_nvrtc_version(int *major, int *minor, iob_error *err);

/* ---- counters: metric names and Nsight Compute CSV files (gpu/host_ncu.c, no GPU needed) - */

/* The metrics behind iob_counters, in field order ("dram__bytes_read.sum", ...). */
int iob_counter_metric_count(void);
const char *iob_counter_metric_name(int i);

/* Reads an Nsight Compute raw-page CSV (`ncu --csv --page raw`, with or without --log-file):
 * one row per profiled kernel launch, values quoted with thousands separators, the second row
 * holding units (byte/Kbyte/Mbyte..., nsecond/usecond/msecond...), which are converted to bytes,
 * counts and nanoseconds. Metrics the file lacks are NAN. Writes up to max kernels in file order;
 * *count gets how many the file holds. IOB_EIO when the file cannot be read, IOB_EINVAL for a
 * malformed file (the message names the line), or one without any metric of iob_counters. */
iob_status iob_ncu_parse_file(const char *path, iob_counters *out, int max, int *count,
                              iob_error *err);
iob_status iob_ncu_parse_text(const char *text, const char *label, iob_counters *out, int max,
                              int *count, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
