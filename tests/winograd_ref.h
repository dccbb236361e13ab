/* winograd_ref.h - CPU references for the fused Winograd kernel (header-only; used by
 * tests/test_winograd_emu.c and bench/bench_winograd_error.c):
 *
 *   wino_ref_direct64  FP64 direct correlation and, per output, sum |x w| over its real taps
 *                      (the denominator of the error metric, docs/model.md "Winograd: numerical
 *                      error": err = |y - ref| / max(FLT_MIN, sum |x w|))
 *   wino_ref_kernel32  the kernel's FP32 arithmetic in the kernel's operation order
 *                      (docs/model.md, "Winograd: arithmetic"): U = G g G^T in FP64 (products and
 *                      sums left to right, no contraction) rounded to FP32, also for the zero
 *                      padding of k and c; V = B^T d B and Y = A^T M A by the kernel's paired
 *                      term rule (iob_wino_apply_f32, the library's copy of it); M
 *                      accumulated with fmaf over the padded channels chunk by chunk; split
 *                      parts transformed separately and added in order. Its output equals the
 *                      kernel's bit for bit.
 * Build with -ffp-contract=off semantics (ISO C mode, as the project's CMake does).
 */
#ifndef IOB_TESTS_WINOGRAD_REF_H
#define IOB_TESTS_WINOGRAD_REF_H

#include <float.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>

#include "iobound/dataflow.h"
#include "iobound/winograd.h"
#include "model/checked.h"
#include "model/winograd_dataflow.h"

static inline double wino_ref_rand(uint64_t *s) /* in (-1, 1), never 0 */
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    uint32_t v = (uint32_t)(*s >> 40) | 1u; /* odd 24-bit integer */
    return ((double)v - 8388608.0) / 8388608.0;
}

static inline void wino_ref_fill(float *a, size_t n, uint64_t seed)
{
    uint64_t s = seed;
    for (size_t i = 0; i < n; i++)
        a[i] = (float)wino_ref_rand(&s);
}

static inline double wino_ref_x(const iob_layer *L, const float *x, int64_t n, int64_t c,
                                int64_t h, int64_t w)
{
    if (h < 0 || h >= L->h || w < 0 || w >= L->w)
        return 0;
    return x[((n * L->c + c) * L->h + h) * L->w + w];
}

/* ref[i], abs_sum[i] for every output i = ((n*K + k)*P + p)*Q + q. */
static inline void wino_ref_direct64(const iob_layer *L, const float *x, const float *w,
                                     double *ref, double *abs_sum)
{
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t k = 0; k < L->k; k++)
            for (int64_t p = 0; p < L->p; p++)
                for (int64_t q = 0; q < L->q; q++) {
                    double s = 0, a = 0;
                    int64_t g = k / kg;
                    for (int64_t c = 0; c < cg; c++)
                        for (int64_t r = 0; r < 3; r++)
                            for (int64_t t = 0; t < 3; t++) {
                                double xv = wino_ref_x(L, x, n, g * cg + c, p - L->pad_top + r,
                                                       q - L->pad_left + t);
                                double wv = w[((k * cg + c) * 3 + r) * 3 + t];
                                s += xv * wv;
                                a += fabs(xv * wv);
                            }
                    int64_t i = ((n * L->k + k) * L->p + p) * L->q + q;
                    ref[i] = s;
                    abs_sum[i] = a;
                }
}

static inline double wino_ref_err(double got, double want, double abs_sum)
{
    return fabs(got - want) / fmax(FLT_MIN, abs_sum);
}

/* u[a * alpha + b] = (G f G^T)[a][b] of one 3x3 filter f in FP64, left to right without
 * contraction, rounded once: the kernels' wino_filter_transform (gpu/kernels/wino_transform.cuh) */
static inline void wino_ref_u(const iob_winograd *W, const double f[9], float *u)
{
    double t[IOB_WINO_ALPHA_MAX * 3];
    for (int a = 0; a < W->alpha; a++)
        for (int s = 0; s < 3; s++)
            t[a * 3 + s] = W->G[a][0] * f[s] + W->G[a][1] * f[3 + s] + W->G[a][2] * f[6 + s];
    for (int a = 0; a < W->alpha; a++)
        for (int b = 0; b < W->alpha; b++)
            u[a * W->alpha + b] = (float)(t[a * 3] * W->G[b][0] + t[a * 3 + 1] * W->G[b][1] +
                                          t[a * 3 + 2] * W->G[b][2]);
}

/* out[r * rows + s] = (M d M^T)[r][s] for the n x n tile d and the rows x n matrix M (B^T or
 * A^T), by the paired term rule: M applied to every column, then to every row of the result, as
 * the kernels do */
static inline void wino_ref_2d(const float *M, int rows, int n, const float *d, float *out)
{
    float tmp[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
    for (int j = 0; j < n; j++) {
        float col[IOB_WINO_ALPHA_MAX];
        for (int i = 0; i < n; i++)
            col[i] = d[i * n + j];
        iob_wino_apply_f32(M, rows, n, col, tmp + j, n, NULL);
    }
    for (int r = 0; r < rows; r++)
        iob_wino_apply_f32(M, rows, n, tmp + r * n, out + r * rows, 1, NULL);
}

/* y (N,K,P,Q) from x, w as the kernel of config c computes it. Returns 0, or -1 on a config
 * iob_wino_geom_make rejects or out of memory. */
static inline int wino_ref_kernel32(const iob_layer *L, const iob_config *c, const float *x,
                                    const float *w, float *y)
{
    iob_wino_geom g;
    iob_winograd W;
    if (iob_wino_geom_make(L, c, &g, NULL) || iob_winograd_make(g.m, 3, &W, NULL))
        return -1;
    const int m = g.m, al = g.alpha, a2 = g.a2;
    float bt[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX], at[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
    for (int i = 0; i < al; i++)
        for (int j = 0; j < al; j++)
            bt[i * al + j] = (float)W.BT[i][j];
    for (int i = 0; i < m; i++)
        for (int j = 0; j < al; j++)
            at[i * al + j] = (float)W.AT[i][j];
    const int64_t kpad = g.kb * c->tile_k, cpad = g.nch * c->tile_c;
    const int64_t tiles_p = iob_ceil_div(L->p, m), tiles_q = iob_ceil_div(L->q, m);
    float *U = malloc(sizeof(float) * (size_t)(L->groups * kpad * cpad * a2));
    float *V = malloc(sizeof(float) * (size_t)(cpad * a2));
    if (!U || !V) {
        free(U);
        free(V);
        return -1;
    }
    for (int64_t gr = 0; gr < L->groups; gr++)
        for (int64_t k = 0; k < kpad; k++)
            for (int64_t ci = 0; ci < cpad; ci++) {
                double f[9] = {0};
                if (k < g.kg && ci < g.cg)
                    for (int i = 0; i < 9; i++)
                        f[i] = w[((gr * g.kg + k) * g.cg + ci) * 9 + i];
                wino_ref_u(&W, f, U + ((gr * kpad + k) * cpad + ci) * a2);
            }
    for (int64_t n = 0; n < L->n; n++)
        for (int64_t gr = 0; gr < L->groups; gr++)
            for (int64_t tr = 0; tr < tiles_p; tr++)
                for (int64_t tcol = 0; tcol < tiles_q; tcol++) {
                    /* V of every (padded) channel of the group for this tile */
                    for (int64_t ci = 0; ci < cpad; ci++) {
                        float d[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
                        for (int i = 0; i < al; i++)
                            for (int j = 0; j < al; j++)
                                d[i * al + j] = ci < g.cg ? (float)wino_ref_x(L, x, n,
                                                    gr * g.cg + ci, tr * m - L->pad_top + i,
                                                    tcol * m - L->pad_left + j)
                                                          : 0.0f;
                        wino_ref_2d(bt, al, al, d, V + ci * a2);
                    }
                    for (int64_t k = 0; k < g.kg; k++) {
                        float out[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX] = {0};
                        for (int64_t sc = 0; sc < c->split_c; sc++) {
                            int64_t j0 = sc * g.jps, j1 = iob_min64(g.nch, j0 + g.jps);
                            float M[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
                            for (int xi = 0; xi < a2; xi++) {
                                float acc = 0.0f;
                                for (int64_t ci = j0 * c->tile_c; ci < j1 * c->tile_c; ci++)
                                    acc = fmaf(U[((gr * kpad + k) * cpad + ci) * a2 + xi],
                                               V[ci * a2 + xi], acc);
                                M[xi] = acc;
                            }
                            float yv[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
                            wino_ref_2d(at, m, al, M, yv);
                            for (int i = 0; i < m; i++) {
                                for (int jj = 0; jj < m; jj++)
                                    out[i * m + jj] = sc == 0 ? yv[i * m + jj]
                                                              : out[i * m + jj] + yv[i * m + jj];
                            }
                        }
                        for (int i = 0; i < m; i++)
                            for (int jj = 0; jj < m; jj++) {
                                int64_t p = tr * m + i, q = tcol * m + jj;
                                if (p < L->p && q < L->q)
                                    y[((n * L->k + gr * g.kg + k) * L->p + p) * L->q + q] =
                                        out[i * m + jj];
                            }
                    }
                }
    free(U);
    free(V);
    return 0;
}

#endif
