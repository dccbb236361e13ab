/* sched.h - schedule generators: explicit operation sequences (sim/replay.h) of convolution
 * algorithms under chosen loop orders and tilings, for checking the lower bounds of model/ against
 * counted traffic (internal to sim/ and tests/).
 *
 * Each generator appends to an empty iob_opseq: it reserves the element ids of its tensors,
 * marks the outputs final and pushes one operation per multiply-add (or per copy, or per zero
 * written), in the order the loop nest visits them. What counts as a multiply-add follows the
 * bound it is checked against (model/direct.c: useful taps only; model/gemm.c and im2col: every
 * product; model/winograd.c: the EWMM products its header comment names).
 *
 * Files: sched_nest.c (the loop-nest walker), sched_direct.c, sched_gemm.c, sched_im2col.c,
 * sched_winograd.c.
 */
#ifndef IOB_SIM_SCHED_H
#define IOB_SIM_SCHED_H

#include <stdint.h>

#include "iobound/layer.h"
#include "iobound/status.h"
#include "sim/replay.h"

/* ---- loop nests (sched_nest.c) ------------------------------------------------------------ */

#define IOB_NEST_MAX 8

/* A perfectly nested loop over ndims dimensions: tile loops outside (over the dims named in
 * tile_order, outermost first, stepping by tile[d]), point loops inside the current tile (all
 * dims, in point_order, outermost first). tile[d] <= 0 or >= extent[d]: one tile. */
typedef struct iob_nest {
    int ndims;
    int64_t extent[IOB_NEST_MAX];
    int64_t tile[IOB_NEST_MAX];
    int ntile;
    int tile_order[IOB_NEST_MAX];
    int point_order[IOB_NEST_MAX];
} iob_nest;

/* Called once per point; a nonzero status stops the walk and is returned. */
typedef iob_status (*iob_nest_fn)(void *ctx, const int64_t *idx, iob_error *err);

/* Visits every point of the nest once. Returns the first failing callback's status. */
iob_status iob_nest_run(const iob_nest *nest, iob_nest_fn fn, void *ctx, iob_error *err);

/* Maps an order string over the dimension letters `letters` (e.g. "kcpq" over "nkcpqrs") to
 * dimension indices. IOB_EINVAL when a letter is unknown or repeated; `full` = 1 also requires
 * every letter to appear. Returns the count in *n. */
iob_status iob_nest_order(const char *order, const char *letters, int full, int *dims, int *n,
                          iob_error *err);

/* ---- direct convolution (sched_direct.c) -------------------------------------------------- */

typedef struct iob_sched_direct {
    char order[8];      /* point loops, a permutation of "nkcpqrs" (c: channel within a group) */
    char tile_order[5]; /* tile loops, some of "kcpq", outermost first ("" = no tile loops) */
    int64_t tile_k, tile_c, tile_p, tile_q; /* tile sizes (<= 0: whole extent) */
} iob_sched_direct;

/* out[n][k][p][q] += w[k][c][r][s] * in[n][g*C/G + c][p*stride_h + r*dil_h - pad_top][...]
 * for every tap on a real input; outputs that no tap reaches get one zeroing operation at the
 * end. Ids: weights, then inputs (N*C*H*W), then outputs. IOB_EINVAL for a bad order string. */
iob_status iob_sched_direct_build(const iob_layer *L, const iob_sched_direct *cfg,
                                  iob_opseq *seq, iob_error *err);

/* ---- GEMM (sched_gemm.c) ------------------------------------------------------------------ */

typedef struct iob_sched_gemm {
    char order[4];      /* point loops, a permutation of "mnk" */
    char tile_order[4]; /* tile loops, some of "mnk" */
    int64_t tile_m, tile_n, tile_k;
} iob_sched_gemm;

/* Separable element ids of C (m x n) += A (m x k) B (k x n):
 * A(i,l) = a_row[i] + a_col[l], B(l,j) = b_row[l] + b_col[j], C(i,j) = c_row[i] + c_col[j]. */
typedef struct iob_gemm_ids {
    const int32_t *a_row, *a_col, *b_row, *b_col, *c_row, *c_col;
} iob_gemm_ids;

/* Appends the m*n*k products of one GEMM in the schedule's order (ids already reserved). */
iob_status iob_sched_gemm_append(int64_t m, int64_t n, int64_t k, const iob_gemm_ids *ids,
                                 const iob_sched_gemm *cfg, iob_opseq *seq, iob_error *err);

/* A whole GEMM with row-major A, B, C as its own tensors (ids A, then B, then C; C final). */
iob_status iob_sched_gemm_build(int64_t m, int64_t n, int64_t k, const iob_sched_gemm *cfg,
                                iob_opseq *seq, iob_error *err);

/* ---- im2col + GEMM (sched_im2col.c) ------------------------------------------------------- */

typedef struct iob_sched_im2col {
    char gather_order[7]; /* gather loops, a permutation of "ncpqrs" (c: input channel) */
    iob_sched_gemm gemm;  /* the GEMM's schedule, per group */
} iob_sched_im2col;

/* Phase 0, gather: col[g][(c,r,s)][(n,p,q)] = in[...] or 0 on padding; col final.
 * Phase 1, GEMM: out[n][g*K/G + i][p][q] += w[g*K/G + i][(c,r,s)] * col[g][(c,r,s)][(n,p,q)]
 * for every entry (padding zeros included), groups one after another; outputs final.
 * The phases share no fast memory: each is its own sequence. IOB_EINVAL for a bad phase. */
iob_status iob_sched_im2col_build(const iob_layer *L, const iob_sched_im2col *cfg, int phase,
                                  iob_opseq *seq, iob_error *err);

/* ---- Winograd F(m x m, r x r) (sched_winograd.c) ------------------------------------------ */

typedef struct iob_sched_winograd {
    int m;             /* output tile 2, 4 or 6; r = the layer's 3 or 5 (stride 1, dilation 1) */
    /* fused */
    int k_outer;       /* 0: per tile block, for each channel c: V(c), then M += U V for all k;
                          1: per tile block, V for all c first, then per k block, all c */
    int64_t tile_block;  /* tiles per block (flattened over n, tile row, tile column) */
    int64_t k_block;     /* output channels per block (k_outer = 1) */
    /* stored: the EWMM's GEMM schedule, per (group, frequency) */
    iob_sched_gemm gemm;
} iob_sched_winograd;

/* Fused: U (transformed filters, an input), d (input) -> V (in fast memory) -> M (accumulated
 * over channels) -> Y (outputs, final). Operations, as model/winograd.c counts them: the input
 * transform's products of nonzero B^T coefficients with real inputs; the EWMM products whose V
 * depends on a real input (others are identically 0 and skipped, as is their M); the output
 * transform's products of nonzero A^T coefficients with those M. */
iob_status iob_sched_winograd_fused(const iob_layer *L, const iob_sched_winograd *cfg,
                                    iob_opseq *seq, iob_error *err);

/* Stored, one phase per call (the phases share no fast memory; each tensor is written to slow
 * memory and read back): 0 filter transform g -> U, 1 input transform d -> V (every V written,
 * zeros included), 2 EWMM M = U V over every product (alpha^2 * G GEMMs), 3 output transform
 * M -> Y. IOB_EINVAL for a bad phase. */
iob_status iob_sched_winograd_stored(const iob_layer *L, const iob_sched_winograd *cfg,
                                     int phase, iob_opseq *seq, iob_error *err);

/* Whether F(m x m, r x r) schedules apply to L: square 3x3 or 5x5 filter, stride 1, dilation 1,
 * m in {2, 4, 6} (model/winograd.c's conditions). */
int iob_sched_winograd_applies(const iob_layer *L, int m);

#endif
