/* sched_im2col.c - im2col + GEMM as two operation sequences (model/im2col.c bounds their sum).
 *
 * The unfolded buffer of group g has Cg*R*S rows (c, r, s) and N*P*Q columns (n, p, q):
 *     col[g][(c,r,s)][(n,p,q)] = in[n][g*Cg + c][p*stride_h + r*dil_h - pad_top][...]
 * (0 where the tap falls on padding), then per group out = w[g] (K/G x Cg*R*S) * col[g].
 */
#include <stdlib.h>

#include "sim/sched.h"

enum { GN, GC, GP, GQ, GR, GS };

typedef struct gather_ctx {
    const iob_layer *L;
    iob_opseq *seq;
    int32_t in0, col0;
} gather_ctx;

static iob_status gather_point(void *vctx, const int64_t *x, iob_error *err)
{
    gather_ctx *c = vctx;
    const iob_layer *L = c->L;
    int64_t cg = L->c / L->groups, g = x[GC] / cg, rows = cg * L->r * L->s;
    int64_t ncol = L->n * L->p * L->q;
    int64_t l = ((x[GC] % cg) * L->r + x[GR]) * L->s + x[GS];
    int64_t j = (x[GN] * L->p + x[GP]) * L->q + x[GQ];
    int32_t dst = c->col0 + (int32_t)((g * rows + l) * ncol + j);
    int64_t h = x[GP] * L->stride_h + x[GR] * L->dil_h - L->pad_top;
    int64_t w = x[GQ] * L->stride_w + x[GS] * L->dil_w - L->pad_left;
    if (h < 0 || h >= L->h || w < 0 || w >= L->w)
        return iob_opseq_push(c->seq, dst, -1, -1, err); /* a padding zero */
    int64_t ii = ((x[GN] * L->c + x[GC]) * L->h + h) * L->w + w;
    return iob_opseq_push(c->seq, dst, c->in0 + (int32_t)ii, -1, err);
}

static iob_status gather(const iob_layer *L, const iob_sched_im2col *cfg, iob_opseq *seq,
                         int64_t ncolbuf, iob_error *err)
{
    iob_nest nest = {.ndims = 6, .extent = {L->n, L->c, L->p, L->q, L->r, L->s}};
    int np;
    iob_status st = iob_nest_order(cfg->gather_order, "ncpqrs", 1, nest.point_order, &np, err);
    if (st)
        return st;
    gather_ctx c = {L, seq, 0, 0};
    if ((st = iob_opseq_elems(seq, L->n * L->c * L->h * L->w, &c.in0, err)) ||
        (st = iob_opseq_elems(seq, ncolbuf, &c.col0, err)))
        return st;
    for (int64_t e = 0; e < ncolbuf; e++)
        iob_opseq_mark_final(seq, c.col0 + (int32_t)e);
    return iob_nest_run(&nest, gather_point, &c, err);
}

static iob_status gemm_phase(const iob_layer *L, const iob_sched_im2col *cfg, iob_opseq *seq,
                             int64_t ncolbuf, iob_error *err)
{
    int64_t G = L->groups, kg = L->k / G, rows = (L->c / G) * L->r * L->s;
    int64_t pq = L->p * L->q, ncol = L->n * pq, nout = L->n * L->k * pq;
    int32_t w0, col0, out0;
    iob_status st;
    if ((st = iob_opseq_elems(seq, L->k * rows, &w0, err)) ||
        (st = iob_opseq_elems(seq, ncolbuf, &col0, err)) ||
        (st = iob_opseq_elems(seq, nout, &out0, err)))
        return st;
    for (int64_t e = 0; e < nout; e++)
        iob_opseq_mark_final(seq, out0 + (int32_t)e);
    int32_t *v = malloc((size_t)(2 * (kg + rows + ncol)) * sizeof *v);
    if (!v)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for im2col GEMM ids");
    int32_t *a_row = v, *a_col = a_row + kg, *b_row = a_col + rows, *b_col = b_row + rows,
            *c_row = b_col + ncol, *c_col = c_row + kg;
    for (int64_t l = 0; l < rows; l++)
        a_col[l] = (int32_t)l;
    for (int64_t j = 0; j < ncol; j++) {
        b_col[j] = (int32_t)j;
        c_col[j] = (int32_t)((j / pq) * L->k * pq + j % pq);
    }
    for (int64_t g = 0; g < G && !st; g++) {
        for (int64_t i = 0; i < kg; i++) {
            a_row[i] = w0 + (int32_t)((g * kg + i) * rows);
            c_row[i] = out0 + (int32_t)((g * kg + i) * pq);
        }
        for (int64_t l = 0; l < rows; l++)
            b_row[l] = col0 + (int32_t)((g * rows + l) * ncol);
        iob_gemm_ids ids = {a_row, a_col, b_row, b_col, c_row, c_col};
        st = iob_sched_gemm_append(kg, ncol, rows, &ids, &cfg->gemm, seq, err);
    }
    free(v);
    return st;
}

iob_status iob_sched_im2col_build(const iob_layer *L, const iob_sched_im2col *cfg, int phase,
                                  iob_opseq *seq, iob_error *err)
{
    int64_t ncolbuf = L->c * L->r * L->s * L->n * L->p * L->q; /* G groups of rows x cols */
    if (phase == 0)
        return gather(L, cfg, seq, ncolbuf, err);
    if (phase == 1)
        return gemm_phase(L, cfg, seq, ncolbuf, err);
    return iob_error_set(err, IOB_EINVAL, "im2col phase %d (expected 0 gather or 1 GEMM)", phase);
}
