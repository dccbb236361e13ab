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

/* Appends the Winograd F(m x m, 3 x 3) transform macros every Winograd kernel file needs
 * (gpu/kernels/wino_transform.cuh): the matrices WBT<i>, WAT<i>, WG<i> and the paired term
 * rule's codes (gpu/host_winograd.c). */
iob_status iob_wino_transform_defines(iob_launch *l, int m, iob_error *err);

#endif
