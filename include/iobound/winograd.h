/* winograd.h - Winograd minimal filtering F(m x m, r x r) (Lavin and Gray 2016):
 *     Y = A^T [ (G g G^T) .* (B^T d B) ] A,   alpha = m + r - 1,
 * for correlation as CNNs compute it (y_i = sum_k g_k d_{i+k}). The matrices come from the
 * Toom-Cook construction on the points 0, 1, -1, 2, -2, 1/2, -1/2, 3, -3 (as many as alpha - 1
 * needs) plus the point at infinity (docs/bounds.md, "Winograd"). */
#ifndef IOBOUND_WINOGRAD_H
#define IOBOUND_WINOGRAD_H

#include "iobound/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define IOB_WINO_ALPHA_MAX 12

typedef struct iob_winograd {
    int m, r, alpha;
    double AT[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX]; /* m x alpha */
    double G[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX];  /* alpha x r */
    double BT[IOB_WINO_ALPHA_MAX][IOB_WINO_ALPHA_MAX]; /* alpha x alpha */
} iob_winograd;

/* Builds the matrices of F(m, r) for 1 <= m, 2 <= r and m + r - 1 <= 10. IOB_EINVAL otherwise. */
iob_status iob_winograd_make(int m, int r, iob_winograd *w, iob_error *err);

/* Number of nonzero entries of a matrix (rows x cols) of w (for FLOP counts and sparsity). */
int iob_winograd_nnz(const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int cols);

#ifdef __cplusplus
}
#endif

#endif
