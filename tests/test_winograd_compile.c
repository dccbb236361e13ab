/* test_winograd_compile.c - every launch of Winograd plans compiles through the executor's NVRTC
 * path (iob_gpu_compile, sm_90, no GPU needed) for a spread of configs: the model's best config
 * of two layers of bench/layers/gpu-layers.csv (F(4x4) at batch 32, F(2x2) with a split at
 * batch 1) and configs with 1-, 2- and 4-wide loads, 2 to 4 stages and a 3-way split. Each NVRTC
 * compilation takes about 2.5 s here, so the spread is small; bench/bench_winograd_ptxas.c
 * compiles 66 more with nvcc. Skipped (77) in a build without CUDA.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/gpu.h"
#include "iobound/plan.h"

static char cache_dir[512];

static void compile_plan(const iob_layer *L, const iob_config *c, const iob_machine *m)
{
    iob_plan p;
    iob_error err = {0};
    char text[256];
    iob_config_format(c, text, sizeof text);
    if (iob_plan_build(L, c, m, &p, &err))
        fail_msg("%s: %s", text, err.msg);
    /* one after the other: the launches share their macros, so the first compilation serves the
     * others from the cache (the cubin holds every entry) */
    for (int i = 0; i < p.nprep + p.nlaunch; i++) {
        const iob_launch *l = i < p.nprep ? &p.prep[i] : &p.launch[i - p.nprep];
        iob_compile_info info;
        if (iob_gpu_compile(l, 90, &info, &err))
            fail_msg("%s: %s\n%s", text, err.msg, iob_gpu_compile_log());
        assert_true(info.cubin_bytes > 1000);
        assert_int_equal(info.cache_hit, i > 0);
    }
}

static void test_best_configs(void **state)
{
    (void)state;
    /* F(4x4) at batch 32; F(2x2) with a channel split at batch 1 */
    static const char *const layers[] = {
        "n=32,c=256,h=56,k=256,r=3,pad=1",
        "n=1,c=512,h=14,k=512,r=3,pad=1",
    };
    iob_machine m;
    assert_int_equal(iob_machine_get("h100-sxm", &m, NULL), IOB_OK);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        iob_layer L;
        iob_config best;
        iob_error err = {0};
        assert_int_equal(iob_layer_parse(layers[i], &L, &err), IOB_OK);
        assert_int_equal(iob_dataflow_best(&L, IOB_ALGO_WINOGRAD, &m, IOB_OBJ_TIME, &best, NULL,
                                           &err), IOB_OK);
        compile_plan(&L, &best, &m);
    }
}

static void test_odd_configs(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"n=2,c=5,h=9,w=11,k=8,r=3,pad=1",
         "algo=winograd,wino_m=2,tile_k=8,tile_p=4,tile_q=6,tile_c=2,micro_k=4,micro_p=4,"
         "micro_q=2,stages=2,split_c=1"},
        {"n=1,c=3,h=7,w=8,k=4,r=3,pad=0",
         "algo=winograd,wino_m=2,tile_k=4,tile_p=4,tile_q=4,tile_c=1,micro_k=1,micro_p=2,"
         "micro_q=1,stages=3,split_c=1"},
        {"n=1,c=13,h=11,w=5,k=6,r=3,pad=1,groups=1",
         "algo=winograd,wino_m=4,tile_k=8,tile_p=8,tile_q=8,tile_c=2,micro_k=4,micro_p=6,"
         "micro_q=4,stages=4,split_c=3"},
    };
    iob_machine m;
    assert_int_equal(iob_machine_get("h100-sxm", &m, NULL), IOB_OK);
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        iob_layer L;
        iob_config c;
        assert_int_equal(iob_layer_parse(cases[i][0], &L, NULL), IOB_OK);
        assert_int_equal(iob_config_parse(cases[i][1], &c, NULL), IOB_OK);
        compile_plan(&L, &c, &m);
    }
}

int main(void)
{
    if (!iob_gpu_built()) {
        printf("built without CUDA: skipped\n");
        return 77;
    }
    /* a cache of our own, so that the first launch of a plan always compiles */
    snprintf(cache_dir, sizeof cache_dir, "%s/test_winograd_compile.XXXXXX", IOB_BINARY_DIR);
    if (!mkdtemp(cache_dir))
        return 1;
    setenv("IOB_CACHE_DIR", cache_dir, 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_best_configs),
        cmocka_unit_test(test_odd_configs),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", cache_dir);
    return system(cmd) ? 1 : rc;
}
