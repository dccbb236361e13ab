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
