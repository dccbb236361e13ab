/* host_im2win.c - the launch plan of im2win (gpu/host_band.c builds it: the transform, then the direct
 * kernel on the derived layer). Pure C. */
#include "gpu/host_band.h"

static iob_status build(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                        const iob_resources *res, iob_plan *plan, iob_error *err)
{
    (void)res;
    return iob_band_plan_build(&iob_band_im2win, L, cfg, m, plan, err);
}

const iob_plan_builder iob_plan_im2win = {IOB_ALGO_IM2WIN, build};
