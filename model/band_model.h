/* band_model.h - the dataflows "a transform kernel + the direct kernel on a derived layer" that
 * im2col + GEMM and im2win are (internal to model/, sim/ and gpu/; docs/model.md, "im2col + GEMM"
 * and "im2win"). The transform (gpu/kernels/band_copy.cuh, map in band_map.cuh) writes a
 * workspace; the direct kernel, its closed form and its trace then run unchanged on the derived
 * layer whose input is that workspace. model/band.c holds what the two share: the transform's
 * geometry and its closed-form counts, and check / predict / candidates of the composite;
 * model/im2col.c and model/im2win.c give the derived layers.
 */
#ifndef IOB_MODEL_BAND_MODEL_H
#define IOB_MODEL_BAND_MODEL_H

#include <stdint.h>

#include "gpu/kernels/band_map.cuh"
#include "model/direct_model.h"

/* One composite algorithm. */
typedef struct iob_band_algo {
    iob_algo algo;
    int kind; /* BM_IM2COL or BM_IM2WIN */
    /* The derived layer D of L (its input is the workspace): IOB_EINFEASIBLE with the reason when
     * the transform cannot express L, IOB_ERANGE when a derived size passes the limits. */
    iob_status (*derive)(const iob_layer *L, iob_layer *D, iob_error *err);
    /* Optional: 0 drops a candidate of the derived layer D from the space (check still accepts
     * it), where the direct kernel's register model does not hold on D's shapes. */
    int (*keep)(const iob_layer *D, const iob_config *dcfg);
} iob_band_algo;

extern const iob_band_algo iob_band_im2col; /* model/im2col.c */
extern const iob_band_algo iob_band_im2win; /* model/im2win.c */

/* The transform's launch geometry (fixed by the layer and the machine, not by the config). */
typedef struct iob_band_geom {
    bm_geom map;         /* what the kernel's macros give (band_map.cuh) */
    int64_t blocks;      /* N*C*bands */
    int rows_max;        /* input rows of the largest band */
    int64_t smem_floats; /* dynamic shared memory of a block (floats) */
    int64_t ws_floats;   /* the workspace (col or win) */
} iob_band_geom;

/* The transform's geometry of kind `kind` for L on m: bands of `band` output rows, the most
 * whose input rows fit 48 KiB of shared memory, fewer when N*C*bands would leave SMs idle (at
 * least 2 blocks per SM), at least 1 (docs/model.md). IOB_EINFEASIBLE when one output row's
 * input band exceeds the shared memory of a block, IOB_ERANGE when a size overflows. */
iob_status iob_band_geom_get(const iob_layer *L, int kind, const iob_machine *m, iob_band_geom *g,
                             iob_error *err);

/* The transform's exact counts (closed form, docs/model.md): SM<->L2 read and write sectors,
 * 16-byte copies issued, and shared-memory words read (one per workspace float that is not
 * padding). */
typedef struct iob_band_counts {
    int64_t read_sectors, write_sectors, pieces, lds_words;
} iob_band_counts;
void iob_band_count(const iob_layer *L, const iob_band_geom *g, iob_band_counts *c);

/* What the trace and the plan need of a config: the derived layer, the direct config (cfg with
 * algo = direct), the direct kernel's geometry and resources on it, and the transform. */
typedef struct iob_band_setup {
    iob_layer derived;
    iob_config dcfg;
    iob_direct_geom dg;
    iob_resources dres;
    iob_band_geom g;
} iob_band_setup;

/* Fills s for a config of algorithm a; fails like the check. */
iob_status iob_band_setup_get(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                              const iob_machine *m, iob_band_setup *s, iob_error *err);

/* The composite's dataflow operations (model/dataflow_algo.h), for the ops of im2col.c and
 * im2win.c. */
iob_status iob_band_check(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                          const iob_machine *m, iob_resources *res, iob_error *err);
iob_status iob_band_predict(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                            const iob_machine *m, const iob_resources *res, iob_traffic *t,
                            iob_error *err);
/* The split sectors (model/fetch.c) of the transform's copies and of the direct kernel on the
 * derived layer. */
iob_status iob_band_split_sectors(const iob_band_algo *a, const iob_layer *L,
                                  const iob_config *cfg, const iob_machine *m, int64_t *split,
                                  iob_error *err);
iob_status iob_band_candidates(const iob_band_algo *a, const iob_layer *L, const iob_machine *m,
                               iob_config **out, size_t *count, iob_error *err);

#endif
