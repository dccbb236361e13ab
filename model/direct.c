/* direct.c - direct convolution: its I/O lower bound (this section) and, below, the config space
 * and predicted traffic of our direct kernel's dataflow (docs/model.md).
 *
 * Bound (docs/bounds.md, section "Direct convolution"). Operations are the useful multiply-adds
 * (taps on padding are not operations). Operand classes: A = weights, B = inputs, C = outputs
 * (accumulators). A segment's operations E satisfy |E| <= sqrt(rho |A||B||C|) with
 *     rho = rho_h * rho_w,  rho_h = ceil(R / (stride_h / gcd(dil_h, stride_h)))
 * the largest number of taps that read one input position (Lemma 3; groups and padding keep it).
 * Fans: a weight serves at most N*P*Q operations, an input (K/G)*rho, an output (C/G)*R*S.
 * Leading term: 2 * MACs / sqrt(rho * S); for rho = 1 it is the GEMM bound 2mnk/sqrt(S).
 */
#include <math.h>

#include "model/bound_common.h"

iob_status iob_bound_direct(const iob_layer *L, const iob_bound_opts *opts, iob_bound *out,
                            iob_error *err)
{
    iob_layer_counts c;
    iob_status st = iob_bound_opts_check(opts, err);
    if (st || (st = iob_layer_counts_get(L, &c, err)))
        return st;
    iob_bound_start(out, IOB_ALGO_DIRECT, "direct", opts);
    out->flops = (double)c.flops;
    out->compulsory = (double)c.compulsory_elems;
    double rho = iob_axis_reuse(L->r, L->stride_h, L->dil_h) *
                 iob_axis_reuse(L->s, L->stride_w, L->dil_w);
    iob_pebble pb = {
        .ops = (double)c.useful_macs,
        .rho = rho,
        .cap = {(double)c.weight_elems, (double)c.input_used_elems, (double)c.output_elems},
        .fan = {(double)L->n * (double)L->p * (double)L->q,
                (double)(L->k / L->groups) * rho,
                (double)(L->c / L->groups) * (double)L->r * (double)L->s},
        .unpaid = 0,
    };
    iob_bound_finish_pebble(out, &pb);
    return IOB_OK;
}
