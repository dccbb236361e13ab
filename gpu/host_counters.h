/* host_counters.h - the hardware metrics behind iob_counters, shared by the CUPTI wrapper
 * (gpu/counters.cpp) and the Nsight Compute CSV parser (gpu/host_ncu.c); internal to gpu/.
 * Meaning of each metric and how it maps to the model's levels: docs/counters.md. */
#ifndef IOB_GPU_HOST_COUNTERS_H
#define IOB_GPU_HOST_COUNTERS_H

#include <stddef.h>

#include "iobound/gpu.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum iob_metric_kind { IOB_METRIC_BYTES, IOB_METRIC_COUNT, IOB_METRIC_TIME_NS } iob_metric_kind;

typedef struct iob_metric {
    const char *name;      /* "dram__bytes_read.sum" */
    size_t offset;         /* of its double inside iob_counters */
    iob_metric_kind kind;  /* the unit it is stored in: bytes, a plain count, nanoseconds */
} iob_metric;

#define IOB_NMETRICS 9
extern const iob_metric iob_metrics[IOB_NMETRICS];

/* The field of metric i inside c. */
double *iob_counters_at(iob_counters *c, int i);
/* sum += c, metric by metric (the kernel name is left alone). */
void iob_counters_add(iob_counters *sum, const iob_counters *c);

#ifdef __cplusplus
}
#endif

#endif
