/* im2col.c - im2col + GEMM: the unfolded buffer (C/G*R*S rows by N*P*Q columns per group,
 * padding zeros included) is written to memory by a gather and read back by a GEMM.
 *
 * Bound: the two kernels share no fast memory, so their bounds add: gather (read every used
 * input, write the buffer) + the GEMM bound of m = K/G, n = N*P*Q, k = C/G*R*S per group (all of
 * its multiply-adds are operations: the GEMM cannot know which buffer entries are padding).
 */
#include "model/bound_common.h"
#include "model/checked.h"

iob_status iob_bound_im2col(const iob_layer *L, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err)
{
    iob_layer_counts c;
    iob_status st = iob_bound_opts_check(opts, err);
    if (st || (st = iob_layer_counts_get(L, &c, err)))
        return st;
    uint64_t m, n, k, batch, col;
    iob_layer_gemm_shape(L, &m, &n, &k, &batch);
    uint64_t f[3] = {k, n, batch};
    if (iob_prod_overflow_u64(f, 3, &col))
        return iob_error_set(err, IOB_ERANGE, "the im2col buffer's size overflows 64 bits");
    iob_bound gemm;
    if ((st = iob_bound_gemm(m, n, k, batch, opts, &gemm, err)))
        return st;
    iob_bound_start(out, IOB_ALGO_IM2COL, "im2col+GEMM", opts);
    double gather = (double)c.input_used_elems + (double)col;
    out->flops = gemm.flops;
    out->ops = gemm.ops;
    out->rho = 1;
    out->workspace = (double)col;
    out->compulsory = gather + gemm.compulsory;
    out->leading = gemm.leading;
    out->reuse = gather + gemm.reuse;
    out->reuse_gpu = gather + gemm.reuse_gpu;
    out->bound = gather + gemm.bound;
    out->bound_gpu = gather + gemm.bound_gpu;
    out->segment_loads = gemm.segment_loads;
    iob_bound_add_term(out, "gather", 0, gather, gather);
    iob_bound_add_term(out, "GEMM", gemm.ops, gemm.compulsory, gemm.bound_gpu);
    snprintf(out->dominant, sizeof out->dominant, "%s",
             gemm.bound_gpu > gather
                 ? (gemm.reuse_gpu > gemm.compulsory ? "GEMM reuse" : "GEMM compulsory")
                 : "gather");
    return IOB_OK;
}

/* ---- the dataflow (docs/model.md, "im2col + GEMM") --------------------------------------------
 *
 * The gather (gpu/kernels/im2col.cu) writes col[n][g][(c', r, s)][p][q], padding taps as zeros;
 * the GEMM is the direct kernel on the derived layer
 *     N x (C*R*S) x P x Q input (= col), K x (C/G*R*S) x 1 x 1 filter, stride 1, no padding,
 *     G groups, output N x K x P x Q (= the layer's output),
 * whose filter [K][C/G*R*S][1][1] is the layer's [K][C/G][R][S] as it lies in memory (crs =
 * (c'*R + r)*S + s on both sides), so the direct kernel's own filter reorder is the only prep.
 * The config is the direct kernel's on the derived layer: tile_k x tile_p x tile_q output tiles,
 * tile_c channels of the derived layer (= (c', r, s) taps) per stage, and so on.
 */
#include "model/band_model.h"
#include "model/dataflow_algo.h"

static iob_status im2col_derive(const iob_layer *L, iob_layer *D, iob_error *err)
{
    int64_t crs;
    if (iob_mul_overflow_i64(L->c, L->r * L->s, &crs) || crs > INT32_MAX)
        return iob_error_set(err, IOB_ERANGE, "im2col: C*R*S = %lld*%lld*%lld channels of the "
                             "derived layer exceed 2^31 - 1", (long long)L->c, (long long)L->r,
                             (long long)L->s);
    *D = *L;
    D->c = crs;
    D->h = L->p;
    D->w = L->q;
    D->r = D->s = 1;
    D->stride_h = D->stride_w = 1;
    D->pad_top = D->pad_bottom = D->pad_left = D->pad_right = 0;
    D->dil_h = D->dil_w = 1;
    D->p = L->p;
    D->q = L->q;
    return IOB_OK;
}

const iob_band_algo iob_band_im2col = {IOB_ALGO_IM2COL, BM_IM2COL, im2col_derive, NULL};

static iob_status im2col_check(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                               iob_resources *res, iob_error *err)
{
    return iob_band_check(&iob_band_im2col, L, cfg, m, res, err);
}

static iob_status im2col_predict(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                 const iob_resources *res, iob_traffic *t, iob_error *err)
{
    return iob_band_predict(&iob_band_im2col, L, cfg, m, res, t, err);
}

static iob_status im2col_candidates(const iob_layer *L, const iob_machine *m, iob_config **out,
                                    size_t *count, iob_error *err)
{
    return iob_band_candidates(&iob_band_im2col, L, m, out, count, err);
}

const iob_dataflow_ops iob_dataflow_im2col = {
    .algo = IOB_ALGO_IM2COL,
    .check = im2col_check,
    .predict = im2col_predict,
    .candidates = im2col_candidates,
    .relaxed = NULL,
};
