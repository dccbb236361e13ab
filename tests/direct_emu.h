/* direct_emu.h - the direct kernel's three launches (filter reorder, convolution, split
 * reduction) emulated on the CPU through gpu/kernels/direct_map.cuh, statement by statement as
 * gpu/kernels/direct.cu writes them, and a plain FP64 convolution to check them against (tests
 * only: tests/test_direct_emulate.c, and tests/test_im2_emu.c, which runs the direct kernel on
 * the derived layers of im2col and im2win). */
#ifndef IOB_TESTS_DIRECT_EMU_H
#define IOB_TESTS_DIRECT_EMU_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/dataflow.h"
#include "model/direct_model.h"

/* Runs the kernel's three launches on the CPU; out must hold N*K*P*Q floats. */
static void direct_emulate(const iob_layer *L, const iob_config *c, const iob_direct_geom *g,
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

static void direct_reference(const iob_layer *L, const float *in, const float *filt, double *out)
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

#endif
