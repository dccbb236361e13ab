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
