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

static int64_t imin(int64_t a, int64_t b) { return a < b ? a : b; }

/* Runs the kernel's three launches on the CPU; out must hold N*K*P*Q floats. */
static void emulate(const iob_layer *L, const iob_config *c, const iob_direct_geom *g,
                    const float *in, const float *filt, float *out)
{
    const int64_t CG = g->cg, KG = g->kg, RS = L->r * L->s, R = L->r, S = L->s;
    /* prep: [K][CG][R][S] -> [G][CG][R][S][KG] */
    float *ft = malloc(sizeof(float) * (size_t)(L->k * CG * RS));
    for (int64_t e = 0; e < L->k * CG * RS; e++) {
        int64_t kk = e % KG, rest = e / KG, rs = rest % RS, ch = (rest / RS) % CG,
                gi = rest / RS / CG;
        ft[e] = filt[((gi * KG + kk) * CG + ch) * RS + rs];
    }
    float *ws = c->split_c > 1 ? calloc((size_t)(c->split_c * g->ws_plane), sizeof(float)) : NULL;
    float *buf = malloc(sizeof(float) * (size_t)g->stage_floats);
    float *acc = malloc(sizeof(float) * (size_t)(g->threads * c->micro_k * c->micro_p * c->micro_q));
    const int IH = g->ih, IW = g->iw, PITCH = g->iw_pitch;
    for (int64_t bz = 0; bz < g->grid[2]; bz++)
        for (int64_t by = 0; by < g->grid[1]; by++)
            for (int64_t bx = 0; bx < g->grid[0]; bx++) {
                int64_t p0 = (bx / g->tiles_q) * c->tile_p, q0 = (bx % g->tiles_q) * c->tile_q;
                int64_t gi = by / g->tiles_k, k0 = (by % g->tiles_k) * c->tile_k;
                int64_t n = bz / c->split_c, sp = bz % c->split_c;
                int64_t tp_v = imin(c->tile_p, L->p - p0), tq_v = imin(c->tile_q, L->q - q0);
                int64_t tk_v = imin(c->tile_k, KG - k0);
                int64_t ih_v = (tp_v - 1) * L->stride_h + (R - 1) * L->dil_h + 1;
                int64_t iw_v = (tq_v - 1) * L->stride_w + (S - 1) * L->dil_w + 1;
                int64_t h0 = p0 * L->stride_h - L->pad_top, w0 = q0 * L->stride_w - L->pad_left;
                int64_t first = sp * g->chunks_per_split;
                int64_t nch = imin(g->chunks, first + g->chunks_per_split) - first;
                const float *in_ng = in + (n * L->c + gi * CG) * L->h * L->w;
                const float *f_gk = ft + gi * CG * RS * KG + k0;
                memset(acc, 0, sizeof(float) * (size_t)(g->threads * c->micro_k * c->micro_p *
                                                         c->micro_q));
                for (int64_t i = 0; i < nch; i++) {
                    /* load_stage; poison first: every word the compute reads must be written */
                    for (int64_t e = 0; e < g->stage_floats; e++)
                        buf[e] = NAN;
                    int64_t c0 = (first + i) * c->tile_c;
                    if (g->vec_in) {
                        int pieces = g->iw_copy / 4;
                        for (int64_t e = 0; e < (int64_t)c->tile_c * IH * pieces; e++) {
                            int64_t piece = e % pieces, y = (e / pieces) % IH, ch = e / (pieces * IH);
                            int64_t wa = w0 - g->in_off + piece * 4, h = h0 + y;
                            int ok = c0 + ch < CG && y < ih_v && h >= 0 && h < L->h && wa >= 0 &&
                                     wa < L->w && wa + 4 > w0 && wa < w0 + iw_v;
                            for (int v = 0; v < 4; v++)
                                buf[(ch * IH + y) * PITCH + piece * 4 + v] =
                                    ok ? in_ng[((c0 + ch) * L->h + h) * L->w + wa + v] : 0;
                        }
                    } else {
                        for (int64_t e = 0; e < (int64_t)c->tile_c * IH * IW; e++) {
                            int64_t x = e % IW, y = (e / IW) % IH, ch = e / (IW * IH);
                            int64_t w = w0 + x, h = h0 + y;
                            int ok = c0 + ch < CG && y < ih_v && x < iw_v && h >= 0 && h < L->h &&
                                     w >= 0 && w < L->w;
                            buf[(ch * IH + y) * PITCH + x] =
                                ok ? in_ng[((c0 + ch) * L->h + h) * L->w + w] : 0;
                        }
                    }
                    float *fbuf = buf + g->f_off;
                    for (int64_t e = 0; e < (int64_t)c->tile_c * RS * c->tile_k; e++) {
                        int64_t k = e % c->tile_k, crs = e / c->tile_k, ch = crs / RS;
                        int ok = c0 + ch < CG && k < tk_v;
                        fbuf[crs * c->tile_k + k] = ok ? f_gk[(c0 * RS + crs) * KG + k] : 0;
                    }
                    /* compute_stage, per thread */
                    for (int t = 0; t < g->threads; t++) {
                        int tq_idx = t % g->tqt, tp_idx = (t / g->tqt) % g->tpt,
                            tk_idx = t / (g->tqt * g->tpt);
                        float *a = acc + (size_t)t * c->micro_k * c->micro_p * c->micro_q;
                        int64_t qstep_t = g->q_window ? c->micro_q : 1;
                        int64_t qstep_j = g->q_window ? 1 : g->tqt;
                        int64_t pin = tp_idx * c->micro_p * L->stride_h * PITCH + g->in_off +
                                      (g->vec_q ? tq_idx * 4 : tq_idx * qstep_t * L->stride_w);
                        int64_t pf = g->f_off + (g->vec_k ? tk_idx * 4 : tk_idx);
                        for (int64_t r = 0; r < R; r++)
                            for (int ch = 0; ch < c->tile_c; ch++) {
                                int64_t xi = pin + r * L->dil_h * PITCH + (int64_t)ch * IH * PITCH;
                                int64_t fi = pf + r * S * c->tile_k + (int64_t)ch * RS * c->tile_k;
                                for (int64_t s = 0; s < S; s++)
                                    for (int pi = 0; pi < c->micro_p; pi++)
                                        for (int kk = 0; kk < c->micro_k; kk++)
                                            for (int j = 0; j < c->micro_q; j++) {
                                                int64_t fo = g->vec_k ? (kk / 4) * g->tkt * 4 + kk % 4
                                                                      : (int64_t)kk * g->tkt;
                                                int64_t xo =
                                                    g->vec_q ? (j / 4) * g->tqt * 4 + j % 4
                                                             : (int64_t)j * qstep_j * L->stride_w +
                                                                   s * L->dil_w;
                                                float fv = buf[fi + s * c->tile_k + fo];
                                                float xv = buf[xi + pi * L->stride_h * PITCH + xo];
                                                float *dst = &a[(kk * c->micro_p + pi) * c->micro_q + j];
                                                *dst = fmaf(fv, xv, *dst);
                                            }
                            }
                    }
                }
                /* stores */
                for (int t = 0; t < g->threads; t++) {
                    int tq_idx = t % g->tqt, tp_idx = (t / g->tqt) % g->tpt,
                        tk_idx = t / (g->tqt * g->tpt);
                    const float *a = acc + (size_t)t * c->micro_k * c->micro_p * c->micro_q;
                    for (int kk = 0; kk < c->micro_k; kk++)
                        for (int pi = 0; pi < c->micro_p; pi++)
                            for (int j = 0; j < c->micro_q; j++) {
                                int64_t k = g->vec_k ? tk_idx * 4 + (kk / 4) * g->tkt * 4 + kk % 4
                                                     : tk_idx + (int64_t)kk * g->tkt;
                                int64_t pp = (int64_t)tp_idx * c->micro_p + pi;
                                int64_t qq = g->vec_q      ? tq_idx * 4 + (j / 4) * g->tqt * 4 + j % 4
                                             : g->q_window ? (int64_t)tq_idx * c->micro_q + j
                                                           : tq_idx + (int64_t)j * g->tqt;
                                if (k < tk_v && pp < tp_v && qq < tq_v) {
                                    int64_t o = ((n * L->k + gi * KG + k0 + k) * L->p + p0 + pp) *
                                                    L->q + q0 + qq;
                                    float v = a[(kk * c->micro_p + pi) * c->micro_q + j];
                                    if (ws)
                                        ws[sp * g->ws_plane + o] = v;
                                    else
                                        out[o] = v;
                                }
                            }
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
    free(buf);
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
            fail_msg("%s %s: output %zu is %g, expected %g (vec_in %d off %d vec_q %d vec_k %d)",
                     lspec, cspec, i, out[i], ref[i], g.vec_in, g.in_off, g.vec_q, g.vec_k);
    free(in);
    free(f);
    free(out);
    free(ref);
}

static void test_layout_paths(void **state)
{
    (void)state;
    /* 16-byte input copies with off = 3 (pad 1), filter LDS.128, clipped tiles, 3 stages */
    check("n=2,c=5,h=9,w=12,k=12,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=4,tile_q=4,tile_c=2,micro_k=4,micro_p=2,micro_q=2,stages=3");
    /* 1x1 stride 1: LDS.128 columns (vec_q), split over channels */
    check("n=2,c=12,h=8,w=8,k=16,r=1",
          "algo=direct,tile_k=8,tile_p=2,tile_q=8,tile_c=4,micro_k=4,micro_p=1,micro_q=4,"
          "split_c=3");
    /* 4-byte copies (W % 4 != 0), odd tiles, strided columns, stride 2 */
    check("n=1,c=7,h=11,w=11,k=6,r=3,stride=2,pad=1",
          "algo=direct,tile_k=6,tile_p=3,tile_q=3,tile_c=4,micro_k=2,micro_p=1,micro_q=3");
    /* dilation, asymmetric padding, groups, rectangular filter */
    check("n=2,c=8,h=10,w=7,k=8,r=2,s=3,dil_w=2,pad_top=1,pad_bottom=2,pad_left=2,groups=2",
          "algo=direct,tile_k=4,tile_p=4,tile_q=4,tile_c=2,micro_k=2,micro_p=2,micro_q=2,"
          "split_c=2");
    /* stride 3 with 16-byte copies (tile_q*3 % 4 == 0), channels not a multiple of tile_c */
    check("n=1,c=3,h=13,w=12,k=5,r=3,stride=3",
          "algo=direct,tile_k=5,tile_p=2,tile_q=4,tile_c=2,micro_k=1,micro_p=1,micro_q=2");
    /* k past K/G in the last tile with vec_f, strided micro_q > tqt overlap (tqt=1) */
    check("n=1,c=4,h=6,w=8,k=12,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=2,tile_q=4,tile_c=4,micro_k=8,micro_p=1,micro_q=4,stages=2");
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_paths),
        cmocka_unit_test(test_sampled_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
