/* im2win.c - im2win (Lu et al. 2023): a window transform writes, for every image, channel and
 * output row p, the R input rows it needs in window order, win[n][c][p][x][r] =
 * in_padded[n][c][p*stride_h + r*dil_h][x] for x over the padded width; then dot products read
 * each output's window as R*S elements (contiguous when dil_w = 1).
 *
 * Bound: transform (read used inputs, write the window tensor) + the dot products' segment bound.
 * In the dot products different r read different elements, so only the taps along w share
 * elements: rho = rho_w (Lemma 3 with the h axis unrolled). Padding columns are in the tensor and
 * are read like any element, so every multiply-add is an operation.
 */
#include "model/bound_common.h"
#include "model/checked.h"

iob_status iob_bound_im2win(const iob_layer *L, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err)
{
    iob_layer_counts c;
    iob_status st = iob_bound_opts_check(opts, err);
    if (st || (st = iob_layer_counts_get(L, &c, err)))
        return st;
    int64_t wp = L->w + L->pad_left + L->pad_right;
    uint64_t f[5] = {(uint64_t)L->n, (uint64_t)L->c, (uint64_t)L->p, (uint64_t)wp,
                     (uint64_t)L->r}, win;
    if (iob_prod_overflow_u64(f, 5, &win))
        return iob_error_set(err, IOB_ERANGE, "the im2win window tensor's size overflows 64 bits");
    /* window elements some dot product reads: columns x = q*stride_w + s*dil_w of the padded row */
    int64_t cols = iob_axis_used(wp, L->q, L->s, L->stride_w, L->dil_w, 0);
    double win_read = (double)L->n * (double)L->c * (double)L->p * (double)cols * (double)L->r;
    double rho = iob_axis_reuse(L->s, L->stride_w, L->dil_w);
    iob_bound_start(out, IOB_ALGO_IM2WIN, "im2win", opts);
    double transform = (double)c.input_used_elems + (double)win;
    double dot_compulsory = win_read + (double)c.weight_elems + (double)c.output_elems;
    iob_pebble pb = {
        .ops = (double)c.macs,
        .rho = rho,
        .cap = {(double)c.weight_elems, win_read, (double)c.output_elems},
        .fan = {(double)L->n * (double)L->p * (double)L->q, (double)(L->k / L->groups) * rho,
                (double)(L->c / L->groups) * (double)L->r * (double)L->s},
        .unpaid = 0,
    };
    iob_pebble_result r = iob_pebble_bound(&pb, opts->s_words, opts->processors);
    out->flops = (double)c.flops;
    out->ops = pb.ops;
    out->rho = rho;
    out->workspace = (double)win;
    out->compulsory = transform + dot_compulsory;
    out->leading = r.leading;
    out->reuse = transform + r.one;
    out->reuse_gpu = transform + r.gpu;
    double dot_one = r.one > dot_compulsory ? r.one : dot_compulsory;
    double dot_gpu = r.gpu > dot_compulsory ? r.gpu : dot_compulsory;
    out->bound = transform + dot_one;
    out->bound_gpu = transform + dot_gpu;
    out->segment_loads = r.t_one;
    iob_bound_add_term(out, "window transform", 0, transform, transform);
    iob_bound_add_term(out, "dot products", pb.ops, dot_compulsory, dot_gpu);
    snprintf(out->dominant, sizeof out->dominant, "%s",
             dot_gpu > transform ? (r.gpu > dot_compulsory ? "dot reuse" : "dot compulsory")
                                 : "window transform");
    return IOB_OK;
}

/* ---- the dataflow (docs/model.md, "im2win") ---------------------------------------------------
 *
 * The window transform (gpu/kernels/im2win.cu) writes win[n][c][p][x][r] =
 * in_padded[n][c][p*sh + r*dh][x] for x < Wp = W + pad_left + pad_right (zeros on padding); the
 * dot products are the direct kernel on the derived layer
 *     N x C x P x (Wp*R) input (= win), K x C/G x 1 x (R*S) filter with tap s' = s*R + r,
 *     stride (1, sw*R), no padding, dilation 1, G groups, output N x K x P x Q,
 * since output (p, q) reads win[.][p][q*sw + s][r] = win row p at (q*sw)*R + s*R + r. Its Q' =
 * floor((Wp*R - R*S) / (sw*R)) + 1 = floor((Wp - S)/sw) + 1 = Q. The filter is reordered once
 * per layer (a prep launch) straight into the direct kernel's workspace layout.
 */
#include "model/band_model.h"
#include "model/dataflow_algo.h"

static iob_status im2win_derive(const iob_layer *L, iob_layer *D, iob_error *err)
{
    if (L->dil_w != 1)
        return iob_error_set(err, IOB_EINFEASIBLE, "im2win needs dil_w = 1 (layer: %lld): with "
                             "dilation d the taps of a window row lie at r + s*d*R, not at one "
                             "stride, so no 1 x R*S filter of the derived layer reads them",
                             (long long)L->dil_w);
    int64_t wr, wp = L->w + L->pad_left + L->pad_right;
    if (iob_mul_overflow_i64(wp, L->r, &wr) || wr > INT32_MAX / 2 ||
        L->stride_w * L->r > INT32_MAX)
        return iob_error_set(err, IOB_ERANGE, "im2win: window rows of (W + pads) * R = %lld * %lld "
                             "floats exceed the kernels' 32-bit sizes", (long long)wp,
                             (long long)L->r);
    *D = *L;
    D->h = L->p;
    D->w = wr;
    D->r = 1;
    D->s = L->r * L->s;
    D->stride_h = 1;
    D->stride_w = L->stride_w * L->r;
    D->pad_top = D->pad_bottom = D->pad_left = D->pad_right = 0;
    D->dil_h = D->dil_w = 1;
    D->p = L->p;
    D->q = (D->w - D->s) / D->stride_w + 1;
    return IOB_OK;
}

/* The direct kernel unrolls its S taps: on the derived layer S' = R*S taps, and a step's patch
 * operands grow with S' * micro_p * micro_q. Measured with ptxas (sm_90, CUDA 13.0; docs/model.md,
 * "im2win": registers) on the time-best configs of bench/layers/im2win-12.csv and
 * gpu-layers.csv: every config above 128 either spilled (40 to 2500 bytes: S' = 9 with 4 x 4 x 4,
 * S' = 49 and 121 with 8 x 1 x 8) or took up to 2x the registers the model budgets; none at or
 * below 128 did. The space keeps those at or below. */
#define IM2WIN_PATCH_OPS_MAX 128

static int im2win_keep(const iob_layer *D, const iob_config *c)
{
    return D->s * c->micro_p * c->micro_q <= IM2WIN_PATCH_OPS_MAX;
}

const iob_band_algo iob_band_im2win = {IOB_ALGO_IM2WIN, BM_IM2WIN, im2win_derive, im2win_keep};

static iob_status im2win_check(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                               iob_resources *res, iob_error *err)
{
    return iob_band_check(&iob_band_im2win, L, cfg, m, res, err);
}

static iob_status im2win_predict(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                 const iob_resources *res, iob_traffic *t, iob_error *err)
{
    return iob_band_predict(&iob_band_im2win, L, cfg, m, res, t, err);
}

static iob_status im2win_candidates(const iob_layer *L, const iob_machine *m, iob_config **out,
                                    size_t *count, iob_error *err)
{
    return iob_band_candidates(&iob_band_im2win, L, m, out, count, err);
}

const iob_dataflow_ops iob_dataflow_im2win = {
    .algo = IOB_ALGO_IM2WIN,
    .check = im2win_check,
    .predict = im2win_predict,
    .candidates = im2win_candidates,
    .relaxed = NULL,
};
