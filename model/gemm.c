/* gemm.c - matrix multiplication C (m x n) = A (m x k) B (k x n), batch independent products: the
 * bound that anchors the theory. Leading term 2mnk/sqrt(S) (Smith et al. 2019), here with its
 * lower-order terms from the segment argument (model/pebble.c): for t = 2S it reads
 * Q >= 2mnk/sqrt(S) - 2S. A 1x1, stride-1, unpadded convolution is exactly this GEMM per group
 * with m = K/G, n = N*P*Q, k = C/G (iob_layer_gemm_shape).
 */
#include "model/bound_common.h"
#include "model/checked.h"

void iob_layer_gemm_shape(const iob_layer *L, uint64_t *m, uint64_t *n, uint64_t *k,
                          uint64_t *batch)
{
    *batch = (uint64_t)L->groups;
    *m = (uint64_t)(L->k / L->groups);
    *n = (uint64_t)L->n * (uint64_t)L->p * (uint64_t)L->q;
    *k = (uint64_t)(L->c / L->groups) * (uint64_t)L->r * (uint64_t)L->s;
}

iob_status iob_bound_gemm(uint64_t m, uint64_t n, uint64_t k, uint64_t batch,
                          const iob_bound_opts *opts, iob_bound *out, iob_error *err)
{
    iob_status st = iob_bound_opts_check(opts, err);
    if (st)
        return st;
    if (!m || !n || !k || !batch)
        return iob_error_set(err, IOB_EINVAL, "GEMM sizes must be positive (m=%llu n=%llu k=%llu "
                             "batch=%llu)", (unsigned long long)m, (unsigned long long)n,
                             (unsigned long long)k, (unsigned long long)batch);
    uint64_t f[4] = {m, n, k, batch}, ops, a[3] = {m, k, batch}, b[3] = {k, n, batch},
             cc[3] = {m, n, batch}, na, nb, nc;
    if (iob_prod_overflow_u64(f, 4, &ops) || iob_prod_overflow_u64(a, 3, &na) ||
        iob_prod_overflow_u64(b, 3, &nb) || iob_prod_overflow_u64(cc, 3, &nc))
        return iob_error_set(err, IOB_ERANGE, "GEMM counts overflow 64 bits");
    char variant[48];
    if (batch > 1)
        snprintf(variant, sizeof variant, "GEMM x%llu", (unsigned long long)batch);
    else
        snprintf(variant, sizeof variant, "GEMM");
    iob_bound_start(out, IOB_ALGO_GEMM, variant, opts);
    out->flops = 2.0 * (double)ops;
    out->compulsory = (double)na + (double)nb + (double)nc;
    iob_pebble pb = {
        .ops = (double)ops,
        .rho = 1,
        .cap = {(double)na, (double)nb, (double)nc},
        .fan = {(double)n, (double)m, (double)k},
        .unpaid = 0,
    };
    iob_bound_finish_pebble(out, &pb);
    return IOB_OK;
}
