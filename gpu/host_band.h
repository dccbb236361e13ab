/* host_band.h - the launch plans of im2col + GEMM and im2win (internal to gpu/;
 * gpu/host_band.c). */
#ifndef IOB_GPU_HOST_BAND_H
#define IOB_GPU_HOST_BAND_H

#include "gpu/host_plan_algo.h"
#include "model/band_model.h"

/* The plan of a config of algorithm a (docs/model.md, "im2col + GEMM", "im2win"):
 *   prep    im2col: direct_filter_crsk of the derived layer (FILTER -> WORK1);
 *           im2win: im2win_filter (FILTER -> WORK1, the direct kernel's layout of the derived
 *           filter, in one pass)
 *   launch  the transform (INPUT -> WORK2), then the direct kernel's launches on the derived
 *           layer (WORK2, WORK1 -> OUTPUT, through WORK0 with split_c > 1)
 * Fails like the check, or IOB_ERANGE when the macros do not fit. */
iob_status iob_band_plan_build(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                               const iob_machine *m, iob_plan *plan, iob_error *err);

#endif
