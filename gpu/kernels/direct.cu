/* direct.cu - the direct convolution of docs/model.md ("Direct convolution"), FP32 with FFMA,
 * one source for every config: the layer and the config are compile-time macros (plan.h lists
 * LAYER_* and TILE_K ... SPLIT_C, TILE_N; gpu/host_direct.c adds the DIRECT_* layout macros that
 * the model computes in model/direct.c). Where every float goes is in direct_map.cuh, shared
 * with the trace generator and the CPU emulation of this kernel.
 *
 * Kernels (extern "C"):
 *   direct_filter_crsk   prep, once per layer: filter [K][C/G][R][S] ->
 *                        [G][tiles_k][chunks*TILE_C][R][S][TKP], zero-padded (TKP = round4(TILE_K))
 *   direct_conv          grid (tiles_p*tiles_q, G*tiles_k, ceil(N/TILE_N)*SPLIT_C), TKT*TN*TPT*TQT
 *                        threads: per chunk of TILE_C channels (one pipeline stage, STAGES
 *                        buffers of cp.async groups) the block copies its input patch and filter
 *                        slice to shared memory with 16-byte cp.async.cg (L2 only: each sector
 *                        is read by exactly one warp instruction per stage); each thread
 *                        accumulates MICRO_K x MICRO_P x MICRO_Q outputs of one image in
 *                        registers; at the end the tile goes through shared memory and is
 *                        stored in whole sectors (float4 where runs are 16-byte aligned).
 *   direct_split_reduce  SPLIT_C > 1: out[e] = sum over splits of the partial planes.
 *
 * Thread layout: tid = ((tk_idx * TN + tn_idx) * TPT + tp_idx) * TQT + tq_idx (lanes along
 * output columns). A thread's outputs: image n0 + tn_idx; channels k = tk_idx + i*TKT (or, with
 * DIRECT_VEC_K, 4 consecutive channels per LDS.128: tk_idx*4 + (i/4)*TKT*4 + i%4), rows
 * p = tp_idx*MICRO_P + pi, columns q = tq_idx + j*TQT (strided), q = tq_idx*MICRO_Q + j
 * (DIRECT_Q_WINDOW) or, with DIRECT_VEC_Q, tq_idx*4 + (j/4)*TQT*4 + j%4.
 *
 * Inner loop: for each filter row r (not unrolled) and channel c (unrolled by C_UNROLL), for each
 * tap s: MICRO_K filter values and the patch values the thread's outputs need, then
 * MICRO_K*MICRO_P*MICRO_Q FFMAs. Within one (c, r) the compiler loads a repeated patch address
 * once; across r nothing is kept: the model counts the distinct words per (c, r).
 */
/* 32-bit element indices when the tensors allow (16 images of margin: a tile of images may run
 * past N) */
#if (LAYER_N + 16LL) * LAYER_C * LAYER_H * LAYER_W < 2147483647LL && DIRECT_WS_FILTER < 2147483647LL
#define DM_INDEX32 1
#endif
#include "direct_map.cuh"

#define TN (TILE_N > 1 ? TILE_N : 1)
#define CG (LAYER_C / LAYER_GROUPS)
#define KG (LAYER_K / LAYER_GROUPS)
#define TKT (TILE_K / MICRO_K)
#define TPT (TILE_P / MICRO_P)
#define TQT (TILE_Q / MICRO_Q)
#define THREADS (TKT * TN * TPT * TQT)
#define IH ((TILE_P - 1) * LAYER_STRIDE_H + (LAYER_R - 1) * LAYER_DIL_H + 1)
#define IW ((TILE_Q - 1) * LAYER_STRIDE_W + (LAYER_S - 1) * LAYER_DIL_W + 1)
#define TILES_Q ((LAYER_Q + TILE_Q - 1) / TILE_Q)
#define TILES_K ((KG + TILE_K - 1) / TILE_K)
#define CHUNKS ((CG + TILE_C - 1) / TILE_C)
#define CHUNKS_PER_SPLIT ((CHUNKS + SPLIT_C - 1) / SPLIT_C)
#define RS (LAYER_R * LAYER_S)
#define PITCH DIRECT_IW_PITCH
#define TKP DIRECT_TKP
#define IN_ROWS (TILE_C * TN * IH)
#define IN_STAGE (IN_ROWS * PITCH)
#define F_OFF IN_STAGE
#define F_STAGE (TILE_C * RS * TKP)
#define STAGE_FLOATS (F_OFF + F_STAGE)
#define OUT_ELEMS ((long long)LAYER_N * LAYER_K * LAYER_P * LAYER_Q)
#define COPY_THREADS DIRECT_COPY_THREADS
#define STORE_THREADS (THREADS / 8 * 8)
#define OUT_STAGE (TILE_K * TN * TILE_P * DIRECT_OUT_PITCH)
/* the layout macros must be the ones the model derives (model/direct.c, iob_direct_geom_get) */
static_assert(STAGE_FLOATS == DIRECT_STAGE_FLOATS, "stage size disagrees with the model");
static_assert(TKP == (TILE_K + 3) / 4 * 4, "TKP = round4(TILE_K)");
static_assert(PITCH % 4 == 0 && PITCH >= 4 * DIRECT_IN_PIECES, "bad pitch");
static_assert(DIRECT_IN_PIECES * 4 >= (DIRECT_IN_SHIFT < 0 ? 3 : DIRECT_IN_SHIFT) + IW,
              "a patch row must hold its shifted columns");
static_assert(DIRECT_IN_SLOTS % 2 == 0 && DIRECT_F_SLOTS % 2 == 0, "slots pair up per sector");
static_assert(DIRECT_IN_SHIFT < 0 ||
                  (LAYER_W % 4 == 0 && (TILE_Q * LAYER_STRIDE_W) % 4 == 0 &&
                   DIRECT_IN_SHIFT == ((-LAYER_PAD_LEFT) % 4 + 4) % 4),
              "a constant shift needs W and tile_q*stride_w multiples of 4");
static_assert(DIRECT_VEC_K == (MICRO_K % 4 == 0), "DIRECT_VEC_K disagrees");
static_assert(DIRECT_VEC_Q == (DIRECT_IN_SHIFT == 0 && LAYER_S == 1 && LAYER_STRIDE_W == 1 &&
                               MICRO_Q % 4 == 0),
              "DIRECT_VEC_Q disagrees");
static_assert(!(DIRECT_Q_WINDOW && DIRECT_VEC_Q), "LDS.128 columns have their own mapping");
static_assert(TILE_K % MICRO_K == 0 && TILE_P % MICRO_P == 0 && TILE_Q % MICRO_Q == 0,
              "tiles must be multiples of the micro tiles");
static_assert(STAGES >= 1 && STAGES <= 4, "1 to 4 stages");
static_assert(THREADS >= 8, "8 threads at least: a store instruction writes whole sectors");
static_assert(COPY_THREADS % 2 == 0 && COPY_THREADS <= THREADS &&
                  (COPY_THREADS % DIRECT_IN_SLOTS == 0 || COPY_THREADS == THREADS / 2 * 2),
              "copy threads: even, a multiple of the row's slots where possible");
static_assert(DIRECT_OUT_PITCH % 4 == 0 && DIRECT_OUT_PITCH >= TILE_Q, "bad output pitch");
static_assert(DIRECT_SMEM_FLOATS >= STAGES * STAGE_FLOATS && DIRECT_SMEM_FLOATS >= OUT_STAGE,
              "shared memory must hold the stages and the staged output");
static_assert(DIRECT_MIN_BLOCKS >= 1, "DIRECT_MIN_BLOCKS: the model's blocks per SM");

/* A thread's columns: strided, q = tq_idx + j*TQT, or a window, q = tq_idx*MICRO_Q + j */
#define QSTEP_THREAD (DIRECT_Q_WINDOW ? MICRO_Q : 1)
#define QSTEP_J (DIRECT_Q_WINDOW ? 1 : TQT)

/* channels per unrolled step of the channel loop: the model's choice (4, 2 or 1, within 256
 * FFMAs and 40 operands a step: longer steps made ptxas hoist loads and spill) */
constexpr int C_UNROLL = DIRECT_C_UNROLL;
static_assert(TILE_C % DIRECT_C_UNROLL == 0 &&
                  (DIRECT_C_UNROLL == 1 ||
                   DIRECT_C_UNROLL * LAYER_S * MICRO_K * MICRO_P * MICRO_Q <= 256),
              "DIRECT_C_UNROLL must divide TILE_C and keep a step within 256 FFMAs");

DM_FN dm_geom dm_make()
{
    dm_geom G;
    G.n = LAYER_N;
    G.c = LAYER_C;
    G.h = LAYER_H;
    G.w = LAYER_W;
    G.k = LAYER_K;
    G.r = LAYER_R;
    G.s = LAYER_S;
    G.p = LAYER_P;
    G.q = LAYER_Q;
    G.sh = LAYER_STRIDE_H;
    G.sw = LAYER_STRIDE_W;
    G.dh = LAYER_DIL_H;
    G.dw = LAYER_DIL_W;
    G.pad_top = LAYER_PAD_TOP;
    G.pad_left = LAYER_PAD_LEFT;
    G.cg = CG;
    G.kg = KG;
    G.tile_k = TILE_K;
    G.tile_n = TN;
    G.tile_p = TILE_P;
    G.tile_q = TILE_Q;
    G.tile_c = TILE_C;
    G.micro_k = MICRO_K;
    G.micro_p = MICRO_P;
    G.micro_q = MICRO_Q;
    G.split_c = SPLIT_C;
    G.tkt = TKT;
    G.tpt = TPT;
    G.tqt = TQT;
    G.threads = THREADS;
    G.tiles_q = TILES_Q;
    G.tiles_k = TILES_K;
    G.chunks = CHUNKS;
    G.chunks_per_split = CHUNKS_PER_SPLIT;
    G.ih = IH;
    G.iw = IW;
    G.in_shift = DIRECT_IN_SHIFT;
    G.in_e8 = DIRECT_IN_E8;
    G.in_pieces = DIRECT_IN_PIECES;
    G.in_slots = DIRECT_IN_SLOTS;
    G.pitch = PITCH;
    G.tkp = TKP;
    G.cgp = CHUNKS * TILE_C;
    G.f_e8 = DIRECT_F_E8;
    G.f_pieces = F_STAGE / 4;
    G.f_slots = DIRECT_F_SLOTS;
    G.f_off = F_OFF;
    G.copy_threads = COPY_THREADS;
    G.store_threads = STORE_THREADS;
    G.out_run = DIRECT_OUT_RUN;
    G.out_vec = DIRECT_OUT_VEC;
    G.out_pitch = DIRECT_OUT_PITCH;
    G.out_slots = DIRECT_OUT_SLOTS;
    G.out_runs = DIRECT_OUT_RUNS;
    return G;
}

__device__ __forceinline__ unsigned smem_addr(const void *p)
{
    return (unsigned)__cvta_generic_to_shared(p);
}

/* 16-byte cp.async through L2 only (.cg: no L1 allocation, so no reuse between blocks that the
 * model could not count) to the shared address dst; src_bytes < 16 reads that many and
 * zero-fills the rest, 0 reads nothing. */
__device__ __forceinline__ void cp_async16(unsigned dst, const float *src, int src_bytes)
{
    asm volatile("cp.async.cg.shared.global [%0], [%1], 16, %2;\n" ::"r"(dst), "l"(src),
                 "r"(src_bytes));
}
__device__ __forceinline__ void cp_async_commit() { asm volatile("cp.async.commit_group;\n" ::); }
template <int N> __device__ __forceinline__ void cp_async_wait()
{
    asm volatile("cp.async.wait_group %0;\n" ::"n"(N));
}

/* Copies chunk `chunk` of the block's patch and filter slice into the stage buffer `buf`. */
__device__ __forceinline__ void load_stage(const dm_geom *G, const dm_block *B, float *buf,
                                           int chunk, const float *__restrict__ in,
                                           const float *__restrict__ filt)
{
    const int tid = threadIdx.x;
    if (tid >= COPY_THREADS)
        return;
    const unsigned sbuf = smem_addr(buf);
#if COPY_THREADS % DIRECT_IN_SLOTS == 0 && DIRECT_IN_SHIFT >= 0 && DIRECT_IN_E8 >= 0
    /* e = k * IN_SLOTS + slot with the thread's slot fixed, and one shift for every row: what
     * the slot does is worked out once (dm_in_lane_of), a row costs its address */
    const dm_in_lane ln = dm_in_lane_of(G, B, tid % DIRECT_IN_SLOTS);
    if (ln.issue) {
#pragma unroll 2
        for (int k = tid / DIRECT_IN_SLOTS; k < IN_ROWS; k += COPY_THREADS / DIRECT_IN_SLOTS) {
            const dm_copy cp = dm_in_copy_lane(G, B, chunk, k, &ln);
            cp_async16(sbuf + 4 * cp.smem, cp.bytes ? in + cp.src : in, cp.bytes);
        }
    }
#elif COPY_THREADS % DIRECT_IN_SLOTS == 0
    /* e = k * IN_SLOTS + slot with the thread's slot fixed: the same walk, fewer divisions */
    const int slot = tid % DIRECT_IN_SLOTS;
#pragma unroll 2
    for (int k = tid / DIRECT_IN_SLOTS; k < IN_ROWS; k += COPY_THREADS / DIRECT_IN_SLOTS) {
        const dm_copy cp = dm_in_copy_at(G, B, chunk, k, slot);
        if (cp.issue)
            cp_async16(sbuf + 4 * cp.smem, cp.bytes ? in + cp.src : in, cp.bytes);
    }
#else
    constexpr int NIN = IN_ROWS * DIRECT_IN_SLOTS;
#pragma unroll 2
    for (int e = tid; e < NIN; e += COPY_THREADS) {
        const dm_copy cp = dm_in_copy(G, B, chunk, e);
        if (cp.issue)
            cp_async16(sbuf + 4 * cp.smem, cp.bytes ? in + cp.src : in, cp.bytes);
    }
#endif
#pragma unroll 2
    for (int e = tid; e < DIRECT_F_SLOTS; e += COPY_THREADS) {
        const dm_copy cp = dm_f_copy(G, B, chunk, e);
        if (cp.issue)
            cp_async16(sbuf + 4 * cp.smem, filt + cp.src, 16);
    }
}

/* The left-edge fix-up of chunk `chunk` (blocks with w0 < 0 when W % 4 != 0): zeroes the
 * floats of the row before that the piece holding image column 0 brought along. */
__device__ __forceinline__ void fix_stage(const dm_geom *G, const dm_block *B, float *buf,
                                          int chunk)
{
    for (int row = threadIdx.x; row < IN_ROWS; row += THREADS) {
        int at = 0;
        const int m = dm_in_fix(G, B, chunk, row, &at);
        for (int j = 0; j < m; j++)
            buf[at + j] = 0.0f;
    }
}

/* The thread's MICRO_K x MICRO_P x MICRO_Q FFMAs over one stage buffer. t4: the index of the
 * thread's first patch row's column w0 modulo 4 at chunk `chunk` (used when the row shift is
 * per row). */
__device__ __forceinline__ void compute_stage(const float *buf, int chunk, int t4, int tk_idx,
                                              int tn_idx, int tp_idx, int tq_idx,
                                              float (&acc)[MICRO_K][MICRO_P][MICRO_Q])
{
    (void)chunk;
    (void)t4;
#if DIRECT_VEC_Q
    const float *pin = buf + (tn_idx * IH + tp_idx * MICRO_P * LAYER_STRIDE_H) * PITCH + tq_idx * 4;
#else
    const float *pin = buf + (tn_idx * IH + tp_idx * MICRO_P * LAYER_STRIDE_H) * PITCH +
                       tq_idx * QSTEP_THREAD * LAYER_STRIDE_W;
#endif
#if DIRECT_VEC_K
    const float *pf = buf + F_OFF + tk_idx * 4;
#else
    const float *pf = buf + F_OFF + tk_idx;
#endif
#if DIRECT_IN_SHIFT < 0
    /* per-row shift: (index of column w0) mod 4 grows by H*W per channel, W per row */
    constexpr int HW4 = (LAYER_H * LAYER_W) % 4, W4 = LAYER_W % 4;
    const int t4c = t4 + chunk * ((TILE_C * HW4) % 4);
#else
    constexpr int SHIFT = DIRECT_IN_SHIFT;
#endif
#pragma unroll 1
    for (int r = 0; r < LAYER_R; r++) {
        const float *pin_r = pin + r * LAYER_DIL_H * PITCH;
        const float *pf_r = pf + r * LAYER_S * TKP;
#pragma unroll C_UNROLL
        for (int c = 0; c < TILE_C; c++) {
            const float *xi = pin_r + c * TN * IH * PITCH;
            const float *fi = pf_r + c * RS * TKP;
#if DIRECT_IN_SHIFT < 0
            const int t4cr = t4c + c * HW4 + r * LAYER_DIL_H * W4;
#endif
#pragma unroll
            for (int s = 0; s < LAYER_S; s++) {
                float fv[MICRO_K];
#if DIRECT_VEC_K
#pragma unroll
                for (int i = 0; i < MICRO_K; i += 4) {
                    const float4 v = *(const float4 *)(fi + s * TKP + (i / 4) * TKT * 4);
                    fv[i] = v.x;
                    fv[i + 1] = v.y;
                    fv[i + 2] = v.z;
                    fv[i + 3] = v.w;
                }
#else
#pragma unroll
                for (int i = 0; i < MICRO_K; i++)
                    fv[i] = fi[s * TKP + i * TKT];
#endif
#pragma unroll
                for (int pi = 0; pi < MICRO_P; pi++) {
#if DIRECT_IN_SHIFT < 0
                    const int shift = (t4cr + pi * LAYER_STRIDE_H * W4) & 3;
#else
                    const int shift = SHIFT;
#endif
                    const float *xr = xi + pi * LAYER_STRIDE_H * PITCH + shift;
                    float xv[MICRO_Q];
#if DIRECT_VEC_Q
#pragma unroll
                    for (int j = 0; j < MICRO_Q; j += 4) {
                        const float4 v = *(const float4 *)(xr + (j / 4) * TQT * 4);
                        xv[j] = v.x;
                        xv[j + 1] = v.y;
                        xv[j + 2] = v.z;
                        xv[j + 3] = v.w;
                    }
#else
#pragma unroll
                    for (int j = 0; j < MICRO_Q; j++)
                        xv[j] = xr[j * QSTEP_J * LAYER_STRIDE_W + s * LAYER_DIL_W];
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
    direct_conv(const float *__restrict__ in, const float *__restrict__ filt,
                float *__restrict__ out)
{
    extern __shared__ float4 smem4[];
    float *smem = (float *)smem4;
    const dm_geom G = dm_make();
    const dm_block B = dm_block_at(&G, blockIdx.x, blockIdx.y, blockIdx.z);
    int tk_idx, tn_idx, tp_idx, tq_idx;
    dm_thread(&G, threadIdx.x, &tk_idx, &tn_idx, &tp_idx, &tq_idx);
    /* (index of the column w0 of the thread's first patch row of chunk 0) mod 4 */
    const int t4 = dm_mod((((long long)(B.n0 + tn_idx) * LAYER_C + (long long)B.g * CG) * LAYER_H +
                           B.h0 + tp_idx * MICRO_P * LAYER_STRIDE_H) *
                                  LAYER_W +
                              B.w0,
                          4);

    float acc[MICRO_K][MICRO_P][MICRO_Q];
#pragma unroll
    for (int i = 0; i < MICRO_K; i++)
#pragma unroll
        for (int pi = 0; pi < MICRO_P; pi++)
#pragma unroll
            for (int j = 0; j < MICRO_Q; j++)
                acc[i][pi][j] = 0.0f;

#if DIRECT_LEFT_FIX
    const bool fix = B.w0 < 0; /* block-uniform */
#else
    const bool fix = false;
#endif
#if STAGES == 1
    for (int i = 0; i < B.nch; i++) {
        load_stage(&G, &B, smem, B.ch_first + i, in, filt);
        cp_async_commit();
        cp_async_wait<0>();
        __syncthreads();
        if (fix) {
            fix_stage(&G, &B, smem, B.ch_first + i);
            __syncthreads();
        }
        compute_stage(smem, B.ch_first + i, t4, tk_idx, tn_idx, tp_idx, tq_idx, acc);
        __syncthreads();
    }
#else
#pragma unroll
    for (int s = 0; s < STAGES - 1; s++) {
        if (s < B.nch)
            load_stage(&G, &B, smem + s * STAGE_FLOATS, B.ch_first + s, in, filt);
        cp_async_commit();
    }
    for (int i = 0; i < B.nch; i++) {
        cp_async_wait<STAGES - 2>(); /* chunk i has landed (this thread's copies) */
        __syncthreads();             /* ... and every thread's; buffer (i-1) % STAGES is free */
        float *cur = smem + (i % STAGES) * STAGE_FLOATS;
        if (fix) {
            fix_stage(&G, &B, cur, B.ch_first + i);
            __syncthreads();
        }
        const int nx = i + STAGES - 1;
        if (nx < B.nch)
            load_stage(&G, &B, smem + (nx % STAGES) * STAGE_FLOATS, B.ch_first + nx, in, filt);
        cp_async_commit();
        compute_stage(cur, B.ch_first + i, t4, tk_idx, tn_idx, tp_idx, tq_idx, acc);
    }
    cp_async_wait<0>();
    __syncthreads(); /* every thread is done with the buffers: the output goes there */
#endif

    /* the thread tile to shared memory [TILE_K][TN][TILE_P][OUT_PITCH] */
#pragma unroll
    for (int i = 0; i < MICRO_K; i++) {
#if DIRECT_VEC_K
        const int kk = tk_idx * 4 + (i / 4) * TKT * 4 + i % 4;
#else
        const int kk = tk_idx + i * TKT;
#endif
#pragma unroll
        for (int pi = 0; pi < MICRO_P; pi++) {
            float *row = smem + dm_out_stage(&G, kk, tn_idx, tp_idx * MICRO_P + pi, 0);
#if DIRECT_VEC_Q || (DIRECT_Q_WINDOW && MICRO_Q % 4 == 0)
#pragma unroll
            for (int j = 0; j < MICRO_Q; j += 4) {
#if DIRECT_VEC_Q
                const int qq = tq_idx * 4 + (j / 4) * TQT * 4;
#else
                const int qq = tq_idx * MICRO_Q + j;
#endif
                *(float4 *)(row + qq) =
                    make_float4(acc[i][pi][j], acc[i][pi][j + 1], acc[i][pi][j + 2], acc[i][pi][j + 3]);
            }
#else
#pragma unroll
            for (int j = 0; j < MICRO_Q; j++)
                row[tq_idx * QSTEP_THREAD + j * QSTEP_J] = acc[i][pi][j];
#endif
        }
    }
    __syncthreads();

    /* coalesced stores: every sector of a run by one warp instruction */
#if SPLIT_C > 1
    float *dst = out + (long long)B.sp * DIRECT_WS_PLANE;
#else
    float *dst = out;
#endif
    if (threadIdx.x < STORE_THREADS) {
        constexpr int NST = DIRECT_OUT_RUNS * DIRECT_OUT_SLOTS * (DIRECT_OUT_VEC ? 2 : 8);
        for (int e = threadIdx.x; e < NST; e += STORE_THREADS) {
            long long o;
            int at;
            if (!dm_store(&G, &B, e, &o, &at))
                continue;
#if DIRECT_OUT_VEC
            *(float4 *)(dst + o) = *(const float4 *)(smem + at);
#else
            dst[o] = smem[at];
#endif
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

/* Prep: filter [K][C/G][R][S] -> [G][tiles_k][chunks*TILE_C][R][S][TKP], zeros where k or c
 * lies past the layer (one thread per element of the result). */
extern "C" __global__ void __launch_bounds__(256)
    direct_filter_crsk(const float *__restrict__ f, float *__restrict__ ft)
{
    const dm_geom G = dm_make();
    const long long e = (long long)blockIdx.x * 256 + threadIdx.x;
    if (e >= (long long)LAYER_GROUPS * TILES_K * CHUNKS * TILE_C * RS * TKP)
        return;
    const long long src = dm_f_source(&G, e);
    ft[e] = src >= 0 ? f[src] : 0.0f;
}
