/* host_band.c - the launch plans of the transform-then-direct dataflows, im2col + GEMM and im2win
 * (docs/model.md): the direct kernel's plan of the derived layer (gpu/host_direct.c, unchanged)
 * with its input moved to WORK2, after the transform's launch (gpu/kernels/im2col.cu or
 * im2win.cu) that fills WORK2. Pure C: built and tested without CUDA. */
#include <stdio.h>
#include <string.h>

#include "gpu/host_band.h"

extern const iob_plan_builder iob_direct_plan_builder; /* gpu/host_direct.c */

/* The transform's launch: the layer's macros (not the config's: one compile per layer) and the
 * band geometry. */
static iob_status transform_launch(const iob_band_algo *a, const iob_layer *L,
                                   const iob_band_geom *g, iob_launch *l, iob_error *err)
{
    int im2col = a->kind == BM_IM2COL;
    iob_status st = iob_launch_init(l, im2col ? "im2col.cu" : "im2win.cu",
                                    im2col ? "im2col_band" : "im2win_window", g->blocks, 1, 1,
                                    BM_THREADS, 4 * g->smem_floats, err);
    if (st || (st = iob_plan_defines(L, NULL, l->defines, sizeof l->defines, err)))
        return st;
    const struct {
        const char *name;
        long long v;
    } bm[] = {
        {"BM_KIND", a->kind},           {"BM_BAND", g->map.band},
        {"BM_WP", g->map.wp},           {"BM_RUN_SLOTS", g->map.run_slots},
        {"BM_SMEM_FLOATS", g->smem_floats},
    };
    for (size_t i = 0; !st && i < sizeof bm / sizeof bm[0]; i++)
        st = iob_launch_define(l, bm[i].name, bm[i].v, err);
    iob_launch_arg_buf(l, IOB_BUF_INPUT);
    iob_launch_arg_buf(l, IOB_BUF_WORK2);
    return st;
}

iob_status iob_band_plan_build(const iob_band_algo *a, const iob_layer *L, const iob_config *cfg,
                               const iob_machine *m, iob_plan *plan, iob_error *err)
{
    iob_band_setup s;
    iob_status st = iob_band_setup_get(a, L, cfg, m, &s, err);
    if (st || (st = iob_direct_plan_builder.build(&s.derived, &s.dcfg, m, &s.dres, plan, err)))
        return st;
    if (plan->nlaunch + 1 > IOB_PLAN_LAUNCH_MAX)
        return iob_error_set(err, IOB_ERANGE, "%d launches: more than a plan holds",
                             plan->nlaunch + 1);
    /* the direct kernel reads the workspace where it read the input */
    for (int i = 0; i < plan->nlaunch; i++)
        for (int j = 0; j < plan->launch[i].nargs; j++)
            if (plan->launch[i].args[j].kind == IOB_ARG_BUF &&
                plan->launch[i].args[j].buf == IOB_BUF_INPUT)
                plan->launch[i].args[j].buf = IOB_BUF_WORK2;
    memmove(&plan->launch[1], &plan->launch[0], (size_t)plan->nlaunch * sizeof plan->launch[0]);
    plan->nlaunch++;
    if ((st = transform_launch(a, L, &s.g, &plan->launch[0], err)))
        return st;
    plan->work_bytes[2] = 4 * ((s.g.ws_floats + 7) / 8 * 8);
    if (a->kind == BM_IM2WIN) {
        /* the filter reorder [k][c][s][r] fused with the direct kernel's: same grid, the
         * derived layer's macros, and the layer's R and S */
        iob_launch *pre = &plan->prep[0];
        snprintf(pre->file, sizeof pre->file, "im2win.cu");
        snprintf(pre->entry, sizeof pre->entry, "im2win_filter");
        if ((st = iob_launch_define(pre, "IM2WIN_R", L->r, err)) ||
            (st = iob_launch_define(pre, "IM2WIN_S", L->s, err)))
            return st;
    }
    return IOB_OK;
}
