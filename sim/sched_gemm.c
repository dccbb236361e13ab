/* sched_gemm.c - C (m x n) += A (m x k) B (k x n) as an operation sequence: every one of the
 * m*n*k products (model/gemm.c counts them all), visited by a tiled loop nest over m, n, k.
 * Element ids are separable (iob_gemm_ids) so that im2col and Winograd can lay their own tensors
 * under the same schedules. */
#include <stdlib.h>

#include "sim/sched.h"

typedef struct gemm_ctx {
    const iob_gemm_ids *ids;
    iob_opseq *seq;
} gemm_ctx;

static iob_status gemm_point(void *vctx, const int64_t *x, iob_error *err)
{
    gemm_ctx *c = vctx;
    const iob_gemm_ids *id = c->ids;
    int64_t i = x[0], j = x[1], l = x[2];
    return iob_opseq_push(c->seq, id->c_row[i] + id->c_col[j], id->a_row[i] + id->a_col[l],
                          id->b_row[l] + id->b_col[j], err);
}

iob_status iob_sched_gemm_append(int64_t m, int64_t n, int64_t k, const iob_gemm_ids *ids,
                                 const iob_sched_gemm *cfg, iob_opseq *seq, iob_error *err)
{
    iob_nest nest = {.ndims = 3, .extent = {m, n, k},
                     .tile = {cfg->tile_m, cfg->tile_n, cfg->tile_k}};
    int np;
    iob_status st = iob_nest_order(cfg->order, "mnk", 1, nest.point_order, &np, err);
    if (st || (st = iob_nest_order(cfg->tile_order, "mnk", 0, nest.tile_order, &nest.ntile,
                                   err)))
        return st;
    gemm_ctx c = {ids, seq};
    return iob_nest_run(&nest, gemm_point, &c, err);
}

iob_status iob_sched_gemm_build(int64_t m, int64_t n, int64_t k, const iob_sched_gemm *cfg,
                                iob_opseq *seq, iob_error *err)
{
    if (m <= 0 || n <= 0 || k <= 0)
        return iob_error_set(err, IOB_EINVAL, "GEMM %lldx%lldx%lld: sizes must be positive",
                             (long long)m, (long long)n, (long long)k);
    int32_t a0, b0, c0;
    iob_status st;
    if ((st = iob_opseq_elems(seq, m * k, &a0, err)) ||
        (st = iob_opseq_elems(seq, k * n, &b0, err)) ||
        (st = iob_opseq_elems(seq, m * n, &c0, err)))
        return st;
    int32_t *v = malloc((size_t)(2 * (m + n + k)) * sizeof *v);
    if (!v)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for GEMM ids");
    int32_t *a_row = v, *a_col = a_row + m, *b_row = a_col + k, *b_col = b_row + k,
            *c_row = b_col + n, *c_col = c_row + m;
    for (int64_t i = 0; i < m; i++) {
        a_row[i] = a0 + (int32_t)(i * k);
        c_row[i] = c0 + (int32_t)(i * n);
    }
    for (int64_t l = 0; l < k; l++) {
        a_col[l] = (int32_t)l;
        b_row[l] = b0 + (int32_t)(l * n);
    }
    for (int64_t j = 0; j < n; j++)
        b_col[j] = c_col[j] = (int32_t)j;
    iob_gemm_ids ids = {a_row, a_col, b_row, b_col, c_row, c_col};
    st = iob_sched_gemm_append(m, n, k, &ids, cfg, seq, err);
    for (int64_t e = 0; e < m * n; e++)
        iob_opseq_mark_final(seq, c0 + (int32_t)e);
    free(v);
    return st;
}
