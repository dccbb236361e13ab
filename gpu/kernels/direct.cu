/* direct.cu - the direct convolution of docs/model.md ("Direct convolution"), FP32 with FFMA,
 * one source for every config: the layer and the config are compile-time macros (plan.h lists
 * LAYER_* and TILE_K ... SPLIT_C; gpu/host_direct.c adds the DIRECT_* layout macros that the model
 * computes in model/direct.c, so that the kernel, the closed form and the trace share one layout).
 *
 * Kernels (extern "C"):
 *   direct_filter_crsk   prep, once per layer: filter [K][C/G][R][S] -> [G][C/G][R][S][K/G]
 *   direct_conv          grid (tiles_p*tiles_q, G*tiles_k, N*SPLIT_C), TKT*TPT*TQT threads:
 *                        per chunk of TILE_C channels (one pipeline stage, STAGES buffers of
 *                        cp.async groups) the block copies the input patch and the filter slice
 *                        to shared memory (zero-fill for padding, clipped edges and channels past
 *                        C/G: src-size 0, no global read); each thread accumulates
 *                        MICRO_K x MICRO_P x MICRO_Q outputs in registers.
 *   direct_split_reduce  SPLIT_C > 1: out[e] = sum over splits of the partial planes.
 *
 * Thread layout: tid = (tk_idx * TPT + tp_idx) * TQT + tq_idx, so a warp's lanes lie along output
 * columns. A thread's outputs: channels k = tk_idx + i*TKT (or, with DIRECT_VEC_K, 4 consecutive
 * channels per LDS.128: tk_idx*4 + (i/4)*TKT*4 + i%4), rows p = tp_idx*MICRO_P + pi, columns
 * q = tq_idx + j*TQT (strided: a warp's patch reads on consecutive banks), or q = tq_idx*MICRO_Q
 * + j (DIRECT_Q_WINDOW: overlapping taps share loads), or with DIRECT_VEC_Q tq_idx*4 +
 * (j/4)*TQT*4 + j%4; the filter slice [c][r][s][k] makes a warp's filter reads broadcasts (one
 * tk_idx per warp) or consecutive.
 *
 * Inner loop: for each filter row r (not unrolled) and channel c (unrolled by C_UNROLL), for each
 * tap s: MICRO_K filter values and the patch values the thread's outputs need, then
 * MICRO_K*MICRO_P*MICRO_Q FFMAs. Within one (c, r) the compiler loads a repeated patch address
 * once; across r nothing is kept: the model counts the distinct words per (c, r).
 */

#define CG (LAYER_C / LAYER_GROUPS)
#define KG (LAYER_K / LAYER_GROUPS)
#define TKT (TILE_K / MICRO_K)
#define TPT (TILE_P / MICRO_P)
#define TQT (TILE_Q / MICRO_Q)
#define THREADS (TKT * TPT * TQT)
#define IH ((TILE_P - 1) * LAYER_STRIDE_H + (LAYER_R - 1) * LAYER_DIL_H + 1)
#define IW ((TILE_Q - 1) * LAYER_STRIDE_W + (LAYER_S - 1) * LAYER_DIL_W + 1)
#define TILES_Q ((LAYER_Q + TILE_Q - 1) / TILE_Q)
#define TILES_K ((KG + TILE_K - 1) / TILE_K)
#define CHUNKS ((CG + TILE_C - 1) / TILE_C)
#define CHUNKS_PER_SPLIT ((CHUNKS + SPLIT_C - 1) / SPLIT_C)
#define RS (LAYER_R * LAYER_S)
#define PITCH DIRECT_IW_PITCH
#define IN_STAGE (TILE_C * IH * PITCH)
#define F_OFF ((IN_STAGE + 3) / 4 * 4)
#define F_STAGE (TILE_C * RS * TILE_K)
#define STAGE_FLOATS ((F_OFF + F_STAGE + 3) / 4 * 4)
#define OUT_ELEMS ((long long)LAYER_N * LAYER_K * LAYER_P * LAYER_Q)

/* A thread's columns: strided, q = tq_idx + j*TQT, or a window, q = tq_idx*MICRO_Q + j
 * (DIRECT_Q_WINDOW: the model picks the one with fewer patch wavefronts per (c, r)). */
#define QSTEP_THREAD (DIRECT_Q_WINDOW ? MICRO_Q : 1)
#define QSTEP_J (DIRECT_Q_WINDOW ? 1 : TQT)

/* The layout macros must be the ones the model derives (model/direct.c, iob_direct_geom_get). */
static_assert(DIRECT_VEC_IN == (LAYER_W % 4 == 0 && (TILE_Q * LAYER_STRIDE_W) % 4 == 0),
              "DIRECT_VEC_IN disagrees with the layer");
static_assert(DIRECT_VEC_F == (KG % 4 == 0 && TILE_K % 4 == 0), "DIRECT_VEC_F disagrees");
static_assert(DIRECT_VEC_K == (MICRO_K % 4 == 0), "DIRECT_VEC_K disagrees");
static_assert(DIRECT_VEC_Q == (DIRECT_VEC_IN && LAYER_S == 1 && LAYER_STRIDE_W == 1 &&
                               MICRO_Q % 4 == 0 && DIRECT_IN_OFF == 0),
              "DIRECT_VEC_Q disagrees");
static_assert(DIRECT_IW_COPY == (DIRECT_VEC_IN ? (DIRECT_IN_OFF + IW + 3) / 4 * 4 : IW),
              "DIRECT_IW_COPY disagrees");
static_assert(PITCH >= DIRECT_IW_COPY && (!DIRECT_VEC_IN || PITCH % 4 == 0), "bad pitch");
static_assert(STAGE_FLOATS == DIRECT_STAGE_FLOATS, "stage size disagrees with the model");
static_assert(TILE_K % MICRO_K == 0 && TILE_P % MICRO_P == 0 && TILE_Q % MICRO_Q == 0,
              "tiles must be multiples of the micro tiles");
static_assert(STAGES >= 1 && STAGES <= 4, "1 to 4 stages");
static_assert(!(DIRECT_Q_WINDOW && DIRECT_VEC_Q), "LDS.128 columns have their own mapping");
static_assert(DIRECT_MIN_BLOCKS >= 1, "DIRECT_MIN_BLOCKS: the model's blocks per SM");

/* channels per unrolled step of the channel loop: the model's choice (4, 2 or 1, within 256
 * FFMAs and 40 operands a step: longer steps made ptxas hoist loads and spill) */
constexpr int C_UNROLL = DIRECT_C_UNROLL;
static_assert(TILE_C % DIRECT_C_UNROLL == 0 &&
                  (DIRECT_C_UNROLL == 1 || DIRECT_C_UNROLL * LAYER_S * MICRO_K * MICRO_P * MICRO_Q <= 256),
              "DIRECT_C_UNROLL must divide TILE_C and keep a step within 256 FFMAs");

__device__ __forceinline__ unsigned smem_addr(const void *p)
{
    return (unsigned)__cvta_generic_to_shared(p);
}

/* cp.async with zero fill: copies src_bytes (0 or the full size) and fills the rest with zeros;
 * with src_bytes = 0 nothing is read from global memory. */
__device__ __forceinline__ void cp_async4(float *dst, const float *src, int src_bytes)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 4, %2;\n" ::"r"(smem_addr(dst)),
                 "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async16(float *dst, const float *src, int src_bytes)
{
    asm volatile("cp.async.ca.shared.global [%0], [%1], 16, %2;\n" ::"r"(smem_addr(dst)),
                 "l"(src), "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

/* Copies chunk `chunk` (channels chunk*TILE_C ...) of the block's patch and filter slice into
 * the stage buffer `buf`. */
__device__ __forceinline__ void load_stage(float *buf, int chunk, const float *__restrict__ in_ng,
                                           const float *__restrict__ f_gk, int h0, int w0,
                                           int ih_v, int iw_v, int tk_v)
{
    const int c0 = chunk * TILE_C;
#if DIRECT_VEC_IN
    constexpr int PIECES = DIRECT_IW_COPY / 4;
    constexpr int NIN = TILE_C * IH * PIECES;
#pragma unroll 2
    for (int e = threadIdx.x; e < NIN; e += THREADS) {
        const int piece = e % PIECES, y = (e / PIECES) % IH, c = e / (PIECES * IH);
        const int wa = w0 - DIRECT_IN_OFF + piece * 4, h = h0 + y;
        const bool ok = c0 + c < CG && y < ih_v && h >= 0 && h < LAYER_H && wa >= 0 &&
                        wa < LAYER_W && wa + 4 > w0 && wa < w0 + iw_v;
        const float *src = ok ? in_ng + ((long long)(c0 + c) * LAYER_H + h) * LAYER_W + wa : in_ng;
        cp_async16(buf + (c * IH + y) * PITCH + piece * 4, src, ok ? 16 : 0);
    }
#else
    constexpr int NIN = TILE_C * IH * IW;
#pragma unroll 2
    for (int e = threadIdx.x; e < NIN; e += THREADS) {
        const int x = e % IW, y = (e / IW) % IH, c = e / (IW * IH);
        const int w = w0 + x, h = h0 + y;
        const bool ok = c0 + c < CG && y < ih_v && x < iw_v && h >= 0 && h < LAYER_H && w >= 0 &&
                        w < LAYER_W;
        const float *src = ok ? in_ng + ((long long)(c0 + c) * LAYER_H + h) * LAYER_W + w : in_ng;
        cp_async4(buf + (c * IH + y) * PITCH + x, src, ok ? 4 : 0);
    }
#endif
    float *fbuf = buf + F_OFF;
#if DIRECT_VEC_F
    constexpr int FP = TILE_K / 4;
    constexpr int NF = TILE_C * RS * FP;
#pragma unroll 2
    for (int e = threadIdx.x; e < NF; e += THREADS) {
        const int k4 = e % FP, crs = e / FP, c = crs / RS;
        const bool ok = c0 + c < CG && k4 * 4 < tk_v;
        const float *src = ok ? f_gk + ((long long)c0 * RS + crs) * KG + k4 * 4 : f_gk;
        cp_async16(fbuf + crs * TILE_K + k4 * 4, src, ok ? 16 : 0);
    }
#else
    constexpr int NF = TILE_C * RS * TILE_K;
#pragma unroll 2
    for (int e = threadIdx.x; e < NF; e += THREADS) {
        const int k = e % TILE_K, crs = e / TILE_K, c = crs / RS;
        const bool ok = c0 + c < CG && k < tk_v;
        const float *src = ok ? f_gk + ((long long)c0 * RS + crs) * KG + k : f_gk;
        cp_async4(fbuf + crs * TILE_K + k, src, ok ? 4 : 0);
    }
#endif
}

/* The thread's MICRO_K x MICRO_P x MICRO_Q FFMAs over one stage buffer. */
__device__ __forceinline__ void compute_stage(const float *buf, int tk_idx, int tp_idx,
                                              int tq_idx,
                                              float (&acc)[MICRO_K][MICRO_P][MICRO_Q])
{
#if DIRECT_VEC_Q
    const float *pin = buf + tp_idx * MICRO_P * LAYER_STRIDE_H * PITCH + DIRECT_IN_OFF + tq_idx * 4;
#else
    const float *pin = buf + tp_idx * MICRO_P * LAYER_STRIDE_H * PITCH + DIRECT_IN_OFF +
                       tq_idx * QSTEP_THREAD * LAYER_STRIDE_W;
#endif
#if DIRECT_VEC_K
    const float *pf = buf + F_OFF + tk_idx * 4;
#else
    const float *pf = buf + F_OFF + tk_idx;
#endif
#pragma unroll 1
    for (int r = 0; r < LAYER_R; r++) {
        const float *pin_r = pin + r * LAYER_DIL_H * PITCH;
        const float *pf_r = pf + r * LAYER_S * TILE_K;
#pragma unroll C_UNROLL
        for (int c = 0; c < TILE_C; c++) {
            const float *xi = pin_r + c * IH * PITCH;
            const float *fi = pf_r + c * RS * TILE_K;
#pragma unroll
            for (int s = 0; s < LAYER_S; s++) {
                float fv[MICRO_K];
#if DIRECT_VEC_K
#pragma unroll
                for (int i = 0; i < MICRO_K; i += 4) {
                    const float4 v = *(const float4 *)(fi + s * TILE_K + (i / 4) * TKT * 4);
                    fv[i] = v.x;
                    fv[i + 1] = v.y;
                    fv[i + 2] = v.z;
                    fv[i + 3] = v.w;
                }
#else
#pragma unroll
                for (int i = 0; i < MICRO_K; i++)
                    fv[i] = fi[s * TILE_K + i * TKT];
#endif
#pragma unroll
                for (int pi = 0; pi < MICRO_P; pi++) {
                    float xv[MICRO_Q];
#if DIRECT_VEC_Q
#pragma unroll
                    for (int j = 0; j < MICRO_Q; j += 4) {
                        const float4 v =
                            *(const float4 *)(xi + pi * LAYER_STRIDE_H * PITCH + (j / 4) * TQT * 4);
                        xv[j] = v.x;
                        xv[j + 1] = v.y;
                        xv[j + 2] = v.z;
                        xv[j + 3] = v.w;
                    }
#else
#pragma unroll
                    for (int j = 0; j < MICRO_Q; j++)
                        xv[j] = xi[pi * LAYER_STRIDE_H * PITCH + j * QSTEP_J * LAYER_STRIDE_W +
                                   s * LAYER_DIL_W];
#endif
#pragma unroll
                    for (int i = 0; i < MICRO_K; i++)
#pragma unroll
                        for (int j = 0; j < MICRO_Q; j++)
                            acc[i][pi][j] = fmaf(fv[i], xv[j], acc[i][pi][j]);
                }
            }
        }
    }
}

/* DIRECT_MIN_BLOCKS = the model's blocks per SM: ptxas then keeps the registers within what
 * that occupancy allows (without it ptxas chose 72 registers and spilled for 392 threads, where
 * 92 fit; docs/model.md, "Registers") */
extern "C" __global__ void __launch_bounds__(THREADS, DIRECT_MIN_BLOCKS)
    direct_conv(const float *__restrict__ in, const float *__restrict__ filt_crsk,
                float *__restrict__ out)
{
    extern __shared__ float4 smem4[];
    float *smem = (float *)smem4;
    const int tid = threadIdx.x;
    const int tq_idx = tid % TQT, tp_idx = (tid / TQT) % TPT, tk_idx = tid / (TQT * TPT);
    const int p0 = (blockIdx.x / TILES_Q) * TILE_P, q0 = (blockIdx.x % TILES_Q) * TILE_Q;
    const int g = blockIdx.y / TILES_K, k0 = (blockIdx.y % TILES_K) * TILE_K;
    const int n = blockIdx.z / SPLIT_C, sp = blockIdx.z % SPLIT_C;
    const int tp_v = min(TILE_P, LAYER_P - p0), tq_v = min(TILE_Q, LAYER_Q - q0);
    const int tk_v = min(TILE_K, KG - k0);
    const int ih_v = (tp_v - 1) * LAYER_STRIDE_H + (LAYER_R - 1) * LAYER_DIL_H + 1;
    const int iw_v = (tq_v - 1) * LAYER_STRIDE_W + (LAYER_S - 1) * LAYER_DIL_W + 1;
    const int h0 = p0 * LAYER_STRIDE_H - LAYER_PAD_TOP, w0 = q0 * LAYER_STRIDE_W - LAYER_PAD_LEFT;
    const int ch_first = sp * CHUNKS_PER_SPLIT;
    const int nch = min(CHUNKS, ch_first + CHUNKS_PER_SPLIT) - ch_first;
    const float *in_ng = in + ((long long)n * LAYER_C + (long long)g * CG) * LAYER_H * LAYER_W;
    const float *f_gk = filt_crsk + (long long)g * CG * RS * KG + k0;

    float acc[MICRO_K][MICRO_P][MICRO_Q];
#pragma unroll
    for (int i = 0; i < MICRO_K; i++)
#pragma unroll
        for (int pi = 0; pi < MICRO_P; pi++)
#pragma unroll
            for (int j = 0; j < MICRO_Q; j++)
                acc[i][pi][j] = 0.0f;

#if STAGES == 1
    for (int i = 0; i < nch; i++) {
        load_stage(smem, ch_first + i, in_ng, f_gk, h0, w0, ih_v, iw_v, tk_v);
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
        compute_stage(smem, tk_idx, tp_idx, tq_idx, acc);
        __syncthreads();
    }
#else
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < nch)
            load_stage(smem + s * STAGE_FLOATS, ch_first + s, in_ng, f_gk, h0, w0, ih_v, iw_v,
                       tk_v);
        cp_async_commit();
    }
    for (int i = 0; i < nch; i++) {
        cp_async_wait<STAGES - 2>(); /* chunk i has landed (this thread's copies) */
        __syncthreads();             /* ... and every thread's; buffer (i-1) % STAGES is free */
        const int nx = i + STAGES - 1;
        if (nx < nch)
            load_stage(smem + (nx % STAGES) * STAGE_FLOATS, ch_first + nx, in_ng, f_gk, h0, w0,
                       ih_v, iw_v, tk_v);
        cp_async_commit();
        compute_stage(smem + (i % STAGES) * STAGE_FLOATS, tk_idx, tp_idx, tq_idx, acc);
    }
    cp_async_wait<0>();
#endif

    /* stores: straight from registers; lanes on consecutive columns */
#if SPLIT_C > 1
    float *dst = out + (long long)sp * DIRECT_WS_PLANE;
#else
    float *dst = out;
#endif
#pragma unroll
    for (int i = 0; i < MICRO_K; i++) {
#if DIRECT_VEC_K
        const int kk = tk_idx * 4 + (i / 4) * TKT * 4 + i % 4;
#else
        const int kk = tk_idx + i * TKT;
#endif
#pragma unroll
        for (int pi = 0; pi < MICRO_P; pi++) {
            const int pp = tp_idx * MICRO_P + pi;
#pragma unroll
            for (int j = 0; j < MICRO_Q; j++) {
#if DIRECT_VEC_Q
                const int qq = tq_idx * 4 + (j / 4) * TQT * 4 + j % 4;
#else
                const int qq = tq_idx * QSTEP_THREAD + j * QSTEP_J;
#endif
                if (kk < tk_v && pp < tp_v && qq < tq_v)
                    dst[(((long long)n * LAYER_K + g * KG + k0 + kk) * LAYER_P + p0 + pp) *
                            LAYER_Q +
                        q0 + qq] = acc[i][pi][j];
            }
        }
    }
}

/* out[e] = sum over the splits of ws[split * DIRECT_WS_PLANE + e]; 256 threads per block. */
extern "C" __global__ void __launch_bounds__(256)
    direct_split_reduce(const float *__restrict__ ws, float *__restrict__ out)
{
    const long long e = (long long)blockIdx.x * 256 + threadIdx.x;
    if (e >= OUT_ELEMS)
        return;
    float s = ws[e];
#pragma unroll
    for (int sp = 1; sp < SPLIT_C; sp++)
        s += ws[(long long)sp * DIRECT_WS_PLANE + e];
    out[e] = s;
}

/* Prep: filter [K][C/G][R][S] -> [G][C/G][R][S][K/G] (one thread per element of the result). */
extern "C" __global__ void __launch_bounds__(256)
    direct_filter_crsk(const float *__restrict__ f, float *__restrict__ ft)
{
    const long long e = (long long)blockIdx.x * 256 + threadIdx.x;
    if (e >= (long long)LAYER_K * CG * RS)
        return;
    const int kk = (int)(e % KG);
    const long long rest = e / KG;
    const int rs = (int)(rest % RS), c = (int)((rest / RS) % CG), g = (int)(rest / RS / CG);
    ft[e] = f[((long long)(g * KG + kk) * CG + c) * RS + rs];
}
