/* wino_nonfused.h - the geometry of the non-fused Winograd dataflow for a (layer, config)
 * (internal to model/ and gpu/): tiles, the three stored tensors, the transform launches. The
 * closed form (model/wino_nonfused.c) and the plan (gpu/host_wino_nonfused.c) both start here;
 * gpu/kernels/wino_nonfused.cu re-derives the tile counts from the layer macros.
 */
#ifndef IOB_MODEL_WINO_NONFUSED_H
#define IOB_MODEL_WINO_NONFUSED_H

#include <stdint.h>

#include "iobound/dataflow.h"

/* Threads per block of the three transform kernels (one thread per item). */
#define IOB_WNF_THREADS 256

typedef struct iob_wnf_geom {
    int m, alpha, a2;      /* F(m x m, 3 x 3) */
    int64_t tp, tq, t;     /* tiles along P and Q of one image; T = N * tp * tq (GEMM's n) */
    int64_t u_elems;       /* U [a2][K][C] */
    int64_t v_elems;       /* V [a2][C][T] */
    int64_t m_elems;       /* M [a2][K][T] */
    int64_t filter_items, input_items, output_items; /* K*C, C*T, K*T: one thread each */
} iob_wnf_geom;

/* Fills g, checking the layer (3x3, stride 1, no dilation, one group) and the config (algo
 * winograd-nonfused, wino_m 2 or 4, every tile field 0, stages = split_c = 1): IOB_EINVAL for a
 * config of another shape, IOB_EINFEASIBLE with the reason for a layer the kernels do not take
 * or counts past cuBLAS's int range. */
iob_status iob_wnf_geom_make(const iob_layer *L, const iob_config *cfg, iob_wnf_geom *g,
                             iob_error *err);

#endif
