/* band_map.cuh - where every float of the im2col and im2win transforms goes (docs/model.md,
 * "im2col + GEMM" and "im2win"). Included by the kernels (gpu/kernels/band_copy.cuh, im2col.cu,
 * im2win.cu), by the trace generator (sim/trace_band.c) and by the CPU emulation test; the model
 * (model/band.c) fills the geometry and counts without it.
 *
 * Both transforms read an input plane band by band and write a workspace that the direct kernel
 * then reads as the input of a derived layer:
 *   im2col  col[n][g][(c', r, s)][p][q] = in_padded[n][g*C/G + c'][p*sh + r*dh][q*sw + s*dw]
 *           (a derived 1x1 layer: N x C*R*S x P x Q, groups G)
 *   im2win  win[n][c][p][x][r] = in_padded[n][c][p*sh + r*dh][x], x < Wp = W + pad_l + pad_r
 *           (a derived layer: N x C x P x Wp*R, filter 1 x R*S, stride 1 x sw*R)
 * with zeros where the padded input is padding.
 *
 * Block b of the 1-D grid: plane b / bands (= n*C + c), band b % bands of `band` output rows
 * (p0 = band index * band, pv rows, clipped at P).
 * Copies: the input rows the band needs, [hlo, hlo + rows) clipped to the image, are ONE contiguous
 *   run of rows*W floats at src = plane*H*W + hlo*W. Copy slot e (0 <= e < 2 * the run's sectors)
 *   is the 16-byte piece at (src rounded down to 8) + 4e; it is issued (cp.async.cg, 16 bytes)
 *   when it overlaps the run, to shared memory at its offset from src rounded down to 4. Slots go
 *   to threads e % threads, threads a multiple of 32: both halves of a sector are in one warp
 *   instruction, so the L2 sees each sector of the run read exactly once.
 * Stores: runs of contiguous output (im2col: one per (r, s), pv*Q floats of the plane (n, g, c',
 *   r, s) from row p0; im2win: one per output row p of the band, Wp*R floats). Run j has
 *   run_slots slots (a multiple of 32) counted from the sector at or before its start; slot f
 *   writes float f - (start mod 8) of the run if it lies in the run: each warp instruction lies in
 *   one run and each sector of a run is written by one instruction. Within a run the (h, w) each
 *   float reads are distinct, so a warp's shared-memory reads have distinct addresses.
 */
#ifndef IOB_BAND_MAP_CUH
#define IOB_BAND_MAP_CUH

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define BM_FN static __device__ __forceinline__
#else
#define BM_FN static inline
#endif

#define BM_IM2COL 0
#define BM_IM2WIN 1
#define BM_THREADS 256 /* threads per block of both transforms: a multiple of 32 */

typedef struct bm_geom {
    int kind; /* BM_IM2COL or BM_IM2WIN */
    /* the layer */
    int n, c, h, w, r, s, p, q, sh, sw, dh, dw, pad_top, pad_left;
    int wp;        /* im2win: padded width W + pad_left + pad_right; im2col: 0 */
    int band;      /* output rows per block */
    int bands;     /* ceil(P / band) */
    int runs;      /* store runs per block: R*S (im2col) or band (im2win) */
    int run_slots; /* store slots per run: a multiple of 32, at least 7 + the longest run */
} bm_geom;

typedef struct bm_block {
    long long plane; /* n*C + c */
    int p0, pv;      /* first output row of the band, rows in it */
    int hlo, rows;   /* first input row read, rows read (0: the band reads nothing) */
    long long src;   /* first float of the input run: plane*H*W + hlo*W */
    int len;         /* floats of the run: rows*W */
    int slots;       /* copy slots: 2 x the sectors of the run (0 when len = 0) */
} bm_block;

BM_FN bm_block bm_block_at(const bm_geom *G, long long b)
{
    bm_block B;
    B.plane = b / G->bands;
    B.p0 = (int)(b % G->bands) * G->band;
    B.pv = G->p - B.p0 < G->band ? G->p - B.p0 : G->band;
    int lo = B.p0 * G->sh - G->pad_top;
    int hi = (B.p0 + B.pv - 1) * G->sh - G->pad_top + (G->r - 1) * G->dh + 1;
    B.hlo = lo > 0 ? lo : 0;
    hi = hi < G->h ? hi : G->h;
    B.rows = hi > B.hlo ? hi - B.hlo : 0;
    B.src = B.plane * G->h * G->w + (long long)B.hlo * G->w;
    B.len = B.rows * G->w;
    B.slots = B.len ? 2 * (int)(((B.src + B.len - 1) >> 3) - (B.src >> 3) + 1) : 0;
    return B;
}

/* Copy slot e of block B: 1 if it is issued, with the piece's first float *src and its offset
 * *smem (floats) in shared memory. */
BM_FN int bm_copy(const bm_block *B, int e, int *smem, long long *src)
{
    long long ps = (B->src & ~7LL) + 4LL * e;
    if (ps + 4 <= B->src || ps >= B->src + B->len)
        return 0;
    *src = ps;
    *smem = (int)(ps - (B->src & ~3LL));
    return 1;
}

/* Store run j of block B: 1 if it exists, with its first float *dst and its length *len. */
BM_FN int bm_run(const bm_geom *G, const bm_block *B, int j, long long *dst, int *len)
{
    if (G->kind == BM_IM2COL) {
        *len = B->pv * G->q;
        *dst = ((B->plane * (G->r * G->s) + j) * G->p + B->p0) * (long long)G->q;
        return 1;
    }
    if (j >= B->pv)
        return 0;
    *len = G->wp * G->r;
    *dst = (B->plane * G->p + B->p0 + j) * (long long)*len;
    return 1;
}

/* Store slot e (0 <= e < runs * run_slots) of block B: 1 if it stores, with the workspace index
 * *dst and the shared-memory offset of the value *at, or -1 for a zero (padding). */
BM_FN int bm_store(const bm_geom *G, const bm_block *B, int e, long long *dst, int *at)
{
    int j = e / G->run_slots, f = e % G->run_slots, len, h, w;
    long long d0;
    if (!bm_run(G, B, j, &d0, &len))
        return 0;
    int x = (int)((d0 & ~7LL) - d0) + f;
    if (x < 0 || x >= len)
        return 0;
    *dst = d0 + x;
    if (G->kind == BM_IM2COL) {
        int pp = x / G->q, q = x % G->q, r = j / G->s, s = j % G->s;
        h = (B->p0 + pp) * G->sh - G->pad_top + r * G->dh;
        w = q * G->sw - G->pad_left + s * G->dw;
    } else {
        int r = x % G->r;
        h = (B->p0 + j) * G->sh - G->pad_top + r * G->dh;
        w = x / G->r - G->pad_left;
    }
    *at = (unsigned)h < (unsigned)G->h && (unsigned)w < (unsigned)G->w
              ? (int)(B->src & 3) + (h - B->hlo) * G->w + w
              : -1;
    return 1;
}

#endif
