/* host_direct.c - the launch plan of the direct kernel (gpu/kernels/direct.cu): a prep launch that
 * reorders the filter to [G][tiles_k][chunks*tile_c][R][S][round4(tile_k)] (WORK1), the main launch (grid, threads, dynamic
 * shared memory from the model's geometry), and for split_c > 1 the reduction of the partial
 * planes (WORK0) into the output. Pure C: built and tested without CUDA. */
#include <stdio.h>
#include <string.h>

#include "gpu/host_plan_algo.h"
#include "model/direct_model.h"

static iob_status add_defines(iob_launch *l, const iob_layer *L, const iob_config *cfg,
                              const iob_direct_geom *g, const iob_resources *res, iob_error *err)
{
    iob_status st = iob_plan_defines(L, cfg, l->defines, sizeof l->defines, err);
    const struct {
        const char *name;
        long long v;
    } extra[] = {
        {"DIRECT_IN_SHIFT", g->in_shift},     {"DIRECT_IN_E8", g->in_e8},
        {"DIRECT_IN_PIECES", g->in_pieces},   {"DIRECT_IN_SLOTS", g->in_slots},
        {"DIRECT_IW_PITCH", g->iw_pitch},     {"DIRECT_LEFT_FIX", g->left_fix},
        {"DIRECT_TKP", g->tkp},               {"DIRECT_F_E8", g->f_e8},
        {"DIRECT_F_SLOTS", g->f_slots},       {"DIRECT_VEC_Q", g->vec_q},
        {"DIRECT_VEC_K", g->vec_k},           {"DIRECT_STAGE_FLOATS", g->stage_floats},
        {"DIRECT_Q_WINDOW", g->q_window},     {"DIRECT_C_UNROLL", g->c_unroll},
        {"DIRECT_OUT_RUN", g->out_run},       {"DIRECT_OUT_VEC", g->out_vec},
        {"DIRECT_OUT_PITCH", g->out_pitch},   {"DIRECT_OUT_SLOTS", g->out_slots},
        {"DIRECT_OUT_RUNS", g->out_runs},     {"DIRECT_SMEM_FLOATS", g->smem_floats},
        {"DIRECT_WS_PLANE", g->ws_plane},     {"DIRECT_MIN_BLOCKS", res->blocks_per_sm},
        {"DIRECT_COPY_THREADS", g->copy_threads},
        {"DIRECT_WS_FILTER", g->ws_filter_bytes / 4},
    };
    for (size_t i = 0; !st && i < sizeof extra / sizeof extra[0]; i++)
        st = iob_launch_define(l, extra[i].name, extra[i].v, err);
    return st;
}

static iob_status build(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                        const iob_resources *res, iob_plan *plan, iob_error *err)
{
    (void)m;
    iob_direct_geom g;
    iob_direct_geom_get(L, cfg, &g);
    iob_status st;
    const int64_t rt = IOB_DIRECT_REDUCE_THREADS;

    plan->nprep = 1;
    iob_launch *pre = &plan->prep[0];
    int64_t fe = g.ws_filter_bytes / 4;
    if ((st = iob_launch_init(pre, "direct.cu", "direct_filter_crsk", (fe + rt - 1) / rt, 1, 1,
                              (int)rt, 0, err)))
        return st;
    iob_launch_arg_buf(pre, IOB_BUF_FILTER);
    iob_launch_arg_buf(pre, IOB_BUF_WORK1);
    if ((st = add_defines(pre, L, cfg, &g, res, err)))
        return st;

    plan->nlaunch = 1;
    iob_launch *main = &plan->launch[0];
    if ((st = iob_launch_init(main, "direct.cu", "direct_conv", g.grid[0], g.grid[1], g.grid[2],
                              res->threads, res->smem_bytes, err)))
        return st;
    iob_launch_arg_buf(main, IOB_BUF_INPUT);
    iob_launch_arg_buf(main, IOB_BUF_WORK1);
    iob_launch_arg_buf(main, cfg->split_c > 1 ? IOB_BUF_WORK0 : IOB_BUF_OUTPUT);
    if ((st = add_defines(main, L, cfg, &g, res, err)))
        return st;
    if (cfg->split_c > 1) {
        plan->nlaunch = 2;
        iob_launch *red = &plan->launch[1];
        if ((st = iob_launch_init(red, "direct.cu", "direct_split_reduce",
                                  (g.elems_out + rt - 1) / rt, 1, 1, (int)rt, 0, err)))
            return st;
        iob_launch_arg_buf(red, IOB_BUF_WORK0);
        iob_launch_arg_buf(red, IOB_BUF_OUTPUT);
        if ((st = add_defines(red, L, cfg, &g, res, err)))
            return st;
    }
    plan->work_bytes[0] = g.ws_partial_bytes;
    plan->work_bytes[1] = g.ws_filter_bytes;
    /* FP32 sums of C/G*R*S products: the tolerance against the FP64 reference */
    plan->tolerance = 1e-4;
    return IOB_OK;
}

const iob_plan_builder iob_direct_plan_builder = {IOB_ALGO_DIRECT, build};
