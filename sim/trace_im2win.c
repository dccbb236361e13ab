/* trace_im2win.c - the trace generator of im2win (docs/model.md): the transform's blocks, then the direct
 * kernel's on the derived layer (sim/trace_band.c does both). */
#include "sim/trace_band.h"

static iob_status build(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                        const iob_resources *res, iob_trace *trace, iob_error *err)
{
    (void)res;
    return iob_band_trace_build(&iob_band_im2win, L, cfg, m, trace, err);
}

const iob_trace_builder iob_trace_im2win = {IOB_ALGO_IM2WIN, build};
