/* direct_model.h - the geometry of the direct kernel's dataflow (internal to model/ and gpu/):
 * tile counts, the shared-memory layout of one pipeline stage, and which copies and shared-memory
 * reads are vectorised. docs/model.md, section "Direct convolution", is the specification; the
 * closed form (model/direct.c), the plan builder (gpu/host_direct.c) and the kernel
 * (gpu/kernels/direct.cu, through the DIRECT_* macros the plan passes) all read it from here.
 */
#ifndef IOB_MODEL_DIRECT_MODEL_H
#define IOB_MODEL_DIRECT_MODEL_H

#include <stdint.h>

#include "gpu/kernels/direct_map.cuh"
#include "iobound/dataflow.h"

typedef struct iob_direct_geom {
    int64_t cg, kg;           /* C/G, K/G */
    int tn;                   /* images per block: tile_n, or 1 when tile_n is 0 */
    int64_t tiles_p, tiles_q; /* ceil(P/tile_p), ceil(Q/tile_q) */
    int64_t tiles_k;          /* ceil(K/G / tile_k) */
    int64_t tiles_n;          /* ceil(N / tn) */
    int64_t chunks;           /* ceil(C/G / tile_c): pipeline stages of one group */
    int64_t chunks_per_split; /* ceil(chunks / split_c) */
    int64_t grid[3];          /* x: tiles_p*tiles_q, y: G*tiles_k, z: tiles_n*split_c */
    int64_t grid_blocks;
    int threads, tkt, tpt, tqt; /* threads and their split over k, p, q (tn over images) */
    int ih, iw;               /* input patch of a full tile: rows, columns */
    /* input copies (gpu/kernels/direct_map.cuh): 16-byte pieces from the 16-byte boundary at or
     * before each patch row's column w0, d4 floats before it */
    int in_shift;             /* d4 of every row (W % 4 == 0 and tile_q*stride_w % 4 == 0:
                                 (-pad_left) mod 4), or -1: per row, (index of w0) mod 4 */
    int in_e8;                /* 1 if every row's first piece is the upper half of a sector, 0 if
                                 none, -1: per row */
    int in_pieces;            /* pieces per patch row: ceil((max d4 + iw) / 4) */
    int in_slots;             /* copy slots per row: in_pieces (+1 when e8 may be 1), even */
    int in_share;             /* 1: rows next to each other in memory may share a sector (a
                                 tile's needed columns come within 7 floats of W) */
    int in_share_dist;        /* then: the fewest rows between such rows in the copy walk */
    int iw_copy;              /* floats the copy writes per patch row: 4 * in_pieces */
    int iw_pitch;             /* shared-memory row pitch of the patch (floats, a multiple of 4) */
    int left_fix;             /* 1: W % 4 != 0 and pad_left > 0: rows of tiles with w0 < 0 get
                                 the floats before column 0 zeroed after the copy */
    /* filter: workspace [G][tiles_k][cgp][R][S][tkp], zero-padded */
    int tkp;                  /* round4(tile_k) */
    int64_t cgp;              /* chunks * tile_c */
    int f_e8;                 /* like in_e8 for the filter slices */
    int f_pieces, f_slots;    /* pieces of a slice (tile_c*R*S*tkp/4), copy slots (even) */
    int copy_threads;         /* threads rounded down to even */
    int store_threads;        /* threads rounded down to a multiple of 8 */
    int vec_q;                /* 1: a thread's micro_q columns read with LDS.128 (1x1, stride 1) */
    int vec_k;                /* 1: a thread's micro_k filter values read with LDS.128 */
    int q_window;             /* 1: a thread's columns are consecutive (q = tq_idx*micro_q + j)
                                 rather than strided (q = tq_idx + j*tqt) */
    int64_t in_stage_floats;  /* tile_c * tn * ih * iw_pitch: where the filter slice starts */
    int64_t f_stage_floats;   /* tile_c * R * S * tkp */
    int64_t stage_floats;     /* in_stage_floats + f_stage_floats: one pipeline buffer */
    /* the staged output and its stores */
    int out_run;              /* 0: runs are output rows, 1: planes (tile_q >= Q), 2: images
                                 (tile_p >= P too), 3: the whole block (tile_k >= K too, G = 1) */
    int out_share_dist;       /* runs that may share a sector: the fewest runs between them in
                                 the store walk (INT32_MAX: none share) */
    int out_vec;              /* 1: float4 stores (Q % 4 == 0, and tile_q % 4 == 0 or >= Q) */
    int out_pitch;            /* staged row pitch (floats, a multiple of 4) */
    int out_slots;            /* sector slots per run */
    int out_runs;             /* runs of a full tile */
    int64_t out_floats;       /* tile_k * tn * tile_p * out_pitch */
    int64_t smem_floats;      /* max(stages * stage_floats, out_floats) */
    int64_t smem_bytes;       /* smem_floats * 4 */
    int wavefronts_in;        /* shared-memory wavefronts of one warp-wide patch read */
    int x_distinct;           /* distinct patch columns one thread reads per (c, r) */
    int64_t warp_k_bases;     /* sum over the warps of the distinct tk_idx of their lanes */
    int64_t warp_x_bases;     /* sum over the warps of the distinct (tn, tp, tq) of their lanes */
    int c_unroll;             /* channels per unrolled step of the kernel's channel loop */
    int64_t elems_out;        /* N*K*P*Q */
    int64_t ws_plane;         /* floats of one split's partial plane: elems_out rounded to 32 */
    int64_t ws_partial_bytes; /* split_c > 1: split_c * ws_plane * 4, else 0 */
    int64_t ws_filter_bytes;  /* the filter workspace: G * tiles_k * cgp * R * S * tkp * 4 */
} iob_direct_geom;

/* Fills g for a layer and a config whose tile and micro sizes are >= 1 (no resource checks).
 * Pure arithmetic, no failure. */
void iob_direct_geom_get(const iob_layer *L, const iob_config *cfg, iob_direct_geom *g);

/* The kernel's map geometry (gpu/kernels/direct_map.cuh) of a layer and a config, as the
 * kernel's macros give it (the trace generator and the CPU emulation use it). g from
 * iob_direct_geom_get. */
void iob_direct_map_fill(const iob_layer *L, const iob_config *cfg, const iob_direct_geom *g,
                         dm_geom *map);

/* Threads of the split reduction kernel and the floats each handles. */
#define IOB_DIRECT_REDUCE_THREADS 256

/* Channels per unrolled step of the kernel's channel loop (DIRECT_C_UNROLL): 4, 2 or 1, the
 * largest that divides tile_c and keeps the step within 256 FFMAs and 40 operands. g must have
 * x_distinct set. */
int iob_direct_c_unroll(const iob_config *cfg, const iob_layer *L, const iob_direct_geom *g);

/* Registers per thread the resource model expects ptxas to give a config (docs/model.md,
 * calibration against ptxas for sm_90). */
int iob_direct_regs_estimate(const iob_layer *L, const iob_config *cfg,
                             const iob_direct_geom *g);

/* The predicted SM<->L2 sectors of a config split by tensor: input reads, filter reads, stores
 * of the main kernel, reads and stores of the split reduction. Fails like the prediction. */
iob_status iob_direct_sectors(const iob_layer *L, const iob_config *cfg, int64_t sectors[5],
                              iob_error *err);

/* The continuous relaxation (model/optimize.c): the real tile (tile_k, tile_p, tile_q, images)
 * that minimises the relaxed traffic under the register and shared-memory constraints, and that
 * traffic in floats (may be NULL). IOB_ENOMEM only. */
iob_status iob_direct_relax_continuous(const iob_layer *L, const iob_machine *m, double tile[4],
                                       double *floats, iob_error *err);

/* The relaxed traffic (floats) of a real tile {tile_k, tile_p, tile_q, images} (formula in
 * model/optimize.c). */
double iob_direct_relax_floats(const iob_layer *L, const iob_machine *m, const double tile[4]);

/* The best config (under obj) among those of the space whose tile sides bracket the relaxed
 * optimum (the nearest values below and above on each side). IOB_EINFEASIBLE if none fits. */
iob_status iob_direct_relaxed(const iob_layer *L, const iob_machine *m, iob_objective obj,
                              iob_config *seed, iob_error *err);

/* The direct dataflow's operations (model/direct.c). */
struct iob_dataflow_ops;
extern const struct iob_dataflow_ops iob_direct_dataflow;

#endif
