/* direct_model.h - the geometry of the direct kernel's dataflow (internal to model/ and gpu/):
 * tile counts, the shared-memory layout of one pipeline stage, and which copies and shared-memory
 * reads are vectorised. docs/model.md, section "Direct convolution", is the specification; the
 * closed form (model/direct.c), the plan builder (gpu/host_direct.c) and the kernel
 * (gpu/kernels/direct.cu, through the DIRECT_* macros the plan passes) all read it from here.
 */
#ifndef IOB_MODEL_DIRECT_MODEL_H
#define IOB_MODEL_DIRECT_MODEL_H

#include <stdint.h>

#include "iobound/dataflow.h"

typedef struct iob_direct_geom {
    int64_t cg, kg;           /* C/G, K/G */
    int64_t tiles_p, tiles_q; /* ceil(P/tile_p), ceil(Q/tile_q) */
    int64_t tiles_k;          /* ceil(K/G / tile_k) */
    int64_t chunks;           /* ceil(C/G / tile_c): pipeline stages of one group */
    int64_t chunks_per_split; /* ceil(chunks / split_c) */
    int64_t grid[3];          /* x: tiles_p*tiles_q, y: G*tiles_k, z: N*split_c */
    int64_t grid_blocks;
    int threads, tkt, tpt, tqt; /* threads and their split over k, p, q */
    int ih, iw;               /* input patch of a full tile: rows, columns */
    int vec_in;               /* 1: input copied in 16-byte pieces (W%4 == 0, tile_q*stride_w%4 == 0) */
    int in_off;               /* columns between the 16-byte-aligned start of a patch row and its
                                 first column ((-pad_left) mod 4 with vec_in, else 0) */
    int iw_copy;              /* columns the copy writes per patch row (iw, or round4(off+iw)) */
    int iw_pitch;             /* shared-memory row pitch of the patch (floats) */
    int vec_f;                /* 1: filter copied in 16-byte pieces (K/G%4 == 0, tile_k%4 == 0) */
    int vec_q;                /* 1: a thread's micro_q columns read with LDS.128 (1x1, stride 1) */
    int vec_k;                /* 1: a thread's micro_k filter values read with LDS.128 */
    int q_window;             /* 1: a thread's columns are consecutive (q = tq_idx*micro_q + j)
                                 rather than strided (q = tq_idx + j*tqt) */
    int64_t in_stage_floats;  /* tile_c * ih * iw_pitch */
    int64_t f_stage_floats;   /* tile_c * R * S * tile_k */
    int64_t f_off;            /* round4(in_stage_floats): where the filter slice starts */
    int64_t stage_floats;     /* round4(f_off + f_stage_floats): one pipeline buffer */
    int64_t smem_bytes;       /* stages * stage_floats * 4 */
    int wavefronts_in;        /* shared-memory wavefronts of one warp-wide patch read */
    int x_distinct;           /* distinct patch columns one thread reads per (c, r) */
    int c_unroll;             /* channels per unrolled step of the kernel's channel loop */
    int64_t elems_out;        /* N*K*P*Q */
    int64_t ws_plane;         /* floats of one split's partial plane: elems_out rounded to 32 */
    int64_t ws_partial_bytes; /* split_c > 1: split_c * ws_plane * 4, else 0 */
    int64_t ws_filter_bytes;  /* the filter reordered [G][C/G][R][S][K/G] */
} iob_direct_geom;

/* Fills g for a layer and a config whose tile and micro sizes are >= 1 (no resource checks).
 * Pure arithmetic, no failure. */
void iob_direct_geom_get(const iob_layer *L, const iob_config *cfg, iob_direct_geom *g);

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

/* The continuous relaxation (model/optimize.c): the real tile (tile_k, tile_p, tile_q) that
 * minimises the relaxed traffic under the register and shared-memory constraints, and that
 * traffic in floats (may be NULL). IOB_ENOMEM only. */
iob_status iob_direct_relax_continuous(const iob_layer *L, const iob_machine *m, double tile[3],
                                       double *floats, iob_error *err);

/* The relaxed traffic (floats) of a real tile {tile_k, tile_p, tile_q} (formula in
 * model/optimize.c). */
double iob_direct_relax_floats(const iob_layer *L, const iob_machine *m, const double tile[3]);

/* The best config (under obj) among those of the space whose tile sides bracket the relaxed
 * optimum (the nearest values below and above on each side). IOB_EINFEASIBLE if none fits. */
iob_status iob_direct_relaxed(const iob_layer *L, const iob_machine *m, iob_objective obj,
                              iob_config *seed, iob_error *err);

/* The direct dataflow's operations (model/direct.c). */
struct iob_dataflow_ops;
extern const struct iob_dataflow_ops iob_direct_dataflow;

#endif
