/* trace_algo.h - what sim/trace_<algo>.c provides to sim/trace.c (internal). */
#ifndef IOB_SIM_TRACE_ALGO_H
#define IOB_SIM_TRACE_ALGO_H

#include "iobound/trace.h"

typedef struct iob_trace_builder {
    iob_algo algo;
    /* Fills trace->nkernels, trace->kernel[] and trace->owned[] (layout already set). */
    iob_status (*build)(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                        const iob_resources *res, iob_trace *trace, iob_error *err);
} iob_trace_builder;

#endif
