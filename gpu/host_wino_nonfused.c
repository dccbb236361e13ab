/* host_wino_nonfused.c - the launch plan of a non-fused Winograd config (docs/model.md,
 * "Winograd, non-fused"; kernels in gpu/kernels/wino_nonfused.cu):
 *
 *   prep    wnf_filter   filter -> WORK0 = U [a2][K][C]
 *   launch  wnf_input    input -> WORK1 = V [a2][C][T]
 *           cuBLAS       WORK2 = M [a2][K][T] = U x V, a2 GEMMs (one strided-batched call)
 *           wnf_output   WORK2 -> output
 *
 * The GEMMs in cuBLAS's column-major terms: a row-major K x T matrix is a column-major T x K
 * one, so M_xi^T (T x K) = V_xi^T (T x C) U_xi^T (C x K): m = T, n = K, k = C, A = V (lda = T),
 * B = U (ldb = C), C = M (ldc = T), strides one matrix apart. Pure C, no CUDA header.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/host_plan_algo.h"
#include "model/wino_nonfused.h"

/* F(2x2) and F(4x4) transforms are the fused kernel's (same matrices and rule); the GEMM sums
 * over C in cuBLAS's order: the fused kernel's tolerances (gpu/host_winograd.c). */
#define WNF_TOL_F2 1e-4
#define WNF_TOL_F4 2e-5

static iob_status kernel_launch(iob_launch *l, const char *entry, const char *defines,
                                int64_t items, iob_buf in, iob_buf out, iob_error *err)
{
    iob_status st = iob_launch_init(l, "wino_nonfused.cu", entry,
                                    (items + IOB_WNF_THREADS - 1) / IOB_WNF_THREADS, 1, 1,
                                    IOB_WNF_THREADS, 0, err);
    if (st)
        return st;
    memcpy(l->defines, defines, strlen(defines) + 1); /* from a launch's defines: it fits */
    iob_launch_arg_buf(l, in);
    iob_launch_arg_buf(l, out);
    return IOB_OK;
}

static iob_status build(const iob_layer *L, const iob_config *c, const iob_machine *m,
                        const iob_resources *res, iob_plan *plan, iob_error *err)
{
    (void)m;
    (void)res;
    iob_wnf_geom g;
    iob_status st = iob_wnf_geom_make(L, c, &g, err);
    if (st)
        return st;
    iob_launch tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.entry, sizeof tmp.entry, "wnf_input");
    if ((st = iob_plan_defines(L, c, tmp.defines, sizeof tmp.defines, err)) ||
        (st = iob_wino_transform_defines(&tmp, g.m, err)))
        return st;
    plan->work_bytes[0] = 4 * g.u_elems;
    plan->work_bytes[1] = 4 * g.v_elems;
    plan->work_bytes[2] = 4 * g.m_elems;
    plan->nprep = 1;
    if ((st = kernel_launch(&plan->prep[0], "wnf_filter", tmp.defines, g.filter_items,
                            IOB_BUF_FILTER, IOB_BUF_WORK0, err)))
        return st;
    plan->nlaunch = 3;
    if ((st = kernel_launch(&plan->launch[0], "wnf_input", tmp.defines, g.input_items,
                            IOB_BUF_INPUT, IOB_BUF_WORK1, err)) ||
        (st = kernel_launch(&plan->launch[2], "wnf_output", tmp.defines, g.output_items,
                            IOB_BUF_WORK2, IOB_BUF_OUTPUT, err)))
        return st;
    iob_launch *gm = &plan->launch[1];
    memset(gm, 0, sizeof *gm);
    gm->kind = IOB_LAUNCH_SGEMM;
    snprintf(gm->entry, sizeof gm->entry, "cublasSgemmStridedBatched");
    gm->gemm = (iob_gemm_call){.m = g.t, .n = L->k, .k = L->c, .lda = g.t, .ldb = L->c,
                               .ldc = g.t, .stride_a = L->c * g.t, .stride_b = L->k * L->c,
                               .stride_c = L->k * g.t, .batch = g.a2, .a = IOB_BUF_WORK1,
                               .b = IOB_BUF_WORK0, .c = IOB_BUF_WORK2};
    plan->tolerance = g.m == 2 ? WNF_TOL_F2 : WNF_TOL_F4;
    return IOB_OK;
}

const iob_plan_builder iob_plan_wino_nonfused = {IOB_ALGO_WINOGRAD_NONFUSED, build};
