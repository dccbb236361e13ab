/* host_winograd.c - the launch plan of a fused Winograd config (docs/model.md, "Winograd"):
 *
 *   prep    iob_winograd_filter  U = G g G^T (FP64, rounded to FP32) into WORK0, pre-tiled as
 *                                [G][kb][nch][alpha^2][tile_c][tile_k] with zero padding
 *   launch  iob_winograd_fused   input, WORK0 -> output (split_c = 1) or partials in WORK1
 *           iob_winograd_sum     WORK1 -> output (split_c > 1 only)
 *
 * Every launch compiles gpu/kernels/winograd.cu with the same macros: the layer and config
 * (iob_plan_defines), the epilogue geometry and checks from iob_wino_geom_make (WINO_KS, WINO_KR,
 * WINO_BR, WINO_YS, WINO_THREADS, WINO_SMEM_FLOATS, WINO_MIN_BLOCKS = the model's blocks per SM,
 * given to __launch_bounds__), and the transform matrices of iob_winograd_make(m, 3), one macro
 * per entry, row-major: WBT<i> = B^T, WAT<i> = A^T (exact in FP32 for m <= 4, printed with %.9g)
 * and WG<i> = G (printed with %.17g, read as double). One entry per macro because nvcc splits a
 * -D value at commas. Pure C, no CUDA header.
 */
#include <stdio.h>
#include <string.h>

#include "gpu/host_plan_algo.h"
#include "model/winograd_dataflow.h"

/* Allowed error in the metric |y - ref| / sum |x w| (docs/model.md, "Winograd: numerical
 * error"). bench/bench_winograd_error.c (the kernel's arithmetic, bit-exact, on the CPU) measured
 * at most 1.1e-7 for F(2x2) and 1.8e-6 for F(4x4) over C/G = 16..1024, inputs in (-1, 1) and
 * (0, 1), split 1 and 4 (FP32 direct: 2.7e-7). F(2x2) gets the project's FP32 tolerance; F(4x4)
 * about ten times its largest measurement. */
#define WINO_TOL_F2 1e-4
#define WINO_TOL_F4 2e-5

static iob_status define_str(iob_launch *l, const char *name, const char *value, iob_error *err)
{
    size_t used = strlen(l->defines);
    int n = snprintf(l->defines + used, sizeof l->defines - used, "%s-D%s=%s", used ? " " : "",
                     name, value);
    if (n < 0 || (size_t)n >= sizeof l->defines - used) {
        l->defines[used] = '\0';
        return iob_error_set(err, IOB_ERANGE, "kernel macros of %s do not fit", l->entry);
    }
    return IOB_OK;
}

/* Appends prefix<i> = mat[r][c] for the rows x cols matrix, row-major. */
static iob_status define_matrix(iob_launch *l, const char *prefix,
                                const double (*mat)[IOB_WINO_ALPHA_MAX], int rows, int cols,
                                const char *fmt, iob_error *err)
{
    for (int r = 0; r < rows; r++)
        for (int c = 0; c < cols; c++) {
            char name[16], value[40];
            snprintf(name, sizeof name, "%s%d", prefix, r * cols + c);
            snprintf(value, sizeof value, fmt, mat[r][c]);
            iob_status st = define_str(l, name, value, err);
            if (st)
                return st;
        }
    return IOB_OK;
}

static iob_status common_defines(const iob_layer *L, const iob_config *c, const iob_wino_geom *g,
                                 const iob_resources *res, iob_launch *l, iob_error *err)
{
    iob_winograd w;
    iob_status st = iob_winograd_make(g->m, 3, &w, err);
    if (st || (st = iob_plan_defines(L, c, l->defines, sizeof l->defines, err)))
        return st;
    const struct { const char *name; long long v; } geo[] = {
        {"WINO_KS", g->ks}, {"WINO_KR", g->kr}, {"WINO_BR", g->br}, {"WINO_YS", g->ys},
        {"WINO_THREADS", g->threads}, {"WINO_SMEM_FLOATS", g->smem_floats},
        {"WINO_MIN_BLOCKS", res->blocks_per_sm},
    };
    for (size_t i = 0; i < sizeof geo / sizeof geo[0]; i++)
        if ((st = iob_launch_define(l, geo[i].name, geo[i].v, err)))
            return st;
    if ((st = define_matrix(l, "WBT", w.BT, g->alpha, g->alpha, "%.9g", err)) ||
        (st = define_matrix(l, "WAT", w.AT, g->m, g->alpha, "%.9g", err)) ||
        (st = define_matrix(l, "WG", w.G, g->alpha, 3, "%.17g", err)))
        return st;
    return IOB_OK;
}

static iob_status launch_init(iob_launch *l, const char *entry, const char *defines,
                              uint64_t grid_x, uint32_t grid_y, uint32_t grid_z, int threads,
                              int64_t smem, iob_error *err)
{
    if (grid_x > 2147483647ull)
        return iob_error_set(err, IOB_EINFEASIBLE, "%s: %llu blocks exceed the grid limit", entry,
                             (unsigned long long)grid_x);
    memset(l, 0, sizeof *l);
    snprintf(l->file, sizeof l->file, "winograd.cu");
    snprintf(l->entry, sizeof l->entry, "%s", entry);
    snprintf(l->defines, sizeof l->defines, "%s", defines);
    l->grid[0] = (uint32_t)grid_x;
    l->grid[1] = grid_y;
    l->grid[2] = grid_z;
    l->block[0] = (uint32_t)threads;
    l->block[1] = l->block[2] = 1;
    l->smem_bytes = smem;
    return IOB_OK;
}

static void add_buf(iob_launch *l, iob_buf b)
{
    l->args[l->nargs++] = (iob_kernel_arg){.kind = IOB_ARG_BUF, .buf = b};
}

static iob_status build(const iob_layer *L, const iob_config *c, const iob_machine *m,
                        const iob_resources *res, iob_plan *plan, iob_error *err)
{
    (void)m;
    iob_wino_geom g;
    iob_status st = iob_wino_geom_make(L, c, &g, err);
    if (st)
        return st;
    iob_launch tmp;
    memset(&tmp, 0, sizeof tmp);
    snprintf(tmp.entry, sizeof tmp.entry, "iob_winograd_fused");
    if ((st = common_defines(L, c, &g, res, &tmp, err)))
        return st;
    const char *defs = tmp.defines;

    plan->work_bytes[0] = 4 * g.u_elems;
    plan->work_bytes[1] = 4 * g.part_elems;
    uint64_t u_threads = (uint64_t)g.u_elems / (uint64_t)g.a2;
    plan->nprep = 1;
    if ((st = launch_init(&plan->prep[0], "iob_winograd_filter", defs,
                          (u_threads + IOB_WINO_AUX_THREADS - 1) / IOB_WINO_AUX_THREADS, 1, 1,
                          IOB_WINO_AUX_THREADS, 0, err)))
        return st;
    add_buf(&plan->prep[0], IOB_BUF_FILTER);
    add_buf(&plan->prep[0], IOB_BUF_WORK0);

    plan->nlaunch = 1;
    iob_launch *f = &plan->launch[0];
    if ((st = launch_init(f, "iob_winograd_fused", defs, g.grid[0], g.grid[1], g.grid[2],
                          g.threads, g.smem_bytes, err)))
        return st;
    add_buf(f, IOB_BUF_INPUT);
    add_buf(f, IOB_BUF_WORK0);
    add_buf(f, c->split_c > 1 ? IOB_BUF_WORK1 : IOB_BUF_OUTPUT);
    if (c->split_c > 1) {
        plan->nlaunch = 2;
        iob_launch *s = &plan->launch[1];
        if ((st = launch_init(s, "iob_winograd_sum", defs, (uint64_t)g.sum_blocks, 1, 1,
                              IOB_WINO_AUX_THREADS, 0, err)))
            return st;
        add_buf(s, IOB_BUF_WORK1);
        add_buf(s, IOB_BUF_OUTPUT);
    }
    plan->tolerance = g.m == 2 ? WINO_TOL_F2 : WINO_TOL_F4;
    return IOB_OK;
}

const iob_plan_builder iob_plan_winograd = {IOB_ALGO_WINOGRAD, build};
