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

#ifdef __cplusplus
}
#endif

#endif
