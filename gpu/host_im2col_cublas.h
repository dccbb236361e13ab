/* host_im2col_cublas.h - shapes of the im2col + cuBLAS SGEMM reference path (internal to gpu/;
 * pure C, unit-tested on the CPU by emulating the GEMM calls).
 *
 * For each chunk of images [n0, n0 + nimg): the gather kernel (gpu/kernels/im2col_gather.cu)
 * writes col[img][g][crs][pq]; then for each group g one cublasSgemmStridedBatched over the
 * chunk's images computes, column-major,
 *
 *     C (m x n) = A (m x k) * B (k x n),  m = P*Q, n = K/G, k = C/G*R*S
 *     A = col + g*a_group (lda = m, stride_a per image), B = w + g*b_group (ldb = k, stride 0),
 *     C = y + n0*K*P*Q + g*c_group (ldc = m, stride_c per image)
 *
 * which is Y[n][k][pq] = sum_crs W[k][crs] * col[n][g][crs][pq] in NCHW (a row-major matrix read
 * as column-major is its transpose: Y^T = col^T W^T).
 */
#ifndef IOB_GPU_HOST_IM2COL_CUBLAS_H
#define IOB_GPU_HOST_IM2COL_CUBLAS_H

#include <stdint.h>

#include "iobound/plan.h"

typedef struct iob_im2col_gemm {
    int64_t m, n, k;                  /* per group and image */
    int64_t lda, ldb, ldc;
    int64_t stride_a, stride_b, stride_c; /* between the images of a batch (elements) */
    int64_t a_group, b_group, c_group;    /* offset of group g is g * these (elements) */
    int64_t c_image;                      /* offset of image n0 in y: n0 * c_image */
    int64_t groups;
    int64_t images_per_chunk, chunks;
    int64_t col_bytes;                    /* workspace: one chunk of col */
} iob_im2col_gemm;

/* Shapes for a layer with the column buffer limited to max_col_bytes. IOB_ENOMEM when one image's
 * columns do not fit, IOB_ERANGE when a dimension exceeds cuBLAS's int range. */
iob_status iob_im2col_gemm_shape(const iob_layer *L, int64_t max_col_bytes, iob_im2col_gemm *g,
                                 iob_error *err);

/* The gather launch for images [n0, n0 + nimg) (args: input, WORK0 = col, n0, nimg); grid of at
 * most 8 blocks per SM (grid-stride loop). */
iob_status iob_im2col_gather_launch(const iob_layer *L, int64_t n0, int64_t nimg, int sm_count,
                                    iob_launch *l, iob_error *err);

#endif
