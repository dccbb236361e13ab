/* test_winograd_matrices.c - the transform matrices of iob_winograd_make (Toom-Cook on
 * 0, 1, -1, 2, -2, 1/2, ...): F(2,3), F(4,3), F(6,3) and F(2,5) computed with them reproduce
 * direct correlation on random data to 1e-12 in double, in 1D and nested in 2D; the matrices of
 * the two kernel variants are the known ones (Lavin and Gray 2016); bad arguments are refused.
 */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "iobound/winograd.h"
#include "model/winograd_dataflow.h"

static double rnd(uint64_t *s)
{
    *s = *s * 6364136223846793005ull + 1442695040888963407ull;
    return (double)(*s >> 11) / 9007199254740992.0 * 2.0 - 1.0;
}

/* max |Winograd - direct| over random 1D and 2D problems of F(m, r), relative to max |direct| */
static double max_err(int m, int r)
{
    iob_winograd w;
    iob_error err = {0};
    assert_int_equal(iob_winograd_make(m, r, &w, &err), IOB_OK);
    assert_int_equal(w.alpha, m + r - 1);
    int a = w.alpha;
    uint64_t seed = 12345u + (uint64_t)(m * 31 + r);
    double worst = 0;
    for (int trial = 0; trial < 50; trial++) {
        double d[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX], g[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++)
                d[i][j] = rnd(&seed);
        for (int i = 0; i < r; i++)
            for (int j = 0; j < r; j++)
                g[i][j] = rnd(&seed);
        /* 1D: y = A^T [(G g) .* (B^T d)] on row 0 */
        double u[IOB_WINO_ALPHA_MAX], v[IOB_WINO_ALPHA_MAX];
        for (int i = 0; i < a; i++) {
            u[i] = v[i] = 0;
            for (int k = 0; k < r; k++)
                u[i] += w.G[i][k] * g[0][k];
            for (int k = 0; k < a; k++)
                v[i] += w.BT[i][k] * d[0][k];
        }
        for (int i = 0; i < m; i++) {
            double y = 0, ref = 0, scale = 0;
            for (int k = 0; k < a; k++)
                y += w.AT[i][k] * u[k] * v[k];
            for (int k = 0; k < r; k++) {
                ref += g[0][k] * d[0][i + k];
                scale += fabs(g[0][k] * d[0][i + k]);
            }
            worst = fmax(worst, fabs(y - ref) / scale);
        }
        /* 2D: Y = A^T [(G g G^T) .* (B^T d B)] A */
        double U[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX] = {{0}};
        double V[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX] = {{0}};
        double t1[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX] = {{0}};
        double t2[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX] = {{0}};
        for (int i = 0; i < a; i++)
            for (int j = 0; j < r; j++)
                for (int k = 0; k < r; k++)
                    t1[i][j] += w.G[i][k] * g[k][j];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++)
                for (int k = 0; k < r; k++)
                    U[i][j] += t1[i][k] * w.G[j][k];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++)
                for (int k = 0; k < a; k++)
                    t2[i][j] += w.BT[i][k] * d[k][j];
        for (int i = 0; i < a; i++)
            for (int j = 0; j < a; j++)
                for (int k = 0; k < a; k++)
                    V[i][j] += t2[i][k] * w.BT[j][k];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < m; j++) {
                double y = 0, ref = 0, scale = 0;
                for (int p = 0; p < a; p++)
                    for (int q = 0; q < a; q++)
                        y += w.AT[i][p] * U[p][q] * V[p][q] * w.AT[j][q];
                for (int p = 0; p < r; p++)
                    for (int q = 0; q < r; q++) {
                        ref += g[p][q] * d[i + p][j + q];
                        scale += fabs(g[p][q] * d[i + p][j + q]);
                    }
                worst = fmax(worst, fabs(y - ref) / scale);
            }
    }
    return worst;
}

static void test_reproduces_correlation(void **state)
{
    (void)state;
    const int cases[][2] = {{2, 3}, {4, 3}, {6, 3}, {2, 5}, {3, 3}, {4, 5}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        double e = max_err(cases[i][0], cases[i][1]);
        print_message("  F(%d,%d): max error %.2e (relative to sum |g d|)\n", cases[i][0],
                      cases[i][1], e);
        assert_true(e < 1e-12);
    }
}

static void test_known_matrices(void **state)
{
    (void)state;
    iob_winograd w;
    assert_int_equal(iob_winograd_make(2, 3, &w, NULL), IOB_OK);
    /* Lavin & Gray's F(2,3) up to the sign of row 0 of B^T and G (points 0, 1, -1, inf) */
    const double bt2[4][4] = {{-1, 0, 1, 0}, {0, 1, 1, 0}, {0, -1, 1, 0}, {0, -1, 0, 1}};
    const double at2[2][4] = {{1, 1, 1, 0}, {0, 1, -1, 1}};
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 4; j++)
            assert_true(w.BT[i][j] == bt2[i][j]);
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 4; j++)
            assert_true(w.AT[i][j] == at2[i][j]);
    assert_int_equal(iob_winograd_make(4, 3, &w, NULL), IOB_OK);
    const double bt4[6][6] = {{4, 0, -5, 0, 1, 0},  {0, -4, -4, 1, 1, 0}, {0, 4, -4, -1, 1, 0},
                              {0, -2, -1, 2, 1, 0}, {0, 2, -1, -2, 1, 0}, {0, 4, 0, -5, 0, 1}};
    const double at4[4][6] = {{1, 1, 1, 1, 1, 0}, {0, 1, -1, 2, -2, 0},
                              {0, 1, 1, 4, 4, 0}, {0, 1, -1, 8, -8, 1}};
    for (int i = 0; i < 6; i++)
        for (int j = 0; j < 6; j++)
            assert_true(w.BT[i][j] == bt4[i][j]);
    for (int i = 0; i < 4; i++)
        for (int j = 0; j < 6; j++)
            assert_true(w.AT[i][j] == at4[i][j]);
    assert_true(fabs(w.G[1][0] + 1.0 / 6) < 1e-16 && fabs(w.G[3][0] - 1.0 / 24) < 1e-16);
    /* nonzeros, and the operations of one application under the kernel's paired rule:
     * B^T: row 0 (2 FMUL + 2 FADD), rows 1,2 as E +- O (2 + 4), rows 3,4 (2 + 4), row 5 (2 + 2);
     * A^T: x1 +- x2, x3 +- x4 (4 FADD), then rows of 2, 1+1, 1+1, 1+2 */
    assert_int_equal(iob_winograd_nnz(w.BT, 6, 6), 22);
    iob_wino_ops b = iob_wino_apply_ops(w.BT, 6, 6), a = iob_wino_apply_ops(w.AT, 4, 6);
    assert_int_equal(b.fmul, 8);
    assert_int_equal(b.fadd, 12);
    assert_int_equal(a.fmul, 3);
    assert_int_equal(a.fadd, 10);
    assert_int_equal(iob_winograd_make(2, 3, &w, NULL), IOB_OK);
    b = iob_wino_apply_ops(w.BT, 4, 4);
    a = iob_wino_apply_ops(w.AT, 2, 4);
    assert_int_equal(b.fmul + b.fadd, 4);
    assert_int_equal(a.fmul + a.fadd, 4);
}

/* The paired rule computes M x: against the plain product in double, on random vectors. */
static void test_paired_rule_values(void **state)
{
    (void)state;
    uint64_t seed = 99;
    for (int m = 2; m <= 4; m += 2) {
        iob_winograd w;
        assert_int_equal(iob_winograd_make(m, 3, &w, NULL), IOB_OK);
        float bt[36], at[24], x[6], y[6];
        for (int i = 0; i < w.alpha; i++)
            for (int j = 0; j < w.alpha; j++)
                bt[i * w.alpha + j] = (float)w.BT[i][j];
        for (int i = 0; i < m; i++)
            for (int j = 0; j < w.alpha; j++)
                at[i * w.alpha + j] = (float)w.AT[i][j];
        for (int trial = 0; trial < 100; trial++) {
            for (int j = 0; j < w.alpha; j++)
                x[j] = (float)rnd(&seed);
            for (int which = 0; which < 2; which++) {
                int rows = which ? m : w.alpha;
                iob_wino_apply_f32(which ? at : bt, rows, w.alpha, x, y, 1, NULL);
                for (int r = 0; r < rows; r++) {
                    double want = 0, scale = 0;
                    for (int j = 0; j < w.alpha; j++) {
                        double c = which ? w.AT[r][j] : w.BT[r][j];
                        want += c * x[j];
                        scale += fabs(c * x[j]);
                    }
                    assert_true(fabs(y[r] - want) <= 4 * 6e-8 * scale);
                }
            }
        }
    }
}

static void test_bad_arguments(void **state)
{
    (void)state;
    iob_winograd w;
    iob_error err = {0};
    assert_int_equal(iob_winograd_make(0, 3, &w, &err), IOB_EINVAL);
    assert_int_equal(iob_winograd_make(2, 1, &w, &err), IOB_EINVAL);
    assert_int_equal(iob_winograd_make(8, 5, &w, &err), IOB_EINVAL); /* alpha 12 > 10 */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_reproduces_correlation),
        cmocka_unit_test(test_known_matrices),
        cmocka_unit_test(test_paired_rule_values),
        cmocka_unit_test(test_bad_arguments),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
