/* wino_nonfused.c - the non-fused Winograd dataflow (docs/model.md, "Winograd, non-fused"): the
 * input transform writes V [a2][C][T], cuBLAS multiplies U [a2][K][C] by V into M [a2][K][T] as
 * a2 = (m+2)^2 GEMMs, the output transform reads M. The config space is F(2x2) and F(4x4); the
 * kernels' own accesses are counted exactly (transform reads and writes, as bytes and as the
 * sectors of whole warps), cuBLAS's are an estimate (its tiles are its own: 128 x 128 assumed).
 * The bound is Winograd's stored variant (model/winograd.c, iob_bound_winograd with fused = 0).
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "model/checked.h"
#include "model/dataflow_algo.h"
#include "model/wino_nonfused.h"
#include "model/winograd_dataflow.h"

#define WNF_LAUNCH_S 3e-6 /* per launch, as the fused model's */
#define WNF_GEMM_TILE 128 /* the cuBLAS tile assumed for its re-reads */

iob_status iob_wnf_geom_make(const iob_layer *L, const iob_config *c, iob_wnf_geom *g,
                             iob_error *err)
{
    memset(g, 0, sizeof *g);
    if (c->algo != IOB_ALGO_WINOGRAD_NONFUSED)
        return iob_error_set(err, IOB_EINVAL, "not a winograd-nonfused config");
    if (c->wino_m != 2 && c->wino_m != 4)
        return iob_error_set(err, IOB_EINVAL, "winograd-nonfused: wino_m must be 2 or 4 (got %d)",
                             c->wino_m);
    if (c->tile_k || c->tile_p || c->tile_q || c->tile_c || c->micro_k || c->micro_p ||
        c->micro_q || c->tile_n || c->layout || c->stages != 1 || c->split_c != 1)
        return iob_error_set(err, IOB_EINVAL, "winograd-nonfused takes only wino_m (its GEMM "
                             "is cuBLAS's; stages = split_c = 1)");
    if (L->r != 3 || L->s != 3)
        return iob_error_set(err, IOB_EINFEASIBLE, "winograd-nonfused: only 3x3 filters (this "
                             "layer: %lldx%lld)", (long long)L->r, (long long)L->s);
    if (L->stride_h != 1 || L->stride_w != 1 || L->dil_h != 1 || L->dil_w != 1)
        return iob_error_set(err, IOB_EINFEASIBLE, "winograd-nonfused: stride 1 and no dilation "
                             "only");
    if (L->groups != 1)
        return iob_error_set(err, IOB_EINFEASIBLE, "winograd-nonfused: one group only (%lld)",
                             (long long)L->groups);
    g->m = c->wino_m;
    g->alpha = g->m + 2;
    g->a2 = g->alpha * g->alpha;
    g->tp = iob_ceil_div(L->p, g->m);
    g->tq = iob_ceil_div(L->q, g->m);
    const double lim = 2147483647.0;
    double t = (double)L->n * (double)g->tp * (double)g->tq;
    /* cuBLAS takes int sizes and leading dimensions; the kernels index with 64 bits */
    if (t > lim || (double)L->k > lim || (double)L->c > lim ||
        (double)g->a2 * fmax((double)L->c, (double)L->k) * fmax(t, (double)L->k) > 4.6e18)
        return iob_error_set(err, IOB_EINFEASIBLE, "winograd-nonfused: %.0f tiles x %lld "
                             "channels exceed cuBLAS's int range", t,
                             (long long)(L->c > L->k ? L->c : L->k));
    g->t = (int64_t)t;
    g->u_elems = g->a2 * L->k * L->c;
    g->v_elems = g->a2 * L->c * g->t;
    g->m_elems = g->a2 * L->k * g->t;
    g->filter_items = L->k * L->c;
    g->input_items = L->c * g->t;
    g->output_items = L->k * g->t;
    return IOB_OK;
}

static iob_status wnf_check(const iob_layer *L, const iob_config *c, const iob_machine *m,
                            iob_resources *res, iob_error *err)
{
    iob_wnf_geom g;
    iob_status st = iob_wnf_geom_make(L, c, &g, err);
    if (st)
        return st;
    int bps = m->threads_per_sm_max / IOB_WNF_THREADS;
    if (bps > m->blocks_per_sm_max)
        bps = m->blocks_per_sm_max;
    res->threads = IOB_WNF_THREADS;
    res->smem_bytes = 0;
    res->regs_per_thread = g.m == 2 ? 40 : 72; /* the transforms' arrays; not ptxas-checked */
    res->blocks_per_sm = bps < 1 ? 1 : bps;
    int64_t items = g.input_items > g.output_items ? g.input_items : g.output_items;
    res->grid_blocks = iob_ceil_div(items, IOB_WNF_THREADS);
    res->waves = iob_ceil_div(res->grid_blocks, (int64_t)res->blocks_per_sm * m->sm_count);
    res->occupancy = (double)res->blocks_per_sm * IOB_WNF_THREADS / m->threads_per_sm_max;
    res->workspace_bytes = 4 * (g.u_elems + g.v_elems + g.m_elems);
    res->kernels = 3; /* timed: input transform, GEMM, output transform */
    return IOB_OK;
}

/* Input rows the input transform reads per (image, channel): each tile row reads its alpha
 * rows that lie in the image. */
static int64_t input_rows(const iob_layer *L, const iob_wnf_geom *g)
{
    int64_t rows = 0;
    for (int64_t tp = 0; tp < g->tp; tp++) {
        int64_t h0 = tp * g->m - L->pad_top, h1 = h0 + g->alpha;
        h0 = h0 < 0 ? 0 : h0;
        h1 = h1 > L->h ? L->h : h1;
        rows += h1 > h0 ? h1 - h0 : 0;
    }
    return rows;
}

static iob_status wnf_predict(const iob_layer *L, const iob_config *c, const iob_machine *mach,
                              const iob_resources *res, iob_traffic *t, iob_error *err)
{
    iob_wnf_geom g;
    iob_status st = iob_wnf_geom_make(L, c, &g, err);
    if (st)
        return st;
    double sb = mach->sector_bytes;
    /* the kernels: an input row is read whole (a warp's tiles cover neighbouring columns and
     * L1 keeps them for the block), V and M rows are written and read contiguously, the outputs
     * inside the image written once */
    double row_sectors = ceil(4.0 * (double)L->w / sb);
    double in_read = (double)(L->n * L->c) * (double)input_rows(L, &g) * row_sectors;
    double v_sec = 4.0 * (double)g.v_elems / sb, m_sec = 4.0 * (double)g.m_elems / sb;
    double out_sec = 4.0 * (double)(L->n * L->k) * (double)(L->p * L->q) / sb;
    /* cuBLAS (estimate): 128 x 128 tiles of M re-read V once per tile of K and U once per tile
     * of T */
    double gemm_read = (double)g.a2 * (double)L->c *
                       ((double)g.t * (double)iob_ceil_div(L->k, WNF_GEMM_TILE) +
                        (double)L->k * (double)iob_ceil_div(g.t, WNF_GEMM_TILE)) * 4.0 / sb;
    double rd = in_read + gemm_read + m_sec, wr = v_sec + m_sec + out_sec;
    if (rd > 9.2e18 / sb || wr > 9.2e18 / sb)
        return iob_error_set(err, IOB_ERANGE, "predicted counts of this layer overflow 64 bits");
    t->l2_read_sectors = (uint64_t)rd;
    t->l2_write_sectors = (uint64_t)wr;
    t->l2_read_bytes = t->l2_read_sectors * (uint64_t)sb;
    t->l2_write_bytes = t->l2_write_sectors * (uint64_t)sb;
    t->l2_read_requested_bytes =
        (uint64_t)(4.0 * ((double)L->n * L->c * L->h * L->w + (double)g.v_elems +
                          (double)g.u_elems + (double)g.m_elems));

    /* DRAM (estimate): input and U once, the output once; V and M go out and come back unless
     * the one being read still sits in the L2's shared capacity */
    double in_b = 4.0 * (double)(L->n * L->c) * (double)(L->h * L->w);
    double u_b = 4.0 * (double)g.u_elems, v_b = 4.0 * (double)g.v_elems;
    double m_b = 4.0 * (double)g.m_elems, out_b = 4.0 * (double)(L->n * L->k) * (L->p * L->q);
    double l2 = (double)iob_machine_l2_shared_bytes(mach); /* every SM reads V and M */
    double v_dram = v_b + u_b > l2 ? v_b : 0, m_dram = m_b > l2 ? m_b : 0;
    t->dram_exact = 0;
    t->dram_read_bytes = in_b + u_b + v_dram + m_dram;
    t->dram_write_bytes = out_b + v_dram + m_dram;

    /* FLOPs: the GEMMs' multiply-adds and the transforms' (paired term rule) operations */
    iob_winograd w;
    if ((st = iob_winograd_make(g.m, 3, &w, err)))
        return st;
    iob_wino_ops bt = iob_wino_apply_ops(w.BT, g.alpha, g.alpha);
    iob_wino_ops at = iob_wino_apply_ops(w.AT, g.m, g.alpha);
    t->ffma = (uint64_t)g.a2 * (uint64_t)L->k * (uint64_t)L->c * (uint64_t)g.t;
    t->flops = 2.0 * (double)t->ffma +
               (double)g.input_items * 2.0 * g.alpha * (bt.fmul + bt.fadd) +
               (double)g.output_items * (double)(g.alpha + g.m) * (at.fmul + at.fadd);
    t->smem_read_bytes = t->smem_write_bytes = 0; /* the transforms use none; cuBLAS's unknown */

    /* time: the transforms stream at the DRAM rate, the GEMM at the measured SGEMM rate or its
     * operands' DRAM time, whichever is longer, plus three launches */
    double bw = iob_machine_dram_bw(mach), fp = iob_machine_fp32_rate(mach);
    double t_in = (in_b + v_b) / bw, t_out = (m_b + out_b) / bw;
    double t_gemm_flop = 2.0 * (double)t->ffma / fp;
    double t_gemm_mem = (v_b + u_b + m_b) / bw;
    t->time_flop_s = t_gemm_flop;
    t->time_dram_s = t_in + t_out + t_gemm_mem;
    t->time_l2_s = (double)(t->l2_read_bytes + t->l2_write_bytes) /
                   (mach->l2_bw_peak > 0 ? mach->l2_bw_peak : 2.0 * bw);
    t->time_smem_s = 0;
    t->time_s = t_in + t_out + fmax(t_gemm_flop, t_gemm_mem);
    t->time_limiter = t_gemm_flop > t_in + t_out + t_gemm_mem ? "fp32" : "dram";
    t->time_s += res->kernels * WNF_LAUNCH_S;
    return IOB_OK;
}

static iob_status wnf_candidates(const iob_layer *L, const iob_machine *m, iob_config **out,
                                 size_t *count, iob_error *err)
{
    (void)m;
    *out = NULL;
    *count = 0;
    iob_wnf_geom g;
    iob_config probe = {.algo = IOB_ALGO_WINOGRAD_NONFUSED, .wino_m = 2, .stages = 1,
                        .split_c = 1};
    if (iob_wnf_geom_make(L, &probe, &g, err) != IOB_OK)
        return IOB_OK; /* no candidates; err says why */
    iob_config *v = malloc(2 * sizeof *v);
    if (!v)
        return iob_error_set(err, IOB_ENOMEM, "out of memory");
    v[0] = probe;
    v[1] = probe;
    v[1].wino_m = 4;
    *out = v;
    *count = 2;
    return IOB_OK;
}

const iob_dataflow_ops iob_dataflow_wino_nonfused = {
    .algo = IOB_ALGO_WINOGRAD_NONFUSED,
    .check = wnf_check,
    .predict = wnf_predict,
    .candidates = wnf_candidates,
    .relaxed = NULL,
};
