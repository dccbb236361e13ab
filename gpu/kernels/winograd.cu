/* winograd.cu - fused Winograd F(m x m, 3 x 3) convolution in FP32 (NCHW), m = 2 or 4, and its
 * two helper kernels. The dataflow is specified in docs/model.md, section "Winograd"; the closed
 * form (model/winograd.c) and the trace generator (sim/trace_winograd.c) count what this file does.
 *
 *     Y = A^T [ U .* V ] A,  U = G g G^T (filter, once per layer),  V = B^T d B (input, fused)
 *
 * Kernels (extern "C"):
 *   iob_winograd_filter  prep: U = G g G^T in FP64, rounded to FP32, into the workspace in the
 *                        pre-tiled layout [G][KB][NCH][alpha^2][TILE_C][TILE_K] (zero padded),
 *                        so that one pipeline stage's U slice is one contiguous, aligned block.
 *   iob_winograd_fused   the convolution: per block TILE_K output channels x a TILE_P x TILE_Q
 *                        output tile of one image (and, with SPLIT_C > 1, one part of the
 *                        channel chunks); per chunk of TILE_C channels: cp.async of the U slice
 *                        and the (TILE_P+2) x (TILE_Q+2) input patch (padding as zero fill, no
 *                        global read), input transform to V in shared memory, then the EWMM in
 *                        register tiles; at the end M = sum U.*V goes through shared memory to
 *                        the output transform, Y is staged in shared memory and stored row-wise.
 *   iob_winograd_sum     SPLIT_C > 1 only: y = sum over the SPLIT_C partial outputs, in order.
 *
 * Macros (gpu/host_winograd.c writes them; names follow the config keys): LAYER_*, WINO_M,
 * TILE_K, TILE_P, TILE_Q, TILE_C, MICRO_K (output channels per thread), MICRO_Q (Winograd tiles
 * per thread), MICRO_P (frequencies per thread), STAGES (>= 2), SPLIT_C; the transform matrices
 * from iob_winograd_make(), one macro per entry, row-major: WBT0.. (B^T, alpha x alpha, exact
 * in FP32), WAT0.. (A^T, m x alpha) for the fused kernel, WG0.. (G, alpha x 3, printed with 17
 * digits, used in FP64) for the filter kernel; the paired term rule's decisions for B^T and A^T
 * (WBTC, WBTF<c>, WBTR<r>, WBTO<r><i>, the same with WAT: see the WP_* macros below); the
 * derived epilogue geometry WINO_KS, WINO_KR, WINO_BR, WINO_YS, the model's resident blocks per
 * SM WINO_MIN_BLOCKS (for __launch_bounds__), and the checks WINO_THREADS, WINO_SMEM_FLOATS (both
 * re-derived here and asserted).
 *
 * Every shared-memory access goes through SLD, SST, LDS4/2 or STS4/2 and every global load or
 * store that is not a cp.async through LDG/STG, so that the CPU emulation can log and count them;
 * on the GPU they are plain accesses. Do not compile with --use_fast_math (FTZ would change the
 * bits of denormal results; the tests assume IEEE FP32).
 *
 * Arithmetic (exact and countable): transforms use only __fmul_rn / __fadd_rn / __fsub_rn, which
 * the compiler never contracts into FFMA, evaluated by the paired term rule (wino_apply_bt/at); the
 * EWMM uses __fmaf_rn in channel order. So the only FFMA instructions are the EWMM's, and a CPU
 * with the same operation order reproduces the output bit for bit (tests/test_winograd_emu.c
 * compiles this very file as C with tests/cuda_emu.h and runs it on threads).
 */

#include "wino_transform.cuh"

/* ---- derived geometry (docs/model.md, "Winograd": symbols) ---------------------------------- */
#define W_TP (TILE_P / WINO_M)          /* Winograd tiles per block: rows */
#define W_TQ (TILE_Q / WINO_M)          /*   columns */
#define W_TT (W_TP * W_TQ)              /*   total */
#define W_PH (TILE_P + 2)               /* input patch rows */
#define W_PW (TILE_Q + 2)               /* input patch columns */
#define W_CG (LAYER_C / LAYER_GROUPS)
#define W_KG (LAYER_K / LAYER_GROUPS)
#define W_NBQ ((LAYER_Q + TILE_Q - 1) / TILE_Q)
#define W_KB ((W_KG + TILE_K - 1) / TILE_K)
#define W_NCH ((W_CG + TILE_C - 1) / TILE_C)
#define W_JPS ((W_NCH + SPLIT_C - 1) / SPLIT_C) /* chunks per split */
#define W_NTK (TILE_K / MICRO_K)        /* EWMM threads along k */
#define W_NTT (W_TT / MICRO_Q)          /*   along tiles */
#define W_NFG (A2 / MICRO_P)            /*   frequency groups */
#define W_THREADS (W_NFG * W_NTK * W_NTT)
#define W_VK (MICRO_K >= 4 ? 4 : MICRO_K) /* vector width of the U loads (floats) */
#define W_VQ (MICRO_Q >= 4 ? 4 : MICRO_Q) /*   of the V loads */
/* shared memory, floats: STAGES x (U slice, patch), one V; epilogue M and Y staging overlay it */
#define W_UF (A2 * TILE_C * TILE_K)
#define W_XF (((TILE_C * W_PH * W_PW) + 3) / 4 * 4)
#define W_VF (A2 * TILE_C * W_TT)
#define W_OFF_X (STAGES * W_UF)
#define W_OFF_V (W_OFF_X + STAGES * W_XF)
#define W_PIPE (W_OFF_V + W_VF)
#define W_MF (A2 * W_TT * WINO_KS)
#define W_OFF_Y W_MF
#define W_EPI (W_OFF_Y + WINO_KR * WINO_YS)
#define W_SMEM (W_PIPE > W_EPI ? W_PIPE : W_EPI)
#define W_EOUT ((long long)LAYER_N * LAYER_K * LAYER_P * LAYER_Q)
#define W_EPAD ((W_EOUT + 7) / 8 * 8)   /* plane stride of the split partials */


/* shared loads and stores of VK or VQ floats: one 128-bit, 64-bit or 32-bit access */
#if W_VK == 4
#define LDS_VK LDS4
#define STS_VK STS4
#elif W_VK == 2
#define LDS_VK LDS2
#define STS_VK STS2
#else
#define LDS_VK(dst, p) ((dst)[0] = SLD(p))
#define STS_VK(p, src) SST(p, (src)[0])
#endif
#if W_VQ == 4
#define LDS_VQ LDS4
#elif W_VQ == 2
#define LDS_VQ LDS2
#else
#define LDS_VQ(dst, p) ((dst)[0] = SLD(p))
#endif

IOB_STATIC_ASSERT(LAYER_R == 3 && LAYER_S == 3, "the fused Winograd kernel is for 3x3 filters");
IOB_STATIC_ASSERT(WINO_M == 2 || WINO_M == 4, "WINO_M must be 2 or 4");
IOB_STATIC_ASSERT(TILE_P % WINO_M == 0 && TILE_Q % WINO_M == 0, "tiles are multiples of m");
IOB_STATIC_ASSERT(TILE_K % MICRO_K == 0 && TILE_K % 4 == 0, "TILE_K: multiple of MICRO_K and 4");
IOB_STATIC_ASSERT(W_TT % MICRO_Q == 0 && A2 % MICRO_P == 0, "MICRO_Q | tiles, MICRO_P | alpha^2");
IOB_STATIC_ASSERT(MICRO_K % W_VK == 0 && MICRO_Q % W_VQ == 0, "MICRO_K, MICRO_Q: 1, 2 or 4k");
IOB_STATIC_ASSERT(STAGES >= 2, "the pipeline needs at least 2 stages");
IOB_STATIC_ASSERT(W_THREADS == WINO_THREADS, "thread count disagrees with the host plan");
IOB_STATIC_ASSERT(W_SMEM == WINO_SMEM_FLOATS, "shared memory disagrees with the host plan");
IOB_STATIC_ASSERT(WINO_KS % 4 == 0 && WINO_KS >= TILE_K, "M row stride");

/* dst = M src M^T for a square src (alpha x alpha, element [i][j] at src[i * sr + j * sc] in
 * shared memory) and M = A^T (at = 1, m x alpha) or B^T (at = 0, alpha x alpha): pass 1 column by
 * column, tmp[.][j] = M src[.][j]; pass 2 row by row, dst[a][.] = M tmp[a][.], stored to
 * dst[a * dr + b * dc]. */
IOB_DEV void wino_2d(int at, const float *src, int sr, int sc, float *dst, int dr, int dc)
{
    const int rows = at ? WINO_M : ALPHA;
    float tmp[ALPHA * ALPHA];
#pragma unroll
    for (int j = 0; j < ALPHA; j++) {
        float col[ALPHA];
#pragma unroll
        for (int i = 0; i < ALPHA; i++)
            col[i] = SLD(src + i * sr + j * sc);
        if (at)
            wino_apply_at(col, tmp + j, ALPHA);
        else
            wino_apply_bt(col, tmp + j, ALPHA);
    }
#pragma unroll
    for (int a = 0; a < rows; a++) {
        float v[ALPHA];
        if (at)
            wino_apply_at(tmp + a * ALPHA, v, 1);
        else
            wino_apply_bt(tmp + a * ALPHA, v, 1);
#pragma unroll
        for (int b = 0; b < rows; b++)
            SST(dst + a * dr + b * dc, v[b]);
    }
}

/* ---- prep: U = G g G^T --------------------------------------------------------------------- */
/* One thread per (g, kb, chunk, c, k) of the pre-tiled workspace; 256 threads per block. */
IOB_KERNEL void iob_winograd_filter(const float *IOB_RESTRICT w, float *IOB_RESTRICT U)
{
    const long long total = (long long)LAYER_GROUPS * W_KB * W_NCH * TILE_C * TILE_K;
    const long long u = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (u >= total)
        return;
    const int kl = (int)(u % TILE_K), cl = (int)(u / TILE_K % TILE_C);
    const long long slice = u / (TILE_K * TILE_C); /* (g*KB + kb)*NCH + j */
    const int j = (int)(slice % W_NCH), kb = (int)(slice / W_NCH % W_KB);
    const int g = (int)(slice / ((long long)W_NCH * W_KB));
    const int k = kb * TILE_K + kl, c = j * TILE_C + cl;
    double f[9];
    for (int i = 0; i < 9; i++)
        f[i] = 0.0;
    if (k < W_KG && c < W_CG)
        for (int i = 0; i < 9; i++)
            f[i] = (double)w[(((long long)g * W_KG + k) * W_CG + c) * 9 + i];
    float u_[A2];
    wino_filter_transform(f, u_);
    float *dst = U + slice * W_UF + cl * TILE_K + kl;
#pragma unroll
    for (int i = 0; i < A2; i++)
        dst[i * (TILE_C * TILE_K)] = u_[i];
}

/* ---- the fused kernel ------------------------------------------------------------------------ */

/* Issues the cp.async copies of channel chunk jc (within the group) into pipeline buffer s:
 * first the U slice (16-byte copies, in order), then the patch: each thread takes patch positions
 * rc = tid, tid + THREADS, ... (row-major over (TILE_P+2) x (TILE_Q+2)) and copies that position
 * of every channel of the chunk; outside the image or past C/G it zero-fills without a read. */
IOB_DEV void wino_load_stage(float *smem, int s, int jc, const float *xg, const float *ug,
                             const float *x, int h0, int w0, int tid)
{
    float *us = smem + s * W_UF;
    const float *usrc = ug + (long long)jc * W_UF;
    for (int e = tid; e < W_UF / 4; e += W_THREADS)
        cp_async16(us + 4 * e, usrc + 4 * e);
    float *xs = smem + W_OFF_X + s * W_XF;
    const float *xc = xg + (long long)jc * TILE_C * LAYER_H * LAYER_W;
    for (int rc = tid; rc < W_PH * W_PW; rc += W_THREADS) {
        const int h = h0 + rc / W_PW, ww = w0 + rc % W_PW;
        const int in = h >= 0 && h < LAYER_H && ww >= 0 && ww < LAYER_W;
        const long long off = in ? (long long)h * LAYER_W + ww : 0;
#pragma unroll 4
        for (int c = 0; c < TILE_C; c++) {
            const int ok = in && jc * TILE_C + c < W_CG;
            cp_async4(xs + c * (W_PH * W_PW) + rc,
                      ok ? xc + (long long)c * LAYER_H * LAYER_W + off : x, ok ? 4 : 0);
        }
    }
}

/* V[xi][c][t] = (B^T d B)[xi] for every (c, t) of the chunk: one thread per pair. */
IOB_DEV void wino_input_transform(const float *xs, float *vs, int tid)
{
    for (int pr = tid; pr < TILE_C * W_TT; pr += W_THREADS) {
        const int c = pr / W_TT, t = pr % W_TT;
        const float *d = xs + c * (W_PH * W_PW) + (t / W_TQ) * WINO_M * W_PW + (t % W_TQ) * WINO_M;
        wino_2d(0, d, W_PW, 1, vs + pr, ALPHA * TILE_C * W_TT, TILE_C * W_TT);
    }
}

IOB_KERNEL void __launch_bounds__(W_THREADS, WINO_MIN_BLOCKS)
    iob_winograd_fused(const float *IOB_RESTRICT x, const float *IOB_RESTRICT U,
                       float *IOB_RESTRICT y)
{
    IOB_DYN_SMEM(smem);
    const int tid = threadIdx.x;
    const int bq = blockIdx.x % W_NBQ, bp = blockIdx.x / W_NBQ;
    const int kb = blockIdx.y % W_KB, g = blockIdx.y / W_KB;
    const int sc = blockIdx.z % SPLIT_C, n = blockIdx.z / SPLIT_C;
    const int ch0 = sc * W_JPS;
    const int nch = (W_NCH - ch0 < W_JPS ? W_NCH - ch0 : W_JPS);
    const float *xg = x + ((long long)n * LAYER_C + (long long)g * W_CG) * LAYER_H * LAYER_W;
    const float *ug = U + ((long long)g * W_KB + kb) * W_NCH * (long long)W_UF;
    const int h0 = bp * TILE_P - LAYER_PAD_TOP, w0 = bq * TILE_Q - LAYER_PAD_LEFT;
    /* EWMM roles: tid = (fg * NTT + ti) * NTK + ki */
    const int ki = tid % W_NTK, ti = tid / W_NTK % W_NTT, fg = tid / (W_NTK * W_NTT);

    float acc[MICRO_P][MICRO_K][MICRO_Q];
#pragma unroll
    for (int f = 0; f < MICRO_P; f++)
#pragma unroll
        for (int a = 0; a < MICRO_K; a++)
#pragma unroll
            for (int b = 0; b < MICRO_Q; b++)
                acc[f][a][b] = 0.0f;

    /* prologue: stages 0 .. STAGES-2 in flight (one commit group each, empty past the end) */
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < nch)
            wino_load_stage(smem, s, ch0 + s, xg, ug, x, h0, w0, tid);
        CP_ASYNC_COMMIT();
    }
    float *vs = smem + W_OFF_V;
    for (int j = 0; j < nch; j++) {
        const int s = j % STAGES;
        CP_ASYNC_WAIT(STAGES - 2); /* this thread's copies of chunk j have landed */
        __syncthreads();           /* everyone's; and every thread is done with chunk j-1 */
        {
            const int jn = j + STAGES - 1; /* refill the buffer chunk j-1 used */
            if (jn < nch)
                wino_load_stage(smem, jn % STAGES, ch0 + jn, xg, ug, x, h0, w0, tid);
            CP_ASYNC_COMMIT();
        }
        wino_input_transform(smem + W_OFF_X + s * W_XF, vs, tid);
        __syncthreads();
        const float *us = smem + s * W_UF + ki * W_VK;
        const float *vt = vs + ti * W_VQ;
        /* not unrolled: with 2 channel steps in flight ptxas held both steps' operands, e.g.
         * 244 instead of 168 registers for m=4, micro 4x4x6 (ptxas -v, sm_90, CUDA 13.0) */
#pragma unroll 1
        for (int c = 0; c < TILE_C; c++) {
#pragma unroll
            for (int f = 0; f < MICRO_P; f++) {
                const int row = (fg * MICRO_P + f) * TILE_C + c;
                float u[MICRO_K], v[MICRO_Q];
#pragma unroll
                for (int h = 0; h < MICRO_K / W_VK; h++)
                    LDS_VK(u + h * W_VK, us + row * TILE_K + h * W_VK * W_NTK);
#pragma unroll
                for (int h = 0; h < MICRO_Q / W_VQ; h++)
                    LDS_VQ(v + h * W_VQ, vt + row * W_TT + h * W_VQ * W_NTT);
#pragma unroll
                for (int a = 0; a < MICRO_K; a++)
#pragma unroll
                    for (int b = 0; b < MICRO_Q; b++)
                        acc[f][a][b] = FFMA(u[a], v[b], acc[f][a][b]);
            }
        }
    }

    /* epilogue: M through shared memory, Ms[(xi * TT + t) * KS + k] */
    CP_ASYNC_WAIT(0);
    __syncthreads();
#pragma unroll
    for (int f = 0; f < MICRO_P; f++)
#pragma unroll
        for (int b = 0; b < MICRO_Q; b++) {
            const int t = (b / W_VQ) * W_VQ * W_NTT + ti * W_VQ + b % W_VQ;
            float *mrow = smem + ((fg * MICRO_P + f) * W_TT + t) * WINO_KS + ki * W_VK;
#pragma unroll
            for (int h = 0; h < MICRO_K / W_VK; h++) {
                float s4[W_VK];
#pragma unroll
                for (int i = 0; i < W_VK; i++)
                    s4[i] = acc[f][h * W_VK + i][b];
                STS_VK(mrow + h * W_VK * W_NTK, s4);
            }
        }
    __syncthreads();

    /* output transform in rounds of WINO_KR channels x WINO_BR tile-row bands; Y staged in
     * Ys[kl * YS + row * TILE_Q + col], then stored row by row (consecutive threads, consecutive
     * columns) */
    float *ys = smem + W_OFF_Y;
    float *dst = y + (SPLIT_C > 1 ? (long long)sc * W_EPAD : 0);
    for (int kr0 = 0; kr0 < TILE_K; kr0 += WINO_KR)
        for (int br0 = 0; br0 < W_TP; br0 += WINO_BR) {
            for (int pr = tid; pr < WINO_KR * WINO_BR * W_TQ; pr += W_THREADS) {
                const int kl = pr % WINO_KR, tq = pr / WINO_KR % W_TQ, bl = pr / (WINO_KR * W_TQ);
                if (kr0 + kl >= TILE_K || br0 + bl >= W_TP)
                    continue;
                const float *mp = smem + ((br0 + bl) * W_TQ + tq) * WINO_KS + kr0 + kl;
                float *yp = ys + kl * WINO_YS + bl * WINO_M * TILE_Q + tq * WINO_M;
                /* M[a][b] = Ms[((a * ALPHA + b) * TT + t) * KS + k] */
                wino_2d(1, mp, ALPHA * W_TT * WINO_KS, W_TT * WINO_KS, yp, TILE_Q, 1);
            }
            __syncthreads();
            for (int e = tid; e < WINO_KR * WINO_BR * WINO_M * TILE_Q; e += W_THREADS) {
                const int kl = e / (WINO_BR * WINO_M * TILE_Q);
                const int rr = e % (WINO_BR * WINO_M * TILE_Q);
                const int k = kb * TILE_K + kr0 + kl;
                const int p = bp * TILE_P + br0 * WINO_M + rr / TILE_Q;
                const int q = bq * TILE_Q + rr % TILE_Q;
                if (kr0 + kl < TILE_K && br0 * WINO_M + rr / TILE_Q < TILE_P && k < W_KG &&
                    p < LAYER_P && q < LAYER_Q)
                    STG(dst + (((long long)n * LAYER_K + (long long)g * W_KG + k) * LAYER_P + p) *
                                  LAYER_Q + q,
                        SLD(ys + kl * WINO_YS + rr));
            }
            __syncthreads();
        }
}

/* ---- split-C reduction: y[e] = sum_s part[s][e], s ascending; 256 threads per block ---------- */
IOB_KERNEL void iob_winograd_sum(const float *IOB_RESTRICT part, float *IOB_RESTRICT y)
{
    const long long e = (long long)blockIdx.x * blockDim.x + threadIdx.x;
    if (e >= W_EOUT)
        return;
    float acc = LDG(part + e);
    for (int s = 1; s < SPLIT_C; s++)
        acc = FADD(acc, LDG(part + (long long)s * W_EPAD + e));
    STG(y + e, acc);
}
