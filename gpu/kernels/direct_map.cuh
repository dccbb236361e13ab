/* direct_map.cuh - where the direct kernel (direct.cu) puts and finds every float: the block's
 * tile, the 16-byte copy slots of the input patch and of the filter slice, the left-edge zero
 * fix-up, the staged output tile and its coalesced stores (docs/model.md, "Direct convolution").
 *
 * One source for three readers: the CUDA kernel (through NVRTC, the geometry built from its
 * macros), the trace generator (sim/trace_direct.c) and the CPU emulation of the kernel
 * (tests/test_direct_emulate.c), both C11 with the geometry filled by iob_direct_map_fill
 * (model/direct.c). It is therefore plain C: no references, templates or CUDA types.
 *
 * Copies (every one a 16-byte cp.async.cg: L2 only, no L1 allocation):
 *   input   a patch row (channel c, image tn, row y of the stage) holds the floats of global
 *           index [A, A + 4*in_pieces), A = gw - d4, gw the index of the row's column w0 and
 *           d4 = gw mod 4 (in_shift, or per row when W % 4 or tile_q*stride_w % 4 is not 0).
 *           Piece i sits at smem row*pitch + 4i. Copy slots count from the sector boundary
 *           at or before A (e8 = (A mod 8) / 4 slots before piece 0), in_slots (even) per row,
 *           so the two halves of a 32-byte sector are adjacent slots: slot e of a stage goes
 *           to thread e % copy_threads (even, and a multiple of in_slots where the block has
 *           that many threads, so that a thread keeps its slot), and both halves travel in one
 *           warp instruction.
 *           Rows are walked image fastest, then channel, then row (dm_in_walk_row), so that
 *           rows that meet inside a sector in memory never share a copy instruction.
 *           A piece is read (src-size > 0) when its row is in the image and it overlaps the
 *           row's needed columns [max(w0, 0), min(w0 + iw_v, W)); the rest is zero-filled
 *           (src-size 0: no read). At the right image edge src-size stops at column W.
 *   left fix-up (W % 4 != 0 and a tile with w0 < 0): the piece holding image column 0 then
 *           starts at column -m, m = (index of column 0) mod 4, and brings m floats of the
 *           row before: after the copies land, the block zeroes those m words.
 *   filter  the workspace holds [G][tiles_k][chunks*tile_c][R][S][tkp], tkp = round4(tile_k),
 *           zero-padded, so a stage's slice is one contiguous run of tile_c*R*S*tkp floats at
 *           FB; slots from the sector boundary at or before FB as for the input.
 * Stores: the thread tile goes to shared memory [tile_k][tile_n][tile_p][out_pitch] after the
 *   last stage; then runs of contiguous output (rows of tq_v floats; whole planes of tp_v*Q
 *   floats when the tile spans Q; whole images of tk_v*P*Q when it spans P and Q too; the whole
 *   block when it also holds all K channels of a one-group layer) are stored in sector slots
 *   (8 floats, or 2 float4 with out_vec) counted from the sector at or before each run's start,
 *   by store_threads (a multiple of 8) threads: each sector of a run is written by one warp
 *   instruction, and runs that meet inside a sector are walked far enough apart (out_slots,
 *   model/direct.c) never to share one.
 */
#ifndef IOB_DIRECT_MAP_CUH
#define IOB_DIRECT_MAP_CUH

#if defined(__CUDACC__) || defined(__CUDACC_RTC__)
#define DM_FN static __device__ __forceinline__
#else
#define DM_FN static inline
#endif
/* Element indices into the input and the filter workspace: 64-bit, or 32-bit where the kernel
 * knows the tensors are smaller than 2^31 elements (DM_INDEX32: a third of the copy loop's
 * instructions on sm_90). */
#ifdef DM_INDEX32
typedef int dm_index;
#else
typedef long long dm_index;
#endif
#define DM_MIN(a, b) ((a) < (b) ? (a) : (b))
#define DM_MAX(a, b) ((a) > (b) ? (a) : (b))

typedef struct dm_geom {
    /* the layer */
    int n, c, h, w, k, r, s, p, q, sh, sw, dh, dw, pad_top, pad_left, cg, kg;
    /* the config and what follows from it (docs/model.md, "The table") */
    int tile_k, tile_n, tile_p, tile_q, tile_c, micro_k, micro_p, micro_q, split_c;
    int tkt, tpt, tqt, threads;
    int tiles_q, tiles_k, chunks, chunks_per_split;
    int ih, iw;        /* patch rows and columns of a full tile */
    int in_shift;      /* d4 of every row, or -1: per row */
    int in_e8;         /* e8 of every row, or -1: per row */
    int in_pieces;     /* 16-byte pieces per patch row */
    int in_slots;      /* copy slots per patch row (even) */
    int pitch;         /* patch row pitch in shared memory (floats, a multiple of 4) */
    int tkp;           /* filter row length in the workspace and in shared memory */
    int cgp;           /* channels per group in the workspace: chunks * tile_c */
    int f_e8;          /* e8 of every filter slice, or -1: per slice */
    int f_pieces;      /* tile_c * R * S * tkp / 4 */
    int f_slots;       /* copy slots of a filter slice (even) */
    int f_off;         /* where the filter slice starts in a stage buffer (floats) */
    int copy_threads;  /* threads that copy: threads rounded down to even */
    int store_threads; /* threads that store: threads rounded down to a multiple of 8 */
    int out_run;       /* 0: a run per output row, 1: per plane, 2: per image, 3: per block */
    int out_vec;       /* 1: float4 stores (every run starts and ends on 4 floats) */
    int out_pitch;     /* staged output row pitch (floats) */
    int out_slots;     /* sector slots per run */
    int out_runs;      /* runs of a full tile */
} dm_geom;

/* A block: grid x = tile row * tiles_q + tile column, y = group * tiles_k + k tile,
 * z = image tile * split_c + split. */
typedef struct dm_block {
    int p0, q0, g, k0, n0, sp;
    int tp_v, tq_v, tk_v, tn_v; /* valid part of the tile (clipped at the edges) */
    int ih_v, iw_v;             /* rows and columns of the clipped tile's patch */
    int h0, w0;                 /* input row and column of the patch's corner */
    int ch_first, nch;          /* the split's chunks */
} dm_block;

/* One cp.async: issued or not, its shared-memory offset (floats, within the stage buffer), its
 * global source (float index into the input or the filter workspace) and bytes read (0: zero
 * fill). */
typedef struct dm_copy {
    int issue, smem, bytes;
    dm_index src;
} dm_copy;

DM_FN int dm_mod(dm_index a, int m)
{
    int r = (int)(a % m);
    return r < 0 ? r + m : r;
}

DM_FN dm_block dm_block_at(const dm_geom *G, int bx, int by, int bz)
{
    dm_block B;
    B.p0 = (bx / G->tiles_q) * G->tile_p;
    B.q0 = (bx % G->tiles_q) * G->tile_q;
    B.g = by / G->tiles_k;
    B.k0 = (by % G->tiles_k) * G->tile_k;
    B.n0 = (bz / G->split_c) * G->tile_n;
    B.sp = bz % G->split_c;
    B.tp_v = DM_MIN(G->tile_p, G->p - B.p0);
    B.tq_v = DM_MIN(G->tile_q, G->q - B.q0);
    B.tk_v = DM_MIN(G->tile_k, G->kg - B.k0);
    B.tn_v = DM_MIN(G->tile_n, G->n - B.n0);
    B.ih_v = (B.tp_v - 1) * G->sh + (G->r - 1) * G->dh + 1;
    B.iw_v = (B.tq_v - 1) * G->sw + (G->s - 1) * G->dw + 1;
    B.h0 = B.p0 * G->sh - G->pad_top;
    B.w0 = B.q0 * G->sw - G->pad_left;
    B.ch_first = B.sp * G->chunks_per_split;
    B.nch = DM_MIN(G->chunks, B.ch_first + G->chunks_per_split) - B.ch_first;
    return B;
}

/* Patch row `row` = (c * tile_n + tn) * ih + y of chunk `chunk` (its place in shared memory):
 * the global index of its column w0 (may lie outside the tensor when the row is not read), its
 * channel within the group, image and input row. */
DM_FN dm_index dm_in_row(const dm_geom *G, const dm_block *B, int chunk, int row, int *cc,
                         int *n, int *h, int *y)
{
    unsigned ur = (unsigned)row, rest = ur / (unsigned)G->ih;
    *y = (int)(ur % (unsigned)G->ih);
    *n = B->n0 + (int)(rest % (unsigned)G->tile_n);
    *cc = chunk * G->tile_c + (int)(rest / (unsigned)G->tile_n);
    *h = B->h0 + *y;
    return (((dm_index)*n * G->c + (dm_index)B->g * G->cg + *cc) * G->h + *h) * G->w + B->w0;
}

/* The patch row copied by slots [k * in_slots, (k+1) * in_slots): the copies walk rows with the
 * image fastest, then the channel, then the row (k = (y * tile_c + c) * tile_n + tn), so that
 * rows next to each other in memory are tile_c * tile_n rows apart in the walk and (with
 * in_slots large enough, model/direct.c) never share a copy instruction. */
DM_FN int dm_in_walk_row(const dm_geom *G, int k)
{
    /* unsigned: divisions by the (compile-time) tile sizes become shifts and multiplies */
    unsigned uk = (unsigned)k, utn = (unsigned)G->tile_n, utc = (unsigned)G->tile_c;
    unsigned tn = uk % utn, c = (uk / utn) % utc, y = uk / (utn * utc);
    return (int)((c * utn + tn) * (unsigned)G->ih + y);
}

/* 1 if the patch row's channel, image and input row exist (its columns aside). */
DM_FN int dm_in_row_valid(const dm_geom *G, const dm_block *B, int cc, int n, int h, int y)
{
    return cc < G->cg && n < G->n && y < B->ih_v && (unsigned)h < (unsigned)G->h;
}

/* 1 if the patch row holds image data (else it is all zeros). */
DM_FN int dm_in_row_read(const dm_geom *G, const dm_block *B, int cc, int n, int h, int y)
{
    return dm_in_row_valid(G, B, cc, n, h, y) &&
           DM_MAX(B->w0, 0) < DM_MIN(B->w0 + B->iw_v, G->w);
}

/* d4 of a patch row: where its column w0 sits in shared memory (floats from the row start). */
DM_FN int dm_in_shift(const dm_geom *G, dm_index gw)
{
    return G->in_shift >= 0 ? G->in_shift : dm_mod(gw, 4);
}

/* What a copy slot does in every row when the shift and e8 are the same for all rows (in_shift
 * and in_e8 >= 0): its piece, the piece's first image column, whether it overlaps the needed
 * columns, and the bytes it reads where the row is read. The kernel works it out once per thread
 * (a thread keeps its slot) rather than per row. */
typedef struct dm_in_lane {
    int issue, piece, col, col_ok, bytes;
} dm_in_lane;

DM_FN dm_in_lane dm_in_lane_of(const dm_geom *G, const dm_block *B, int slot)
{
    dm_in_lane ln;
    ln.piece = slot - G->in_e8;
    ln.issue = ln.piece >= 0 && ln.piece < G->in_pieces;
    ln.col = B->w0 - G->in_shift + 4 * ln.piece;
    int lo = DM_MAX(B->w0, 0), hi = DM_MIN(B->w0 + B->iw_v, G->w);
    ln.col_ok = lo < hi && ln.col < hi && ln.col + 4 > lo;
    ln.bytes = 4 * (DM_MIN(ln.col + 4, G->w) - ln.col);
    return ln;
}

/* The copy of lane ln (dm_in_lane_of) in walk row k of chunk `chunk`. */
DM_FN dm_copy dm_in_copy_lane(const dm_geom *G, const dm_block *B, int chunk, int k,
                              const dm_in_lane *ln)
{
    dm_copy r;
    int row = dm_in_walk_row(G, k), cc, n, h, y;
    dm_index gw = dm_in_row(G, B, chunk, row, &cc, &n, &h, &y);
    int read = ln->col_ok && dm_in_row_valid(G, B, cc, n, h, y);
    r.issue = ln->issue;
    r.smem = row * G->pitch + 4 * ln->piece;
    r.src = read ? gw - G->in_shift + 4 * ln->piece : 0;
    r.bytes = read ? ln->bytes : 0;
    return r;
}

/* Copy slot `slot` of walk row k (slot e = k * in_slots + slot of the stage) of chunk `chunk`'s
 * input patch. */
DM_FN dm_copy dm_in_copy_at(const dm_geom *G, const dm_block *B, int chunk, int k, int slot)
{
    if (G->in_shift >= 0 && G->in_e8 >= 0) {
        dm_in_lane ln = dm_in_lane_of(G, B, slot);
        return dm_in_copy_lane(G, B, chunk, k, &ln);
    }
    dm_copy r;
    r.issue = 0;
    r.smem = 0;
    r.bytes = 0;
    r.src = 0;
    int row = dm_in_walk_row(G, k), cc, n, h, y;
    dm_index gw = dm_in_row(G, B, chunk, row, &cc, &n, &h, &y);
    int d4 = dm_in_shift(G, gw);
    int e8 = G->in_e8 >= 0 ? G->in_e8 : dm_mod(gw - d4, 8) / 4;
    int piece = slot - e8;
    if (piece < 0 || piece >= G->in_pieces)
        return r;
    r.issue = 1;
    r.smem = row * G->pitch + 4 * piece;
    int col = B->w0 - d4 + 4 * piece; /* image column of the piece's first float */
    int lo = DM_MAX(B->w0, 0), hi = DM_MIN(B->w0 + B->iw_v, G->w);
    if (dm_in_row_read(G, B, cc, n, h, y) && col < hi && col + 4 > lo) {
        r.src = gw - d4 + 4 * piece;
        r.bytes = 4 * (DM_MIN(col + 4, G->w) - col);
    }
    return r;
}

/* Copy slot e (0 <= e < tile_c * tile_n * ih * in_slots) of chunk `chunk`'s input patch. */
DM_FN dm_copy dm_in_copy(const dm_geom *G, const dm_block *B, int chunk, int e)
{
    return dm_in_copy_at(G, B, chunk, e / G->in_slots, e % G->in_slots);
}

/* The left-edge fix-up of patch row `row`: the number of words to zero (0 if none) and the
 * shared-memory offset of the first. Only for blocks with w0 < 0. */
DM_FN int dm_in_fix(const dm_geom *G, const dm_block *B, int chunk, int row, int *smem)
{
    int cc, n, h, y;
    dm_index gw = dm_in_row(G, B, chunk, row, &cc, &n, &h, &y);
    if (B->w0 >= 0 || !dm_in_row_read(G, B, cc, n, h, y))
        return 0;
    int m = dm_mod(gw - B->w0, 4); /* (index of image column 0) mod 4 */
    *smem = row * G->pitch + dm_in_shift(G, gw) - B->w0 - m;
    return m;
}

/* The filter slice of chunk `chunk`: its first float in the workspace. */
DM_FN dm_index dm_f_base(const dm_geom *G, const dm_block *B, int chunk)
{
    return (((dm_index)B->g * G->tiles_k + B->k0 / G->tile_k) * G->cgp +
            (dm_index)chunk * G->tile_c) *
           G->r * G->s * G->tkp;
}

/* Copy slot e (0 <= e < f_slots) of chunk `chunk`'s filter slice. */
DM_FN dm_copy dm_f_copy(const dm_geom *G, const dm_block *B, int chunk, int e)
{
    dm_copy r;
    dm_index fb = dm_f_base(G, B, chunk);
    int piece = e - (G->f_e8 >= 0 ? G->f_e8 : dm_mod(fb, 8) / 4);
    r.issue = piece >= 0 && piece < G->f_pieces;
    r.smem = G->f_off + 4 * piece;
    r.bytes = r.issue ? 16 : 0;
    r.src = fb + 4 * piece;
    return r;
}

/* The filter workspace entry e (0 <= e < G*tiles_k*cgp*R*S*tkp): the index of its value in the
 * original [K][C/G][R][S] filter, or -1 for a zero (padding). */
DM_FN long long dm_f_source(const dm_geom *G, long long e)
{
    int kk = (int)(e % G->tkp);
    long long rest = e / G->tkp;
    int rs = (int)(rest % (G->r * G->s));
    rest /= G->r * G->s;
    int cc = (int)(rest % G->cgp);
    rest /= G->cgp;
    int kt = (int)(rest % G->tiles_k), g = (int)(rest / G->tiles_k);
    int k = kt * G->tile_k + kk;
    if (kk >= G->tile_k || k >= G->kg || cc >= G->cg)
        return -1;
    return (((long long)g * G->kg + k) * G->cg + cc) * (G->r * G->s) + rs;
}

/* A thread's place in the block: tid = ((tk_idx * tile_n + tn_idx) * tpt + tp_idx) * tqt +
 * tq_idx. */
DM_FN void dm_thread(const dm_geom *G, int tid, int *tk_idx, int *tn_idx, int *tp_idx,
                     int *tq_idx)
{
    *tq_idx = tid % G->tqt;
    *tp_idx = (tid / G->tqt) % G->tpt;
    *tn_idx = (tid / (G->tqt * G->tpt)) % G->tile_n;
    *tk_idx = tid / (G->tqt * G->tpt * G->tile_n);
}

/* Where the staged output (channel kk, image tn, row pp, column qq of the tile) sits. */
DM_FN int dm_out_stage(const dm_geom *G, int kk, int tn, int pp, int qq)
{
    return ((kk * G->tile_n + tn) * G->tile_p + pp) * G->out_pitch + qq;
}

/* Output run ru of the block (ru in the store walk's order: channel fastest, then image, then
 * row for row runs; image fastest for plane runs): 1 if it holds outputs; its first output's
 * index and length. */
DM_FN int dm_out_run(const dm_geom *G, const dm_block *B, int ru, long long *o, int *len)
{
    int kk = 0, tn = 0, pp = 0;
    if (G->out_run == 0) {
        kk = ru % G->tile_k;
        tn = (ru / G->tile_k) % G->tile_n;
        pp = ru / (G->tile_k * G->tile_n);
        *len = B->tq_v;
    } else if (G->out_run == 1) {
        tn = ru % G->tile_n;
        kk = ru / G->tile_n;
        *len = B->tp_v * G->q;
    } else if (G->out_run == 2) {
        tn = ru;
        *len = B->tk_v * G->p * G->q;
    } else {
        *len = B->tn_v * B->tk_v * G->p * G->q;
    }
    *o = (((long long)(B->n0 + tn) * G->k + (long long)B->g * G->kg + B->k0 + kk) * G->p + B->p0 +
          pp) *
             G->q +
         B->q0;
    return kk < B->tk_v && tn < B->tn_v && pp < B->tp_v;
}

/* The staged place of float x of run ru. */
DM_FN int dm_out_at(const dm_geom *G, int ru, int x)
{
    int kk, tn, pp, qq;
    if (G->out_run == 0) {
        kk = ru % G->tile_k;
        tn = (ru / G->tile_k) % G->tile_n;
        pp = ru / (G->tile_k * G->tile_n);
        qq = x;
    } else if (G->out_run == 1) {
        tn = ru % G->tile_n;
        kk = ru / G->tile_n;
        pp = x / G->q;
        qq = x % G->q;
    } else {
        /* planes of the image (2), or of the images one after another (3: all of K/G) */
        int plane = x / (G->p * G->q);
        tn = G->out_run == 2 ? ru : plane / G->kg;
        kk = G->out_run == 2 ? plane : plane % G->kg;
        pp = (x / G->q) % G->p;
        qq = x % G->q;
    }
    return dm_out_stage(G, kk, tn, pp, qq);
}

/* Store slot e (0 <= e < out_runs * out_slots * (out_vec ? 2 : 8)): 1 if it stores, the output
 * index of its first float and the staged offset (out_vec: 4 floats, else 1). */
DM_FN int dm_store(const dm_geom *G, const dm_block *B, int e, long long *dst, int *smem)
{
    int per = G->out_slots * (G->out_vec ? 2 : 8), width = G->out_vec ? 4 : 1;
    int ru = e / per, f = e % per, len;
    long long o;
    if (!dm_out_run(G, B, ru, &o, &len))
        return 0;
    int x = (int)((o & ~7LL) - o) + f * width; /* float of the run, from the sector at or before */
    if (x < 0 || x >= len)
        return 0;
    *dst = o + x;
    *smem = dm_out_at(G, ru, x);
    return 1;
}

#endif
