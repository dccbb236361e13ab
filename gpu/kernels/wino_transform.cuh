/* wino_transform.cuh - what the two Winograd kernel files share (gpu/kernels/winograd.cu, fused;
 * wino_nonfused.cu, transforms around a batched GEMM): the prelude (kernel_prelude.cuh), the
 * transform matrices as lists (one macro per entry: WBT0.., WAT0.., WG0..) and the paired term
 * rule (wino_apply_bt / wino_apply_at), whose decisions arrive as integer macros from
 * gpu/host_winograd.c (iob_wino_transform_defines). Needs WINO_M (2 or 4).
 */
#ifndef IOB_WINO_TRANSFORM_CUH
#define IOB_WINO_TRANSFORM_CUH

#include "kernel_prelude.cuh"

#define ALPHA (WINO_M + 2)
#define A2 (ALPHA * ALPHA)

/* The matrices arrive one entry per macro (WBT0.., WAT0.., WG0..: row-major), since nvcc splits
 * a -D value at commas; these lists put them back together. */
#if ALPHA == 4
#define WINO_BT_LIST {WBT0, WBT1, WBT2, WBT3, WBT4, WBT5, WBT6, WBT7, WBT8, WBT9, WBT10, WBT11, \
    WBT12, WBT13, WBT14, WBT15}
#define WINO_AT_LIST {WAT0, WAT1, WAT2, WAT3, WAT4, WAT5, WAT6, WAT7}
#define WINO_G_LIST {WG0, WG1, WG2, WG3, WG4, WG5, WG6, WG7, WG8, WG9, WG10, WG11}
#else
#define WINO_BT_LIST {WBT0, WBT1, WBT2, WBT3, WBT4, WBT5, WBT6, WBT7, WBT8, WBT9, WBT10, WBT11, \
    WBT12, WBT13, WBT14, WBT15, WBT16, WBT17, WBT18, WBT19, WBT20, WBT21, WBT22, WBT23, \
    WBT24, WBT25, WBT26, WBT27, WBT28, WBT29, WBT30, WBT31, WBT32, WBT33, WBT34, WBT35}
#define WINO_AT_LIST {WAT0, WAT1, WAT2, WAT3, WAT4, WAT5, WAT6, WAT7, WAT8, WAT9, WAT10, WAT11, \
    WAT12, WAT13, WAT14, WAT15, WAT16, WAT17, WAT18, WAT19, WAT20, WAT21, WAT22, WAT23}
#define WINO_G_LIST {WG0, WG1, WG2, WG3, WG4, WG5, WG6, WG7, WG8, WG9, WG10, WG11, \
    WG12, WG13, WG14, WG15, WG16, WG17}
#endif

/* The paired term rule (docs/model.md, "Winograd: arithmetic"), y[r * ys] = sum_i M[r][i] x[i]
 * for M = B^T (alpha x alpha) or A^T (m x alpha):
 *   term rule: a sum runs over the nonzero coefficients of its row in index order; the first term
 *     is x, -x or FMUL(c, x), each later one adds x, subtracts x, or adds FMUL(c, x);
 *   if M has mirrored column pairs (column c+1 = (-1)^r column c, column c not zero: the points
 *     +a and -a of A^T), taken left to right without overlap, each pair is first folded into
 *     ve = x[c] + x[c+1] (if an even row uses it) and vo = x[c] - x[c+1] (if an odd row does),
 *     and row r is the term rule over ve (even r) or vo (odd r), the second columns dropped;
 *   otherwise mirrored row pairs (row r+1 = (-1)^i row r, with nonzero even and odd entries: the
 *     points +a and -a of B^T) are E + O and E - O with E, O the term rule over the row's even and
 *     odd entries; the other rows use the term rule.
 * The host (gpu/host_winograd.c, define_rule) takes these decisions from the same matrices and
 * passes them as integer macros (P = WBT or WAT): P C (column pairs?), P F<c> (the folds of
 * column c: bit 1 ve, bit 2 vo), P R<r> (0 term rule, 1 first and 2 second row of a mirrored
 * pair, 3 zero row), P O<r><i> (term i of row r: 0 none; first term 1 v, 2 -v, 3 c*v; later
 * 4 +v, 5 -v, 6 +c*v). The WP_* macros below paste those codes into macro names, so the
 * preprocessor alone picks the statements and the compiler sees straight-line FP code (before,
 * NVVM folded the generic, table-driven version of these branches: 5 s per F(4x4) config). The
 * library's copy of the rule, iob_wino_apply_f32 (model/winograd.c), evaluates it from the
 * matrix at run time; tests/test_winograd_emu.c holds the two equal bit for bit. */
#define WP_CAT_T(a, b) WP_CAT_T_(a, b) /* one pair per level: no macro re-entered */
#define WP_CAT_T_(a, b) a##b
#define WP_CAT_S(a, b) WP_CAT_S_(a, b)
#define WP_CAT_S_(a, b) a##b
#define WP_CAT_R(a, b) WP_CAT_R_(a, b)
#define WP_CAT_R_(a, b) a##b
#define WP_CAT_F(a, b) WP_CAT_F_(a, b)
#define WP_CAT_F_(a, b) a##b
#define WP_CAT_P(a, b) WP_CAT_P_(a, b)
#define WP_CAT_P_(a, b) a##b

/* the input of column i for row r: x, or in column mode the folded ve (even r) / vo (odd r) */
#define WP_SRC(P, r, i) WP_CAT_S(WP_SRC_, P##C)(r, i)
#define WP_SRC_0(r, i) x[i]
#define WP_SRC_1(r, i) (((r) & 1) ? vo : ve)[i]
#define WP_COEF(r, i) m_[(r) * ALPHA + (i)]
/* term i of row r */
#define WP_T(P, r, i) WP_CAT_T(WP_T_, P##O##r##i)(P, r, i)
#define WP_T_0(P, r, i)
#define WP_T_1(P, r, i) acc = WP_SRC(P, r, i);
#define WP_T_2(P, r, i) acc = -WP_SRC(P, r, i);
#define WP_T_3(P, r, i) acc = FMUL(WP_COEF(r, i), WP_SRC(P, r, i));
#define WP_T_4(P, r, i) acc = FADD(acc, WP_SRC(P, r, i));
#define WP_T_5(P, r, i) acc = FSUB(acc, WP_SRC(P, r, i));
#define WP_T_6(P, r, i) acc = FADD(acc, FMUL(WP_COEF(r, i), WP_SRC(P, r, i)));
#if ALPHA == 4
#define WP_TERMS(P, r) WP_T(P, r, 0) WP_T(P, r, 1) WP_T(P, r, 2) WP_T(P, r, 3)
#define WP_EVEN(P, r) WP_T(P, r, 0) WP_T(P, r, 2)
#define WP_ODD(P, r) WP_T(P, r, 1) WP_T(P, r, 3)
#define WP_FOLDS(P) WP_F(P, 0) WP_F(P, 1) WP_F(P, 2)
#define WP_ROWS_BT WP_R(WBT, 0) WP_R(WBT, 1) WP_R(WBT, 2) WP_R(WBT, 3)
#define WP_ROWS_AT WP_R(WAT, 0) WP_R(WAT, 1)
#else
#define WP_TERMS(P, r)                                                                            \
    WP_T(P, r, 0) WP_T(P, r, 1) WP_T(P, r, 2) WP_T(P, r, 3) WP_T(P, r, 4) WP_T(P, r, 5)
#define WP_EVEN(P, r) WP_T(P, r, 0) WP_T(P, r, 2) WP_T(P, r, 4)
#define WP_ODD(P, r) WP_T(P, r, 1) WP_T(P, r, 3) WP_T(P, r, 5)
#define WP_FOLDS(P) WP_F(P, 0) WP_F(P, 1) WP_F(P, 2) WP_F(P, 3) WP_F(P, 4)
#define WP_ROWS_BT WP_R(WBT, 0) WP_R(WBT, 1) WP_R(WBT, 2) WP_R(WBT, 3) WP_R(WBT, 4) WP_R(WBT, 5)
#define WP_ROWS_AT WP_R(WAT, 0) WP_R(WAT, 1) WP_R(WAT, 2) WP_R(WAT, 3)
#endif
/* row r */
#define WP_R(P, r) WP_CAT_R(WP_R_, P##R##r)(P, r)
#define WP_R_0(P, r)                                                                              \
    {                                                                                             \
        float acc;                                                                                \
        WP_TERMS(P, r)                                                                            \
        y[(r) * ys] = acc;                                                                        \
    }
#define WP_R_1(P, r)                                                                              \
    {                                                                                             \
        float acc;                                                                                \
        WP_EVEN(P, r)                                                                             \
        const float e_ = acc;                                                                     \
        WP_ODD(P, r)                                                                              \
        y[(r) * ys] = FADD(e_, acc);                                                              \
        y[((r) + 1) * ys] = FSUB(e_, acc);                                                        \
    }
#define WP_R_2(P, r)
#define WP_R_3(P, r) y[(r) * ys] = 0.0f;
/* column mode: the inputs ve, vo of every column */
#define WP_F(P, c) WP_CAT_F(WP_F_, P##F##c)(c)
#define WP_F_0(c) ve[c] = vo[c] = x[c];
#define WP_F_1(c) ve[c] = FADD(x[c], x[(c) + 1]); vo[c] = x[c];
#define WP_F_2(c) ve[c] = x[c]; vo[c] = FSUB(x[c], x[(c) + 1]);
#define WP_F_3(c) ve[c] = FADD(x[c], x[(c) + 1]); vo[c] = FSUB(x[c], x[(c) + 1]);
#define WP_PRE(P) WP_CAT_P(WP_PRE_, P##C)(P)
#define WP_PRE_0(P)
#define WP_PRE_1(P)                                                                               \
    float ve[ALPHA], vo[ALPHA];                                                                   \
    WP_FOLDS(P)                                                                                   \
    ve[ALPHA - 1] = vo[ALPHA - 1] = x[ALPHA - 1];

/* y[r * ys] = (B^T x)[r], r < alpha */
IOB_DEV void wino_apply_bt(const float *x, float *y, int ys)
{
    const float m_[A2] = WINO_BT_LIST;
    (void)m_;
    WP_PRE(WBT)
    WP_ROWS_BT
}

/* y[r * ys] = (A^T x)[r], r < m */
IOB_DEV void wino_apply_at(const float *x, float *y, int ys)
{
    const float m_[WINO_M * ALPHA] = WINO_AT_LIST;
    (void)m_;
    WP_PRE(WAT)
    WP_ROWS_AT
}

/* u[a * ALPHA + b] = (G f G^T)[a][b] for one 3x3 filter f (row-major): every sum in FP64, left to
 * right, without contraction, rounded to FP32 once (the filter transform of both kernels' prep;
 * tests/winograd_ref.h, wino_ref_u, is its CPU copy) */
IOB_DEV void wino_filter_transform(const double *f, float *u)
{
    const double gm[ALPHA * 3] = WINO_G_LIST;
    double t[ALPHA * 3]; /* G f */
#pragma unroll
    for (int a = 0; a < ALPHA; a++)
#pragma unroll
        for (int s = 0; s < 3; s++)
            t[a * 3 + s] = DADD(DADD(DMUL(gm[a * 3], f[s]), DMUL(gm[a * 3 + 1], f[3 + s])),
                                DMUL(gm[a * 3 + 2], f[6 + s]));
#pragma unroll
    for (int a = 0; a < ALPHA; a++)
#pragma unroll
        for (int b = 0; b < ALPHA; b++)
            u[a * ALPHA + b] =
                (float)DADD(DADD(DMUL(t[a * 3], gm[b * 3]), DMUL(t[a * 3 + 1], gm[b * 3 + 1])),
                            DMUL(t[a * 3 + 2], gm[b * 3 + 2]));
}

#endif
