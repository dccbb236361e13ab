/* winograd_dataflow.h - the geometry of the fused Winograd kernel for a (layer, config): grid,
 * thread roles, shared-memory layout, workspace (internal to model/, sim/ and gpu/).
 *
 * One function derives every number that gpu/kernels/winograd.cu also derives from its macros
 * (docs/model.md, "Winograd"); the kernel asserts at compile time that its thread count and shared
 * memory agree with WINO_THREADS and WINO_SMEM_FLOATS, which the plan takes from here. The closed
 * form (model/winograd.c), the trace (sim/trace_winograd.c) and the plan (gpu/host_winograd.c)
 * all start from this struct; only the closed form turns it into counts by formula.
 */
#ifndef IOB_MODEL_WINOGRAD_DATAFLOW_H
#define IOB_MODEL_WINOGRAD_DATAFLOW_H

#include <stdint.h>

#include "iobound/dataflow.h"
#include "iobound/winograd.h"

/* Threads of the filter-transform (prep) and split-sum kernels. */
#define IOB_WINO_AUX_THREADS 256

typedef struct iob_wino_geom {
    int m, alpha, a2;        /* F(m x m, 3 x 3), alpha = m + 2, a2 = alpha^2 frequencies */
    int tp, tq, tt;          /* Winograd tiles per block: rows, columns, total */
    int ph, pw;              /* input patch: tile_p + 2 rows, tile_q + 2 columns */
    int ntk, ntt, nfg;       /* EWMM thread grid: along k, along tiles, frequency groups */
    int vk, vq;              /* floats per shared load of U and of V (1, 2 or 4) */
    int threads;             /* nfg * ntk * ntt */
    int64_t cg, kg;          /* input / output channels per group */
    int64_t nbp, nbq;        /* blocks along P and Q */
    int64_t kb;              /* k-blocks per group: ceil(kg / tile_k) */
    int64_t nch;             /* channel chunks per group: ceil(cg / tile_c) */
    int64_t jps;             /* chunks per split: ceil(nch / split_c) */
    uint32_t grid[3];        /* x = nbp*nbq (bq fastest), y = G*kb (kb fastest), z = N*split_c */
    int64_t blocks;
    /* shared memory (floats): stage s of the U slice at s*uf, of the patch at off_x + s*xf,
     * V at off_v; the epilogue overlays M at 0 (a2*tt rows of ks) and the Y staging at mf
     * (kr rows of ys) */
    int64_t uf, xf, vf, off_x, off_v, pipe;
    int ks, kr, br, ys;
    int64_t mf, epi, smem_floats, smem_bytes;
    /* workspaces: U pre-tiled [G][kb][nch][a2][tile_c][tile_k] (floats), and with split_c > 1
     * the partial outputs, split_c planes of e_pad floats (e_out rounded up to a sector) */
    int64_t u_elems, e_out, e_pad, part_elems;
    int64_t sum_blocks;      /* blocks of the split-sum kernel (0 when split_c = 1) */
    int regs;                /* estimated registers per thread (docs/model.md) */
} iob_wino_geom;

/* Fills g for a Winograd config on a layer, checking everything that does not depend on the
 * machine: the layer (3x3, stride 1, dilation 1), the config's fields and divisibility, the
 * split. Returns IOB_EINVAL for a config that is not a Winograd config (algo, a zero field) and
 * IOB_EINFEASIBLE with the reason for one the kernel cannot run. */
iob_status iob_wino_geom_make(const iob_layer *layer, const iob_config *cfg, iob_wino_geom *g,
                              iob_error *err);

/* Registers a thread may use when `blocks` blocks of `threads` threads share an SM: a block's
 * warps are spread over the SM's four sub-partitions, each with a quarter of the register file,
 * and ptxas allocates in units of 8 per thread (measured: 288 threads -> at most 168). */
int iob_wino_reg_cap(const iob_machine *m, int threads, int blocks);

/* FP32 operations of one transform application (FSUB counts as an FADD). */
typedef struct iob_wino_ops {
    int fmul, fadd;
} iob_wino_ops;

/* y[r * ys] = sum_i M[r * n + i] x[i] for r < rows, in FP32, by the kernel's paired term rule
 * (docs/model.md, "Winograd: arithmetic"; gpu/kernels/winograd.cu, wino_apply_bt/at): the same
 * operations in the same order, so the same bits. n <= IOB_WINO_ALPHA_MAX. Adds the operations
 * it performs to *ops (may be NULL). */
/* The paired term rule's two tests (docs/model.md, "Winograd: arithmetic"), shared by the
 * FP32 reference above and the host-side rule macros (gpu/host_winograd.c): 1 when column c+1 of
 * M (rows x n) is (-1)^r times column c, column c not zero; 1 when row r+1 is (-1)^i times row
 * r and row r has nonzero even and odd entries. */
int iob_wino_col_pair(const float *M, int rows, int n, int c);
int iob_wino_row_pair(const float *M, int n, int r);

void iob_wino_apply_f32(const float *M, int rows, int n, const float *x, float *y, int ys,
                        iob_wino_ops *ops);

/* The operations of one application of the rows x n matrix mat (A^T: m x alpha, B^T: alpha x
 * alpha). */
iob_wino_ops iob_wino_apply_ops(const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int n);

#endif
