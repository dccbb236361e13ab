/* test_direct_emulate.c - the direct kernel's indexing emulated on the CPU, statement by
 * statement as gpu/kernels/direct.cu writes it (copy loops with their zero-fill conditions and
 * 16-byte pieces, the stage buffer layout with the model's pitch, each thread's operand offsets
 * and outputs, the split planes and their reduction), against a plain convolution in double.
 * It checks the dataflow's index arithmetic for every layout path (vec_in with an offset, vec_q,
 * vec_k, 4-byte copies, splits, groups, strides, dilation, clipped tiles); the CUDA source itself
 * is checked against an FP64 reference by `iobound run` on the GPU. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/dataflow.h"
#include "model/direct_model.h"


/* Runs the kernel's three launches on the CPU; out must hold N*K*P*Q floats. */
static void emulate(const iob_layer *L, const iob_config *c, const iob_direct_geom *g,
                    const float *in, const float *filt, float *out)
{
    dm_geom G;
    iob_direct_map_fill(L, c, g, &G);
    const int R = G.r, S = G.s, TN = G.tile_n, IH = G.ih, PITCH = G.pitch, TKP = G.tkp;
    /* prep: [K][CG][R][S] -> [G][tiles_k][cgp][R][S][tkp], zero-padded */
    int64_t nft = g->ws_filter_bytes / 4;
    float *ft = malloc(sizeof(float) * (size_t)nft);
    for (int64_t e = 0; e < nft; e++) {
        long long src = dm_f_source(&G, e);
        ft[e] = src >= 0 ? filt[src] : 0;
    }
    float *ws = c->split_c > 1 ? calloc((size_t)(c->split_c * g->ws_plane), sizeof(float)) : NULL;
    float *smem = malloc(sizeof(float) * (size_t)g->smem_floats);
    const int accn = c->micro_k * c->micro_p * c->micro_q;
    float *acc = malloc(sizeof(float) * (size_t)(g->threads * accn));
    const int HW4 = (int)((L->h * L->w) % 4), W4 = (int)(L->w % 4);
    for (int bz = 0; bz < g->grid[2]; bz++)
        for (int by = 0; by < g->grid[1]; by++)
            for (int bx = 0; bx < g->grid[0]; bx++) {
                dm_block B = dm_block_at(&G, bx, by, bz);
                memset(acc, 0, sizeof(float) * (size_t)(g->threads * accn));
                for (int i = 0; i < B.nch; i++) {
                    const int chunk = B.ch_first + i;
                    float *buf = smem + (int64_t)(i % c->stages) * g->stage_floats;
                    /* load_stage; poison first: every word the compute reads must be written */
                    for (int64_t e = 0; e < g->stage_floats; e++)
                        buf[e] = NAN;
                    for (int e = 0; e < c->tile_c * TN * IH * G.in_slots; e++) {
                        dm_copy cp = dm_in_copy(&G, &B, chunk, e);
                        for (int v = 0; cp.issue && v < 4; v++)
                            buf[cp.smem + v] = 4 * v < cp.bytes ? in[cp.src + v] : 0;
                    }
                    for (int e = 0; e < G.f_slots; e++) {
                        dm_copy cp = dm_f_copy(&G, &B, chunk, e);
                        for (int v = 0; cp.issue && v < 4; v++)
                            buf[cp.smem + v] = ft[cp.src + v];
                    }
                    if (g->left_fix && B.w0 < 0)
                        for (int row = 0; row < c->tile_c * TN * IH; row++) {
                            int at = 0, m = dm_in_fix(&G, &B, chunk, row, &at);
                            for (int j = 0; j < m; j++)
                                buf[at + j] = 0;
                        }
                    /* compute_stage, per thread, with the kernel's shift arithmetic */
                    for (int t = 0; t < g->threads; t++) {
                        int tk_idx, tn_idx, tp_idx, tq_idx;
                        dm_thread(&G, t, &tk_idx, &tn_idx, &tp_idx, &tq_idx);
                        float *a = acc + (size_t)t * accn;
                        int t4 = dm_mod(((((long long)(B.n0 + tn_idx) * L->c + (long long)B.g * G.cg) *
                                               L->h +
                                           B.h0 + tp_idx * c->micro_p * L->stride_h) *
                                              L->w +
                                          B.w0),
                                        4);
                        int t4c = t4 + chunk * ((c->tile_c * HW4) % 4);
                        int64_t qstep_t = g->q_window ? c->micro_q : 1;
                        int64_t qstep_j = g->q_window ? 1 : g->tqt;
                        int64_t pin = ((int64_t)tn_idx * IH + tp_idx * c->micro_p * L->stride_h) * PITCH +
                                      (g->vec_q ? tq_idx * 4 : tq_idx * qstep_t * L->stride_w);
                        int64_t pf = g->in_stage_floats + (g->vec_k ? tk_idx * 4 : tk_idx);
                        for (int r = 0; r < R; r++)
                            for (int ch = 0; ch < c->tile_c; ch++) {
                                int64_t xi = pin + (r * L->dil_h + (int64_t)ch * TN * IH) * PITCH;
                                int64_t fi = pf + (int64_t)r * S * TKP + (int64_t)ch * R * S * TKP;
                                int t4cr = t4c + ch * HW4 + r * (int)L->dil_h * W4;
                                for (int s = 0; s < S; s++)
                                    for (int pi = 0; pi < c->micro_p; pi++) {
                                        int shift = g->in_shift >= 0
                                                        ? g->in_shift
                                                        : (t4cr + pi * (int)L->stride_h * W4) & 3;
                                        int64_t xr = xi + pi * L->stride_h * PITCH + shift;
                                        for (int kk = 0; kk < c->micro_k; kk++)
                                            for (int j = 0; j < c->micro_q; j++) {
                                                int64_t fo = g->vec_k ? (kk / 4) * g->tkt * 4 + kk % 4
                                                                      : (int64_t)kk * g->tkt;
                                                int64_t xo = g->vec_q ? (j / 4) * g->tqt * 4 + j % 4
                                                                      : (int64_t)j * qstep_j * L->stride_w +
                                                                            s * L->dil_w;
                                                float fv = buf[fi + s * TKP + fo];
                                                float xv = buf[xr + xo];
                                                float *d = &a[(kk * c->micro_p + pi) * c->micro_q + j];
                                                *d = fmaf(fv, xv, *d);
                                            }
                                    }
                            }
                    }
                }
                /* the thread tiles to the staged output, then the sector-slot stores */
                for (int64_t e = 0; e < g->smem_floats; e++)
                    smem[e] = NAN;
                for (int t = 0; t < g->threads; t++) {
                    int tk_idx, tn_idx, tp_idx, tq_idx;
                    dm_thread(&G, t, &tk_idx, &tn_idx, &tp_idx, &tq_idx);
                    const float *a = acc + (size_t)t * accn;
                    for (int kk = 0; kk < c->micro_k; kk++)
                        for (int pi = 0; pi < c->micro_p; pi++)
                            for (int j = 0; j < c->micro_q; j++) {
                                int k = g->vec_k ? tk_idx * 4 + (kk / 4) * g->tkt * 4 + kk % 4
                                                 : tk_idx + kk * g->tkt;
                                int qq = g->vec_q      ? tq_idx * 4 + (j / 4) * g->tqt * 4 + j % 4
                                         : g->q_window ? tq_idx * c->micro_q + j
                                                       : tq_idx + j * g->tqt;
                                smem[dm_out_stage(&G, k, tn_idx, tp_idx * c->micro_p + pi, qq)] =
                                    a[(kk * c->micro_p + pi) * c->micro_q + j];
                            }
                }
                float *dst = ws ? ws + (int64_t)B.sp * g->ws_plane : out;
                int nst = G.out_runs * G.out_slots * (G.out_vec ? 2 : 8);
                for (int e = 0; e < nst; e++) {
                    long long o;
                    int at;
                    if (dm_store(&G, &B, e, &o, &at))
                        for (int v = 0; v < (G.out_vec ? 4 : 1); v++)
                            dst[o + v] = smem[at + v];
                }
            }
    if (ws)
        for (int64_t e = 0; e < g->elems_out; e++) {
            float s = ws[e];
            for (int sp = 1; sp < c->split_c; sp++)
                s += ws[sp * g->ws_plane + e];
            out[e] = s;
        }
    free(ws);
    free(smem);
    free(acc);
    free(ft);
}

static void reference(const iob_layer *L, const float *in, const float *filt, double *out)
{
    int64_t CG = L->c / L->groups, KG = L->k / L->groups;
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t k = 0; k < L->k; k++)
            for (int64_t p = 0; p < L->p; p++)
                for (int64_t q = 0; q < L->q; q++) {
                    double s = 0;
                    int64_t gi = k / KG;
                    for (int64_t c = 0; c < CG; c++)
                        for (int64_t r = 0; r < L->r; r++)
                            for (int64_t t = 0; t < L->s; t++) {
                                int64_t h = p * L->stride_h - L->pad_top + r * L->dil_h;
                                int64_t w = q * L->stride_w - L->pad_left + t * L->dil_w;
                                if (h < 0 || h >= L->h || w < 0 || w >= L->w)
                                    continue;
                                s += (double)in[((n * L->c + gi * CG + c) * L->h + h) * L->w + w] *
                                     filt[((k * CG + c) * L->r + r) * L->s + t];
                            }
                    out[((n * L->k + k) * L->p + p) * L->q + q] = s;
                }
}

static void check(const char *lspec, const char *cspec)
{
    iob_layer L;
    iob_config c;
    iob_machine m;
    iob_resources res;
    iob_error err;
    if (iob_machine_get("h100-sxm", &m, &err) || iob_layer_parse(lspec, &L, &err) ||
        iob_config_parse(cspec, &c, &err) || iob_dataflow_check(&L, &c, &m, &res, &err))
        fail_msg("%s %s: %s", lspec, cspec, err.msg);
    iob_direct_geom g;
    iob_direct_geom_get(&L, &c, &g);
    size_t nin = (size_t)(L.n * L.c * L.h * L.w), nf = (size_t)(L.k * (L.c / L.groups) * L.r * L.s);
    size_t nout = (size_t)g.elems_out;
    float *in = malloc(nin * sizeof *in), *f = malloc(nf * sizeof *f), *out = malloc(nout * sizeof *out);
    double *ref = malloc(nout * sizeof *ref);
    /* small integers: every product and sum is exact in FP32, so the check is equality */
    unsigned seed = 12345;
    for (size_t i = 0; i < nin; i++)
        in[i] = (float)((int)(rand_r(&seed) % 7) - 3);
    for (size_t i = 0; i < nf; i++)
        f[i] = (float)((int)(rand_r(&seed) % 5) - 2);
    for (size_t i = 0; i < nout; i++)
        out[i] = NAN; /* poisoned: every output must be written */
    emulate(&L, &c, &g, in, f, out);
    reference(&L, in, f, ref);
    for (size_t i = 0; i < nout; i++)
        if (!(out[i] == (float)ref[i]))
            fail_msg("%s %s: output %zu is %g, expected %g (shift %d e8 %d vec_q %d vec_k %d "
                     "out_run %d out_vec %d)",
                     lspec, cspec, i, out[i], ref[i], g.in_shift, g.in_e8, g.vec_q, g.vec_k,
                     g.out_run, g.out_vec);
    free(in);
    free(f);
    free(out);
    free(ref);
}

static void test_layout_paths(void **state)
{
    (void)state;
    /* constant shift 3 (pad 1, W % 4 == 0), e8 per row (W % 8 != 0), filter LDS.128, clipped
     * tiles, 3 stages */
    check("n=2,c=5,h=9,w=12,k=12,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=4,tile_q=4,tile_c=2,micro_k=4,micro_p=1,micro_q=1,stages=3");
    /* 1x1 stride 1: LDS.128 columns (vec_q), split over channels, float4 stores */
    check("n=2,c=12,h=8,w=8,k=16,r=1",
          "algo=direct,tile_k=8,tile_p=2,tile_q=8,tile_c=4,micro_k=4,micro_p=1,micro_q=4,"
          "split_c=3");
    /* per-row shift (W % 4 != 0) with the left-edge fix-up, odd tiles, stride 2 */
    check("n=1,c=7,h=11,w=11,k=6,r=3,stride=2,pad=1",
          "algo=direct,tile_k=6,tile_p=3,tile_q=3,tile_c=4,micro_k=2,micro_p=1,micro_q=1");
    /* dilation, asymmetric padding, groups, rectangular filter, W = 7 */
    check("n=2,c=8,h=10,w=7,k=8,r=2,s=3,dil_w=2,pad_top=1,pad_bottom=2,pad_left=2,groups=2",
          "algo=direct,tile_k=4,tile_p=4,tile_q=4,tile_c=2,micro_k=2,micro_p=1,micro_q=2,"
          "split_c=2");
    /* stride 3 (tile_q*3 % 4 == 0), channels not a multiple of tile_c, filter e8 per slice */
    check("n=1,c=3,h=13,w=12,k=5,r=3,stride=3",
          "algo=direct,tile_k=5,tile_p=2,tile_q=4,tile_c=2,micro_k=1,micro_p=1,micro_q=1");
    /* k past K/G in the last tile, strided micro_q > tqt overlap (tqt=1) */
    check("n=1,c=4,h=6,w=8,k=12,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=8,tile_q=4,tile_c=4,micro_k=4,micro_p=1,micro_q=4,stages=2");
    /* several images per block (the last tile of images partial), whole images: one output run
     * per image; W = 7 with the fix-up */
    check("n=3,c=6,h=7,w=7,k=8,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=7,tile_q=7,tile_c=2,micro_k=4,micro_p=1,micro_q=7,"
          "tile_n=2,stages=2");
    /* whole rows (tile_q = Q): output runs of whole planes, float4 */
    check("n=1,c=4,h=12,w=12,k=8,r=1",
          "algo=direct,tile_k=8,tile_p=4,tile_q=12,tile_c=4,micro_k=4,micro_p=1,micro_q=4");
    /* window columns, 2 rows per thread, 5x5 stride 1 pad 2 on W = 10 */
    check("n=1,c=3,h=9,w=10,k=8,r=5,pad=2",
          "algo=direct,tile_k=8,tile_p=4,tile_q=8,tile_c=3,micro_k=2,micro_p=2,micro_q=4");
}

static void test_sampled_space(void **state)
{
    (void)state;
    /* every 97th config of a small layer's space (the spaces hold thousands) */
    static const char *const layers[] = {"n=2,c=6,h=9,w=8,k=10,r=3,pad=1",
                                         "n=1,c=16,h=8,w=8,k=16,r=1"};
    iob_machine m;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    for (size_t li = 0; li < 2; li++) {
        iob_layer L;
        assert_int_equal(iob_layer_parse(layers[li], &L, &err), IOB_OK);
        iob_config *all;
        size_t n;
        assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_DIRECT, &m, &all, &n, &err), IOB_OK);
        for (size_t i = 0; i < n; i += 97) {
            char text[256];
            iob_config_format(&all[i], text, sizeof text);
            check(layers[li], text);
        }
        free(all);
    }
}

/* The best configs by time of the layers scripts/device.sh runs under compute-sanitizer, and of a
 * small-image layer at batch 4 (several images per block, whole-image runs) */
static void test_best_configs(void **state)
{
    (void)state;
    static const char *const layers[] = {
        "name=s1,n=2,c=5,h=9,w=7,k=6,r=3,pad=1",
        "name=s2,n=1,c=8,h=12,k=8,r=3,stride=2,pad=1,groups=2",
        "name=s3,n=1,c=3,h=10,k=4,r=5,dil=2,pad_top=0,pad_bottom=3,pad_left=2,pad_right=1",
        "n=4,c=16,h=7,k=32,r=3,pad=1",
    };
    iob_machine m;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        iob_layer L;
        iob_config c;
        char text[256];
        assert_int_equal(iob_layer_parse(layers[i], &L, &err), IOB_OK);
        for (int obj = IOB_OBJ_TRAFFIC; obj <= IOB_OBJ_TIME; obj++) {
            if (iob_dataflow_best(&L, IOB_ALGO_DIRECT, &m, (iob_objective)obj, &c, NULL, &err))
                fail_msg("%s: %s", layers[i], err.msg);
            iob_config_format(&c, text, sizeof text);
            check(layers[i], text);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_paths),
        cmocka_unit_test(test_best_configs),
        cmocka_unit_test(test_sampled_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
