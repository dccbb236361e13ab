/* host_naive.c - the plan of the naive kernel (gpu/kernels/naive.cu): one launch, one thread per
 * output element in blocks of 256, the layer's macros only. */
#include <string.h>

#include "iobound/plan.h"

#define NAIVE_THREADS 256

iob_status iob_plan_naive(const iob_layer *L, iob_plan *plan, iob_error *err)
{
    memset(plan, 0, sizeof *plan);
    iob_launch *l = &plan->launch[0];
    int64_t outputs = L->n * L->k * L->p * L->q;
    int64_t blocks = (outputs + NAIVE_THREADS - 1) / NAIVE_THREADS;
    if (blocks > 2147483647LL)
        return iob_error_set(err, IOB_ERANGE, "naive kernel: %lld outputs need more than 2^31-1 "
                             "blocks", (long long)outputs);
    iob_status st = iob_launch_init(l, "naive.cu", "iob_conv_naive", blocks, 1, 1, NAIVE_THREADS,
                                    0, err);
    if (st || (st = iob_plan_defines(L, NULL, l->defines, sizeof l->defines, err)))
        return st;
    iob_launch_arg_buf(l, IOB_BUF_INPUT);
    iob_launch_arg_buf(l, IOB_BUF_FILTER);
    iob_launch_arg_buf(l, IOB_BUF_OUTPUT);
    plan->nlaunch = 1;
    /* a recursive FP32 sum of T <= 4608 taps (the largest C/G*R*S of bench/layers) is within
     * gamma_T ~ T u = 2.7e-4 in the worst case and ~sqrt(T) u = 4e-6 typically (host_ref.h);
     * the target for direct kernels is 1e-4. */
    plan->tolerance = 1e-4;
    return IOB_OK;
}
