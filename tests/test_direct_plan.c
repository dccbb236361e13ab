/* test_direct_plan.c - launch plans of the direct kernel for a spread of configs: grids, threads,
 * shared memory, arguments and workspaces against the resource model, and (with CUDA) every
 * plan's kernel compiled by NVRTC for sm_90 (no GPU needed): the kernel's static_asserts check
 * that its layout macros agree with the model. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "gpu/host_kernels.h"
#include "iobound/plan.h"
#include "model/direct_model.h"

#ifdef IOB_WITH_CUDA
#include <nvrtc.h>
#endif

static const struct {
    const char *layer, *config;
} cases[] = {
    {"n=32,c=256,h=56,k=256,r=3,pad=1",
     "algo=direct,tile_k=64,tile_p=8,tile_q=16,tile_c=8,micro_k=8,micro_p=2,micro_q=4,stages=2"},
    {"n=32,c=64,h=56,k=256,r=1",
     "algo=direct,tile_k=128,tile_p=4,tile_q=32,tile_c=16,micro_k=8,micro_p=1,micro_q=8,stages=3"},
    {"n=1,c=256,h=56,k=64,r=1",
     "algo=direct,tile_k=64,tile_p=2,tile_q=32,tile_c=32,micro_k=4,micro_p=1,micro_q=4,stages=2,"
     "split_c=4"},
    {"n=1,c=512,h=7,k=512,r=3,pad=1",
     "algo=direct,tile_k=64,tile_p=7,tile_q=7,tile_c=8,micro_k=4,micro_p=1,micro_q=7,stages=2,"
     "split_c=16"},
    {"n=1,c=3,h=224,k=64,r=7,stride=2,pad=3",
     "algo=direct,tile_k=32,tile_p=4,tile_q=16,tile_c=2,micro_k=4,micro_p=2,micro_q=4,stages=2"},
    {"n=32,c=3,h=224,k=64,r=7,stride=2,pad=3", /* one channel is 7 x 64 FFMAs per step */
     "algo=direct,tile_k=64,tile_p=16,tile_q=8,tile_c=1,micro_k=8,micro_p=1,micro_q=8,stages=1"},
    {"n=1,c=5,h=9,w=9,k=6,r=3,pad=1",
     "algo=direct,tile_k=6,tile_p=3,tile_q=9,tile_c=2,micro_k=1,micro_p=1,micro_q=1,stages=2"},
    {"n=2,c=8,h=6,w=10,k=8,r=3,groups=2,pad=1,dil_w=2",
     "algo=direct,tile_k=8,tile_p=2,tile_q=8,tile_c=2,micro_k=2,micro_p=1,micro_q=2,stages=3,"
     "split_c=2"},
    {"n=3,c=7,h=5,w=4,k=9,r=2,s=3,dil_w=2,pad=2",
     "algo=direct,tile_k=9,tile_p=4,tile_q=4,tile_c=4,micro_k=1,micro_p=2,micro_q=2,stages=1"},
    {"n=1,c=4,h=8,w=8,k=12,r=1,stride=2",
     "algo=direct,tile_k=12,tile_p=4,tile_q=4,tile_c=4,micro_k=4,micro_p=1,micro_q=4,stages=4"},
    {"n=32,c=512,h=14,k=512,r=3,pad=1",
     "algo=direct,tile_k=128,tile_p=2,tile_q=14,tile_c=8,micro_k=8,micro_p=1,micro_q=7,stages=2"},
};
#define NCASES (sizeof cases / sizeof cases[0])

static void build(size_t i, iob_layer *L, iob_config *c, iob_resources *res, iob_plan *plan)
{
    iob_machine m;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    if (iob_layer_parse(cases[i].layer, L, &err) || iob_config_parse(cases[i].config, c, &err) ||
        iob_dataflow_check(L, c, &m, res, &err) || iob_plan_build(L, c, &m, plan, &err))
        fail_msg("case %zu: %s", i, err.msg);
}

static void test_plans_follow_the_model(void **state)
{
    (void)state;
    for (size_t i = 0; i < NCASES; i++) {
        iob_layer L;
        iob_config c;
        iob_resources res;
        iob_plan plan;
        build(i, &L, &c, &res, &plan);
        iob_direct_geom g;
        iob_direct_geom_get(&L, &c, &g);
        /* prep: the filter reorder, one thread per element */
        assert_int_equal(plan.nprep, 1);
        assert_string_equal(plan.prep[0].entry, "direct_filter_crsk");
        /* the workspace [G][tiles_k][chunks*tile_c][R][S][round4(tile_k)] */
        int64_t fe = L.groups * g.tiles_k * g.chunks * c.tile_c * L.r * L.s * ((c.tile_k + 3) / 4 * 4);
        assert_int_equal(plan.prep[0].grid[0], (fe + 255) / 256);
        assert_int_equal(plan.prep[0].args[0].buf, IOB_BUF_FILTER);
        assert_int_equal(plan.prep[0].args[1].buf, IOB_BUF_WORK1);
        assert_int_equal(plan.work_bytes[1], fe * 4);
        /* main launch */
        const iob_launch *k = &plan.launch[0];
        assert_string_equal(k->file, "direct.cu");
        assert_string_equal(k->entry, "direct_conv");
        int64_t gx = ((L.p + c.tile_p - 1) / c.tile_p) * ((L.q + c.tile_q - 1) / c.tile_q);
        int64_t gy = L.groups * ((L.k / L.groups + c.tile_k - 1) / c.tile_k);
        assert_int_equal(k->grid[0], gx);
        assert_int_equal(k->grid[1], gy);
        int tn = c.tile_n > 1 ? c.tile_n : 1;
        assert_int_equal(k->grid[2], (L.n + tn - 1) / tn * c.split_c);
        assert_int_equal((int64_t)k->grid[0] * k->grid[1] * k->grid[2], res.grid_blocks);
        assert_int_equal(k->block[0], res.threads);
        assert_int_equal(k->block[0], (c.tile_k / c.micro_k) * tn * (c.tile_p / c.micro_p) *
                                          (c.tile_q / c.micro_q));
        assert_int_equal(k->smem_bytes, res.smem_bytes);
        /* the stages, or the staged output tile when it is larger */
        int64_t out_floats = (int64_t)c.tile_k * tn * c.tile_p * g.out_pitch;
        int64_t stage_all = (int64_t)c.stages * g.stage_floats;
        assert_int_equal(k->smem_bytes, (stage_all > out_floats ? stage_all : out_floats) * 4);
        assert_int_equal(k->nargs, 3);
        assert_int_equal(k->args[0].buf, IOB_BUF_INPUT);
        assert_int_equal(k->args[1].buf, IOB_BUF_WORK1);
        assert_non_null(strstr(k->defines, "-DTILE_K="));
        char want[64];
        snprintf(want, sizeof want, "-DDIRECT_IW_PITCH=%d", g.iw_pitch);
        assert_non_null(strstr(k->defines, want));
        snprintf(want, sizeof want, "-DDIRECT_MIN_BLOCKS=%d", res.blocks_per_sm);
        assert_non_null(strstr(k->defines, want));
        if (c.split_c > 1) {
            assert_int_equal(plan.nlaunch, 2);
            assert_int_equal(k->args[2].buf, IOB_BUF_WORK0);
            assert_string_equal(plan.launch[1].entry, "direct_split_reduce");
            assert_int_equal(plan.launch[1].grid[0], (L.n * L.k * L.p * L.q + 255) / 256);
            assert_int_equal(plan.launch[1].args[0].buf, IOB_BUF_WORK0);
            assert_int_equal(plan.launch[1].args[1].buf, IOB_BUF_OUTPUT);
            assert_int_equal(plan.work_bytes[0],
                             (int64_t)c.split_c * ((L.n * L.k * L.p * L.q + 31) / 32 * 32) * 4);
        } else {
            assert_int_equal(plan.nlaunch, 1);
            assert_int_equal(k->args[2].buf, IOB_BUF_OUTPUT);
            assert_int_equal(plan.work_bytes[0], 0);
        }
        assert_int_equal(res.workspace_bytes, plan.work_bytes[0] + plan.work_bytes[1]);
    }
}

#ifdef IOB_WITH_CUDA
/* Compiles direct.cu with a plan's macros through NVRTC for sm_90; fails the test with the log. */
static void nvrtc_compile(const iob_plan *plan, const char *what)
{
    const iob_kernel_file *src = iob_kernel_file_find("direct.cu");
    assert_non_null(src);
    /* one compile per plan: the launches share the macros */
    char defs[sizeof plan->launch[0].defines];
    snprintf(defs, sizeof defs, "%s", plan->launch[0].defines);
    const char *opts[64];
    int nopt = 0;
    opts[nopt++] = "--gpu-architecture=sm_90";
    opts[nopt++] = "-std=c++17";
    for (char *save = NULL, *tok = strtok_r(defs, " ", &save); tok && nopt < 64;
         tok = strtok_r(NULL, " ", &save))
        opts[nopt++] = tok;
    /* the embedded headers (direct_map.cuh), as gpu/cuda_jit.c passes them */
    const char *hsrc[16], *hname[16];
    int nh = 0;
    for (int i = 0; i < iob_kernel_file_count && nh < 16; i++) {
        size_t len = strlen(iob_kernel_files[i].name);
        if (len > 4 && !strcmp(iob_kernel_files[i].name + len - 4, ".cuh")) {
            hsrc[nh] = iob_kernel_files[i].source;
            hname[nh++] = iob_kernel_files[i].name;
        }
    }
    nvrtcProgram prog;
    assert_int_equal(nvrtcCreateProgram(&prog, src->source, "direct.cu", nh, hsrc, hname),
                     NVRTC_SUCCESS);
    nvrtcResult rc = nvrtcCompileProgram(prog, nopt, opts);
    if (rc != NVRTC_SUCCESS) {
        size_t n;
        nvrtcGetProgramLogSize(prog, &n);
        char *log = malloc(n + 1);
        nvrtcGetProgramLog(prog, log);
        fail_msg("%s does not compile:\n%s", what, log);
    }
    nvrtcDestroyProgram(&prog);
}
#endif

/* The best config by predicted time (what `--config best` runs) of every benchmark layer
 * compiles. */
static void test_best_configs_compile(void **state)
{
    (void)state;
#ifdef IOB_WITH_CUDA
    iob_machine m;
    iob_error err;
    iob_layer_list list = {0};
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    if (iob_layers_read_file(IOB_SOURCE_DIR "/bench/layers/gpu-layers.csv", &list, &err))
        fail_msg("%s", err.msg);
    for (size_t i = 0; i < list.count; i++)
        for (int obj = IOB_OBJ_TIME; obj <= IOB_OBJ_TIME; obj++) {
            iob_config c;
            iob_plan plan;
            char what[512];
            if (iob_dataflow_best(&list.items[i], IOB_ALGO_DIRECT, &m, (iob_objective)obj, &c, NULL,
                                  &err) ||
                iob_plan_build(&list.items[i], &c, &m, &plan, &err))
                fail_msg("%s: %s", list.items[i].name, err.msg);
            int n = snprintf(what, sizeof what, "%s n=%lld ", list.items[i].name,
                             (long long)list.items[i].n);
            iob_config_format(&c, what + n, sizeof what - (size_t)n);
            nvrtc_compile(&plan, what);
        }
    iob_layer_list_free(&list);
#else
    skip();
#endif
}

static void test_kernels_compile(void **state)
{
    (void)state;
#ifdef IOB_WITH_CUDA
    for (size_t i = 0; i < NCASES; i++) {
        iob_layer L;
        iob_config c;
        iob_resources res;
        iob_plan plan;
        build(i, &L, &c, &res, &plan);
        char what[512];
        snprintf(what, sizeof what, "case %zu (%s %s)", i, cases[i].layer, cases[i].config);
        nvrtc_compile(&plan, what);
    }
#else
    skip();
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_plans_follow_the_model),
        cmocka_unit_test(test_kernels_compile),
        cmocka_unit_test(test_best_configs_compile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
