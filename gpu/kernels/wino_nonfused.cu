/* wino_nonfused.cu - the transforms of the non-fused Winograd convolution F(m x m, 3 x 3), m = 2
 * or 4 (docs/model.md, "Winograd, non-fused"): the three tensors of the algorithm live in global
 * memory and the element-wise products become alpha^2 independent GEMMs, one cuBLAS batched
 * SGEMM between the two transforms (gpu/host_wino_nonfused.c builds the plan):
 *
 *     U[xi][k][c] = (G g_kc G^T)[xi]         prep, once per layer
 *     V[xi][c][t] = (B^T d_ct B)[xi]         input transform
 *     M[xi][k][t] = sum_c U[xi][k][c] V[xi][c][t]   cuBLAS, alpha^2 GEMMs of K x C by C x T
 *     y[n][k][tile t] = A^T M[.][k][t] A     output transform
 *
 * t runs over the N * NF_TP * NF_TQ tiles (image, tile row, tile column; the column fastest), so
 * the threads of a warp hold neighbouring tiles of one row: their V and M accesses are
 * contiguous, their input patches overlap by alpha - m columns.
 *
 * Kernels (extern "C"), one thread each, 256 per block:
 *   wnf_filter   per (k, c): U in FP64 like the fused kernel's prep, rounded to FP32
 *   wnf_input    per (c, t): the alpha x alpha patch (zeros outside the image), V = B^T d B
 *   wnf_output   per (k, t): Y = A^T M A, the m x m outputs inside the image stored
 * Transforms use the paired term rule of wino_transform.cuh (the fused kernel's, same bits).
 * Macros: LAYER_*, WINO_M and the matrix and rule macros (iob_wino_transform_defines).
 */
#include "wino_transform.cuh"

#define NF_TP ((LAYER_P + WINO_M - 1) / WINO_M)
#define NF_TQ ((LAYER_Q + WINO_M - 1) / WINO_M)
#define NF_T ((long long)LAYER_N * NF_TP * NF_TQ)
#define NF_THREADS 256
/* rows of m outputs that start on an m-float boundary and end inside the image (Q and P*Q
 * multiples of m; the output buffer is 256-byte aligned) are stored as one vector */
#define NF_VEC_STORE (LAYER_Q % WINO_M == 0 && (LAYER_P * LAYER_Q) % WINO_M == 0)
#ifdef IOB_CUDA_EMU
#define STG_ROW(p, v)                                                                             \
    do {                                                                                          \
        for (int b_ = 0; b_ < WINO_M; b_++)                                                       \
            STG((p) + b_, (v)[b_]);                                                               \
    } while (0)
#elif WINO_M == 4
#define STG_ROW(p, v) (*(float4 *)(p) = make_float4((v)[0], (v)[1], (v)[2], (v)[3]))
#else
#define STG_ROW(p, v) (*(float2 *)(p) = make_float2((v)[0], (v)[1]))
#endif

IOB_STATIC_ASSERT(LAYER_R == 3 && LAYER_S == 3 && LAYER_STRIDE_H == 1 && LAYER_STRIDE_W == 1 &&
                      LAYER_DIL_H == 1 && LAYER_DIL_W == 1 && LAYER_GROUPS == 1,
                  "non-fused Winograd: 3x3, stride 1, no dilation, one group");
IOB_STATIC_ASSERT(WINO_M == 2 || WINO_M == 4, "WINO_M must be 2 or 4");

/* the thread's index over a launch of `total` items; -1 past the end */
IOB_DEV long long nf_item(long long total)
{
    const long long e = (long long)blockIdx.x * NF_THREADS + threadIdx.x;
    return e < total ? e : -1;
}

IOB_KERNEL void __launch_bounds__(NF_THREADS)
    wnf_filter(const float *IOB_RESTRICT w, float *IOB_RESTRICT U)
{
    const long long e = nf_item((long long)LAYER_K * LAYER_C);
    if (e < 0)
        return;
    double f[9];
    for (int i = 0; i < 9; i++)
        f[i] = (double)LDG(w + e * 9 + i); /* w[k][c][3][3]: e = k * C + c */
    float u[A2];
    wino_filter_transform(f, u);
#pragma unroll
    for (int i = 0; i < A2; i++)
        STG(U + (long long)i * LAYER_K * LAYER_C + e, u[i]);
}

/* tile t: its image n, tile row tp and tile column tq (the column fastest) */
IOB_DEV long long nf_tile(long long t, int *tp, int *tq)
{
    *tq = (int)(t % NF_TQ);
    *tp = (int)(t / NF_TQ % NF_TP);
    return t / (NF_TP * NF_TQ);
}

/* out[r * rows + s] = (X x X^T)[r][s] for an alpha x alpha tile x held in registers, X = B^T
 * (bt = 1, rows = alpha) or A^T (bt = 0, rows = m): X applied to every column, then to every
 * row of the result, by the paired term rule */
IOB_DEV void nf_2d(int bt, const float *x, float *out)
{
    float tmp[A2];
#pragma unroll
    for (int j = 0; j < ALPHA; j++) {
        float col[ALPHA];
#pragma unroll
        for (int i = 0; i < ALPHA; i++)
            col[i] = x[i * ALPHA + j];
        if (bt)
            wino_apply_bt(col, tmp + j, ALPHA);
        else
            wino_apply_at(col, tmp + j, ALPHA);
    }
#pragma unroll
    for (int a = 0; a < (bt ? ALPHA : WINO_M); a++) {
        if (bt)
            wino_apply_bt(tmp + a * ALPHA, out + a * ALPHA, 1);
        else
            wino_apply_at(tmp + a * ALPHA, out + a * WINO_M, 1);
    }
}

IOB_KERNEL void __launch_bounds__(NF_THREADS)
    wnf_input(const float *IOB_RESTRICT in, float *IOB_RESTRICT V)
{
    const long long e = nf_item((long long)LAYER_C * NF_T);
    if (e < 0)
        return;
    const long long t = e % NF_T, c = e / NF_T;
    int tp, tq;
    const long long n = nf_tile(t, &tp, &tq);
    const int h0 = tp * WINO_M - LAYER_PAD_TOP, w0 = tq * WINO_M - LAYER_PAD_LEFT;
    const float *x = in + (n * LAYER_C + c) * LAYER_H * LAYER_W;
    float d[A2], v[A2];
#pragma unroll
    for (int i = 0; i < ALPHA; i++)
#pragma unroll
        for (int j = 0; j < ALPHA; j++) {
            const int h = h0 + i, w = w0 + j;
            d[i * ALPHA + j] =
                h >= 0 && h < LAYER_H && w >= 0 && w < LAYER_W ? LDG(x + h * LAYER_W + w) : 0.0f;
        }
    nf_2d(1, d, v);
#pragma unroll
    for (int xi = 0; xi < A2; xi++)
        STG(V + ((long long)xi * LAYER_C + c) * NF_T + t, v[xi]);
}

IOB_KERNEL void __launch_bounds__(NF_THREADS)
    wnf_output(const float *IOB_RESTRICT M, float *IOB_RESTRICT y)
{
    const long long e = nf_item((long long)LAYER_K * NF_T);
    if (e < 0)
        return;
    const long long t = e % NF_T, k = e / NF_T;
    int tp, tq;
    const long long n = nf_tile(t, &tp, &tq);
    float mm[A2], yy[WINO_M * WINO_M];
#pragma unroll
    for (int xi = 0; xi < A2; xi++)
        mm[xi] = LDG(M + ((long long)xi * LAYER_K + k) * NF_T + t);
    nf_2d(0, mm, yy);
    float *out = y + (n * LAYER_K + k) * LAYER_P * LAYER_Q;
#pragma unroll
    for (int a = 0; a < WINO_M; a++) {
        const float *v = yy + a * WINO_M;
        const int p = tp * WINO_M + a;
#if NF_VEC_STORE
        /* the row's m outputs as one float4 / float2, one bounds test a row. NVVM (CUDA 13.0)
         * still emits four scalar stores for it (the PTX of vgg16.conv4_2's launch); measured
         * on the H100 (vgg16.conv4_2, batch 8, F(4x4)), this kernel's SM->L2 writes went from
         * 51.6 MB (per-element stores, call 18) to 40.1 MB (call 19) for a 12.8 MB output. A
         * vector store written in PTX is the next step (not measured yet) */
        if (p < LAYER_P)
            STG_ROW(out + p * LAYER_Q + tq * WINO_M, v);
#else
#pragma unroll
        for (int b = 0; b < WINO_M; b++) {
            const int q = tq * WINO_M + b;
            if (p < LAYER_P && q < LAYER_Q)
                STG(out + p * LAYER_Q + q, v[b]);
        }
#endif
    }
}
