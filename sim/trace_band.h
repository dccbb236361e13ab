/* trace_band.h - the traces of the transform-then-direct dataflows, im2col + GEMM and im2win
 * (internal to sim/; sim/trace_band.c). */
#ifndef IOB_SIM_TRACE_BAND_H
#define IOB_SIM_TRACE_BAND_H

#include "model/band_model.h"
#include "sim/trace_algo.h"

/* Fills trace (layout set by iob_trace_build, whose work[2] this places after the direct
 * kernel's filter workspace: the transform's workspace) with the transform's launch, then the
 * direct kernel's launches on the derived layer with their input at work[2]. Fails like the
 * check, or IOB_ENOMEM. */
iob_status iob_band_trace_build(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                                const iob_machine *m, iob_trace *trace, iob_error *err);

#endif
