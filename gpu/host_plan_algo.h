/* host_plan_algo.h - what gpu/host_<algo>.c provides to gpu/host_plan.c (internal). */
#ifndef IOB_GPU_HOST_PLAN_ALGO_H
#define IOB_GPU_HOST_PLAN_ALGO_H

#include "iobound/plan.h"

typedef struct iob_plan_builder {
    iob_algo algo;
    /* Fills plan for a config that iob_dataflow_check accepted (res = its resources). */
    iob_status (*build)(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                        const iob_resources *res, iob_plan *plan, iob_error *err);
} iob_plan_builder;

#endif
