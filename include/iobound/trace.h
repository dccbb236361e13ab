/* trace.h - the global-memory access stream of a config's kernels, generated block by block in
 * each kernel's own loop order at 32-byte sector granularity (the simulator's input).
 *
 * Address space: the tensors sit at fixed, 2 MiB-aligned base addresses (iob_trace_layout), so
 * sector boundaries fall where cudaMalloc'ed buffers put them. A block's stream lists, stage by
 * stage, the sectors that stage loads as the L2 sees them (distinct per stage where the loads are
 * merged in L1; per load instruction where they bypass L1, as the direct kernel's do:
 * docs/model.md), then the sectors it stores. The generator enumerates addresses one by one
 * (brute force), independently of the closed form in model/, which must agree with it exactly.
 */
#ifndef IOBOUND_TRACE_H
#define IOBOUND_TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "iobound/dataflow.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef struct iob_access {
    uint64_t addr;  /* byte address of a 32-byte sector (a multiple of 32) */
    uint8_t write;  /* 1 = store */
    uint8_t stage;  /* 0 = not in a pipeline stage (e.g. the final stores). Consecutive stages
                       must differ (e.g. 1 + s % 255): the simulator interleaves the resident
                       blocks one run of equal `stage` values at a time (sim/gpu_sim.c) */
} iob_access;

/* Receives a block's accesses in batches; returns nonzero to stop the generator. */
typedef struct iob_trace_sink {
    int (*emit)(void *ctx, const iob_access *a, size_t n);
    void *ctx;
} iob_trace_sink;

/* Base addresses of the tensors of a run. */
typedef struct iob_trace_layout {
    uint64_t input, filter, output, work[3];
} iob_trace_layout;

/* One kernel launch of a run: its blocks, in launch order (x fastest, then y, then z). */
typedef struct iob_trace_kernel {
    char name[48];
    int64_t blocks;
    int threads;
    int64_t smem_bytes;
    /* Emits block b's accesses (0 <= b < blocks) in program order. Returns IOB_OK, or an error;
     * stops early without error when the sink returns nonzero. */
    iob_status (*block)(const void *state, int64_t b, iob_trace_sink *sink, iob_error *err);
    const void *state;
} iob_trace_kernel;

#define IOB_TRACE_KERNELS_MAX 4

/* The kernels of one run of a config, in launch order. `state` memory is owned by the trace and
 * released by iob_trace_free(). */
typedef struct iob_trace {
    iob_trace_layout layout;
    int nkernels;
    iob_trace_kernel kernel[IOB_TRACE_KERNELS_MAX];
    void *owned[IOB_TRACE_KERNELS_MAX];
} iob_trace;

/* Places the tensors of a layer (and the config's workspaces) at 2 MiB-aligned addresses. */
void iob_trace_layout_default(const iob_layer *layer, const iob_resources *res,
                              iob_trace_layout *layout);

/* Builds the trace of a feasible config (sim/trace.c dispatches to sim/trace_<algo>.c). */
iob_status iob_trace_build(const iob_layer *layer, const iob_config *cfg, const iob_machine *m,
                           iob_trace *trace, iob_error *err);
void iob_trace_free(iob_trace *trace);

#ifdef __cplusplus
}
#endif

#endif
