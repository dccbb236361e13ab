/* band_copy.cuh - the body of the im2col and im2win transform kernels (gpu/kernels/im2col.cu,
 * im2win.cu): a block copies its band of input rows into shared memory with 16-byte cp.async.cg
 * (L2 only), waits, and writes its runs of the workspace from there in sector slots
 * (band_map.cuh says which float goes where; docs/model.md, "im2col + GEMM").
 *
 * Macros (gpu/host_band.c writes them): the layer's LAYER_*, BM_KIND (BM_IM2COL or BM_IM2WIN),
 * BM_BAND (output rows per block), BM_WP (im2win: the padded width W + pad_left + pad_right; 0
 * for im2col), BM_RUN_SLOTS (store slots per run) and BM_SMEM_FLOATS (the dynamic shared memory,
 * checked here against the largest band).
 *
 * Every shared-memory read and global store goes through SLD / STG and every global load is a
 * cp_async16, so that tests/cuda_emu.h can run this file on the CPU, log its accesses and count
 * its shared-memory bytes; on the GPU they are plain accesses.
 */
#ifndef IOB_BAND_COPY_CUH
#define IOB_BAND_COPY_CUH

#include "kernel_prelude.cuh"

#include "band_map.cuh"

#ifdef BM_KIND
#define BM_RS (LAYER_R * LAYER_S)
#define BM_BANDS ((LAYER_P + BM_BAND - 1) / BM_BAND)
#define BM_RUNS (BM_KIND == BM_IM2COL ? BM_RS : BM_BAND)
/* input rows of a full band (at most the image's) */
#define BM_ROWS_RAW ((BM_BAND - 1) * LAYER_STRIDE_H + (LAYER_R - 1) * LAYER_DIL_H + 1)
#define BM_ROWS (BM_ROWS_RAW < LAYER_H ? BM_ROWS_RAW : LAYER_H)
#define BM_RUN_MAX (BM_KIND == BM_IM2COL ? BM_BAND * LAYER_Q : BM_WP * LAYER_R)
IOB_STATIC_ASSERT(BM_KIND == BM_IM2COL || BM_KIND == BM_IM2WIN, "BM_KIND: im2col or im2win");
IOB_STATIC_ASSERT(BM_BAND >= 1 && BM_BAND <= LAYER_P, "a band holds 1 to P output rows");
IOB_STATIC_ASSERT(BM_KIND == BM_IM2COL ? BM_WP == 0 : BM_WP >= LAYER_W + LAYER_PAD_LEFT,
                  "BM_WP: the padded width (im2win only)");
IOB_STATIC_ASSERT(BM_RUN_SLOTS % 32 == 0 && BM_RUN_SLOTS >= BM_RUN_MAX + 7,
                  "store slots: a multiple of 32 that holds a run at any sector offset");
/* the pieces of a band start up to 3 floats before its first row and end on 4 floats */
IOB_STATIC_ASSERT(BM_SMEM_FLOATS >= (BM_ROWS * LAYER_W + 3 + 3) / 4 * 4,
                  "shared memory must hold the largest band");

IOB_DEV bm_geom bm_make(void)
{
    bm_geom G;
    G.kind = BM_KIND;
    G.n = LAYER_N;
    G.c = LAYER_C;
    G.h = LAYER_H;
    G.w = LAYER_W;
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
    G.wp = BM_KIND == BM_IM2WIN ? BM_WP : 0;
    G.band = BM_BAND;
    G.bands = BM_BANDS;
    G.runs = BM_RUNS;
    G.run_slots = BM_RUN_SLOTS;
    return G;
}

/* One block of the transform: its band into shared memory, then its runs out of it. */
IOB_DEV void bm_transform(const float *IOB_RESTRICT in, float *IOB_RESTRICT out, float *sm)
{
    const bm_geom G = bm_make();
    const bm_block B = bm_block_at(&G, (long long)blockIdx.x);
    for (int e = threadIdx.x; e < B.slots; e += BM_THREADS) {
        int at;
        long long src;
        if (bm_copy(&B, e, &at, &src))
            cp_async16(sm + at, in + src);
    }
    CP_ASYNC_COMMIT();
    CP_ASYNC_WAIT(0);
    __syncthreads();
    for (int e = threadIdx.x; e < BM_RUNS * BM_RUN_SLOTS; e += BM_THREADS) {
        long long d;
        int at;
        if (bm_store(&G, &B, e, &d, &at))
            STG(out + d, at >= 0 ? SLD(sm + at) : 0.0f);
    }
}
#endif /* BM_KIND */

#endif
