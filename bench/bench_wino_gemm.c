/* bench_wino_gemm.c - how fast is the middle of a non-fused Winograd convolution on this GPU?
 * Times the alpha^2 independent GEMMs M_xi (K x T) = U_xi (K x C) * V_xi (C x T) that F(m x m,
 * 3 x 3) needs for a layer (alpha = m + 2, T = N * ceil(P/m) * ceil(Q/m) tiles), as one
 * cublasSgemmStridedBatched in FP32 (CUBLAS_PEDANTIC_MATH: no TF32), L2 flushed by a read
 * before each run, median of --reps runs between CUDA events. Prints the GEMM time, its
 * TFLOP/s and the time of the whole layer this would allow, in direct-convolution FLOP/s, to
 * compare with cuDNN's WINOGRAD_NONFUSED time (docs/results/tune.md).
 *
 *   bench_wino_gemm [--reps N] SPEC...      (SPEC: iobound's layer grammar, 3x3 stride 1)
 *
 * GPU only (built when the GPU module is); a question asked before writing a kernel, not a test.
 */
#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/layer.h"

#define CK(x)                                                                                 \
    do {                                                                                      \
        cudaError_t e_ = (x);                                                                 \
        if (e_ != cudaSuccess) {                                                              \
            fprintf(stderr, "bench_wino_gemm: %s: %s\n", #x, cudaGetErrorString(e_));         \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)
#define CB(x)                                                                                 \
    do {                                                                                      \
        cublasStatus_t s_ = (x);                                                              \
        if (s_ != CUBLAS_STATUS_SUCCESS) {                                                    \
            fprintf(stderr, "bench_wino_gemm: %s failed (%d)\n", #x, (int)s_);                \
            return 1;                                                                         \
        }                                                                                     \
    } while (0)

static int cmp_float(const void *a, const void *b)
{
    float x = *(const float *)a, y = *(const float *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv)
{
    int reps = 20, first = 1;
    if (argc > 2 && !strcmp(argv[1], "--reps")) {
        reps = atoi(argv[2]);
        first = 3;
    }
    if (first >= argc || reps < 1 || reps > 1000) {
        fprintf(stderr, "usage: bench_wino_gemm [--reps N] SPEC...\n");
        return 2;
    }
    cublasHandle_t h;
    CB(cublasCreate(&h));
    CB(cublasSetMathMode(h, CUBLAS_PEDANTIC_MATH));
    int l2 = 0;
    CK(cudaDeviceGetAttribute(&l2, cudaDevAttrL2CacheSize, 0));
    size_t flush_n = 2 * (size_t)l2;
    char *flush, *flush_dst;
    CK(cudaMalloc((void **)&flush, flush_n));
    CK(cudaMalloc((void **)&flush_dst, flush_n));
    CK(cudaMemset(flush, 1, flush_n));
    cudaEvent_t e0, e1;
    CK(cudaEventCreate(&e0));
    CK(cudaEventCreate(&e1));
    float *t = malloc(sizeof(float) * (size_t)reps);
    printf("layer,m,gemms,K,C,T,gemm_ms,gemm_tflops,direct_equiv_tflops\n");
    for (int a = first; a < argc; a++) {
        iob_layer L;
        iob_error err;
        if (iob_layer_parse(argv[a], &L, &err) != IOB_OK) {
            fprintf(stderr, "bench_wino_gemm: %s\n", err.msg);
            return 2;
        }
        for (int m = 2; m <= 4; m += 2) {
            long long al = m + 2, T = L.n * ((L.p + m - 1) / m) * ((L.q + m - 1) / m);
            long long K = L.k, C = L.c, batch = al * al;
            float *U, *V, *M;
            CK(cudaMalloc((void **)&U, sizeof(float) * (size_t)(batch * K * C)));
            CK(cudaMalloc((void **)&V, sizeof(float) * (size_t)(batch * C * T)));
            CK(cudaMalloc((void **)&M, sizeof(float) * (size_t)(batch * K * T)));
            CK(cudaMemset(U, 0, sizeof(float) * (size_t)(batch * K * C)));
            CK(cudaMemset(V, 0, sizeof(float) * (size_t)(batch * C * T)));
            const float one = 1.0f, zero = 0.0f;
            for (int r = -3; r < reps; r++) {
                /* the flush: a device-to-device copy reads 2x the L2 */
                CK(cudaMemcpy(flush_dst, flush, flush_n, cudaMemcpyDeviceToDevice));
                CK(cudaEventRecord(e0, 0));
                /* row-major M (K x T) = U (K x C) V (C x T), i.e. column-major
                 * M^T (T x K) = V^T (T x C) U^T (C x K) */
                CB(cublasSgemmStridedBatched(h, CUBLAS_OP_N, CUBLAS_OP_N, (int)T, (int)K, (int)C,
                                             &one, V, (int)T, C * T, U, (int)C, K * C, &zero, M,
                                             (int)T, K * T, (int)batch));
                CK(cudaEventRecord(e1, 0));
                CK(cudaEventSynchronize(e1));
                if (r >= 0)
                    CK(cudaEventElapsedTime(&t[r], e0, e1));
            }
            qsort(t, (size_t)reps, sizeof *t, cmp_float);
            double ms = t[reps / 2];
            double gf = 2.0 * (double)batch * (double)K * (double)C * (double)T;
            double direct = 2.0 * (double)L.n * L.k * L.c * L.p * L.q * L.r * L.s;
            printf("%s,%d,%lld,%lld,%lld,%lld,%.4f,%.1f,%.1f\n", L.name[0] ? L.name : argv[a], m,
                   batch, K, C, T, ms, gf / ms / 1e9, direct / ms / 1e9);
            fflush(stdout);
            CK(cudaFree(U));
            CK(cudaFree(V));
            CK(cudaFree(M));
        }
    }
    free(t);
    cublasDestroy(h);
    return 0;
}
