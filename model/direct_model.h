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
    int copy_threads;         /* threads rounded down to a multiple of in_slots (even), or to
                                 even when there are fewer threads than slots */
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

/* The time model (model/direct_time.c, docs/model.md "Time model"): what a config does per SM,
 * and the machine's constants. */
typedef struct iob_direct_time_features {
    double per_sm_blocks;     /* blocks the busiest SM runs: ceil(grid / SMs) */
    double resident;          /* blocks of an SM at once: min(blocks per SM, per_sm_blocks) */
    double warps;             /* per block */
    double chunks;            /* pipeline stages a block walks */
    double stages;            /* pipeline buffers */
    double stage_l2_bytes;    /* SM<->L2 bytes one stage of one block reads */
    double instr_stage;       /* instructions a thread issues per stage */
    double instr_block;       /* instructions a thread issues once per block (prologue, stores) */
    double wavefronts_stage;  /* shared-memory wavefronts of a block's stage (loads + copies) */
    double wavefronts_block;  /* ... once per block (the staged output) */
    double l2_bytes;          /* SM<->L2 bytes of the main kernel in whole-sector requests */
    double l2_partial_bytes;  /* ... in sector writes of 4 bytes (v1's stores: every sector
                                 written in 8 requests; each costs a sector) */
    double dram_bytes;        /* L2<->DRAM bytes of the main kernel */
    double reduce_l2_bytes;   /* of the split reduction (0 without a split) */
    double reduce_dram_bytes;
    double kernels;           /* launches per run */
} iob_direct_time_features;

typedef struct iob_direct_time_consts {
    double ipc;     /* warp instructions an SM issues per cycle (at most 4) */
    double ipc_warp; /* ... one warp issues per cycle (at most 1): few resident warps issue less */
    double latency; /* cycles from a stage's copies to their data in shared memory */
    double l2_bw;   /* SM<->L2 bytes per second in whole-sector requests */
    double l2_partial_bw; /* ... in partial-sector writes (32 bytes per request) */
    double launch;  /* seconds per kernel launch */
} iob_direct_time_consts;

typedef struct iob_direct_time_parts {
    double time_s, issue_s, l2_s, dram_s, reduce_s;
    double latency_share; /* share of a stage's period spent waiting for copies */
} iob_direct_time_parts;

/* The features of a feasible config of the current kernel (traffic fields left 0: the caller
 * fills them from the prediction). */
void iob_direct_time_features_get(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                                  const iob_resources *res, const iob_direct_geom *g,
                                  iob_direct_time_features *f);

/* The H100's constants (fitted: docs/model.md). */
extern const iob_direct_time_consts iob_direct_time_h100;

/* The predicted time in seconds of a config with features f on machine m (parts may be NULL).
 * Pure arithmetic. */
double iob_direct_time_eval(const iob_direct_time_features *f, const iob_direct_time_consts *k,
                            const iob_machine *m, iob_direct_time_parts *parts);

/* The direct dataflow's operations (model/direct.c). */
struct iob_dataflow_ops;
extern const struct iob_dataflow_ops iob_direct_dataflow;

/* Sectors the direct kernel's copies of a feasible cfg fetch twice on the H100 (model/fetch.c):
 * full sectors whose halves land in two 32-byte units of shared memory. Walks the copy plan row
 * by row, for one config at a time. */
int64_t iob_direct_split_sectors(const iob_layer *L, const iob_config *cfg);

#endif
