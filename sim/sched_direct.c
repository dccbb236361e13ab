/* sched_direct.c - direct convolution as an operation sequence: one multiply-add per tap on a
 * real input (model/direct.c counts only those), visited by a tiled loop nest over
 * n, k, c, p, q, r, s (c within the group of k).
 *
 *   out[n][k][p][q] += w[k][c][r][s] * in[n][g*C/G + c][p*stride_h + r*dil_h - pad_top]
 *                                                    [q*stride_w + s*dil_w - pad_left],
 *   g = k / (K/G).
 */
#include <stdlib.h>

#include "sim/sched.h"

enum { DN, DK, DC, DP, DQ, DR, DS };

typedef struct direct_ctx {
    const iob_layer *L;
    iob_opseq *seq;
    int32_t w0, in0, out0;
    uint8_t *written; /* per output: reached by some tap */
} direct_ctx;

static iob_status direct_point(void *vctx, const int64_t *x, iob_error *err)
{
    direct_ctx *c = vctx;
    const iob_layer *L = c->L;
    int64_t h = x[DP] * L->stride_h + x[DR] * L->dil_h - L->pad_top;
    int64_t w = x[DQ] * L->stride_w + x[DS] * L->dil_w - L->pad_left;
    if (h < 0 || h >= L->h || w < 0 || w >= L->w)
        return IOB_OK; /* a tap on padding: not an operation */
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    int64_t ch = (x[DK] / kg) * cg + x[DC];
    int64_t wi = ((x[DK] * cg + x[DC]) * L->r + x[DR]) * L->s + x[DS];
    int64_t ii = ((x[DN] * L->c + ch) * L->h + h) * L->w + w;
    int64_t oi = ((x[DN] * L->k + x[DK]) * L->p + x[DP]) * L->q + x[DQ];
    c->written[oi] = 1;
    return iob_opseq_push(c->seq, c->out0 + (int32_t)oi, c->w0 + (int32_t)wi,
                          c->in0 + (int32_t)ii, err);
}

iob_status iob_sched_direct_build(const iob_layer *L, const iob_sched_direct *cfg,
                                  iob_opseq *seq, iob_error *err)
{
    iob_nest nest = {.ndims = 7};
    int n;
    iob_status st = iob_nest_order(cfg->order, "nkcpqrs", 1, nest.point_order, &n, err);
    if (st || (st = iob_nest_order(cfg->tile_order, "nkcpqrs", 0, nest.tile_order, &nest.ntile,
                                   err)))
        return st;
    for (int i = 0; i < nest.ntile; i++)
        if (nest.tile_order[i] == DN || nest.tile_order[i] >= DR)
            return iob_error_set(err, IOB_EINVAL, "tile loops '%s': only k, c, p, q are tiled",
                                 cfg->tile_order);
    int64_t ext[7] = {L->n, L->k, L->c / L->groups, L->p, L->q, L->r, L->s};
    for (int d = 0; d < 7; d++)
        nest.extent[d] = ext[d];
    nest.tile[DK] = cfg->tile_k;
    nest.tile[DC] = cfg->tile_c;
    nest.tile[DP] = cfg->tile_p;
    nest.tile[DQ] = cfg->tile_q;
    int64_t nw = L->k * (L->c / L->groups) * L->r * L->s, nin = L->n * L->c * L->h * L->w;
    int64_t nout = L->n * L->k * L->p * L->q;
    direct_ctx c = {L, seq, 0, 0, 0, NULL};
    if ((st = iob_opseq_elems(seq, nw, &c.w0, err)) ||
        (st = iob_opseq_elems(seq, nin, &c.in0, err)) ||
        (st = iob_opseq_elems(seq, nout, &c.out0, err)))
        return st;
    c.written = calloc((size_t)nout, 1);
    if (!c.written)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for %lld outputs", (long long)nout);
    st = iob_nest_run(&nest, direct_point, &c, err);
    for (int64_t o = 0; !st && o < nout; o++) {
        iob_opseq_mark_final(seq, c.out0 + (int32_t)o);
        if (!c.written[o]) /* every output is written, zero when all its taps are padding */
            st = iob_opseq_push(seq, c.out0 + (int32_t)o, -1, -1, err);
    }
    free(c.written);
    return st;
}
