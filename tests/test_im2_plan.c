/* test_im2_plan.c - the launch plans of im2col + GEMM and im2win (gpu/host_band.c): the
 * transform's launch (grid, threads, shared memory, band macros, buffers) before the direct
 * kernel's plan of the derived layer with its input moved to the workspace; workspaces against the
 * resources; a plan for every config of two layers' spaces; and (in a build with CUDA) every
 * launch of a spread of plans compiled through the executor's NVRTC path for sm_90 (no GPU
 * needed), whose static_asserts check the band and layout macros against the model. */
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
#include "model/band_model.h"

static iob_machine h100(void)
{
    iob_machine m;
    assert_int_equal(iob_machine_get("h100-sxm", &m, NULL), IOB_OK);
    return m;
}

/* Checks the plan of one config against the model's geometry and resources. */
static void check_plan(const iob_layer *L, const iob_config *c, const iob_machine *m)
{
    const iob_band_algo *a = c->algo == IOB_ALGO_IM2COL ? &iob_band_im2col : &iob_band_im2win;
    iob_band_setup s;
    iob_resources res, dres;
    iob_plan plan, dplan;
    iob_error err = {0};
    char text[256];
    iob_config_format(c, text, sizeof text);
    if (iob_band_setup_get(a, L, c, m, &s, &err) || iob_dataflow_check(L, c, m, &res, &err) ||
        iob_plan_build(L, c, m, &plan, &err) ||
        iob_dataflow_check(&s.derived, &s.dcfg, m, &dres, &err) ||
        iob_plan_build(&s.derived, &s.dcfg, m, &dplan, &err))
        fail_msg("%s: %s", text, err.msg);
    /* the transform first: one block per (plane, band), the layer's macros and the band's */
    const iob_launch *t = &plan.launch[0];
    assert_string_equal(t->file, a->kind == BM_IM2COL ? "im2col.cu" : "im2win.cu");
    assert_string_equal(t->entry, a->kind == BM_IM2COL ? "im2col_band" : "im2win_window");
    assert_int_equal(t->grid[0], L->n * L->c * s.g.map.bands);
    assert_int_equal(t->grid[1] * t->grid[2], 1);
    assert_int_equal(t->block[0], BM_THREADS);
    assert_int_equal(t->smem_bytes, 4 * s.g.smem_floats);
    assert_int_equal(t->nargs, 2);
    assert_int_equal(t->args[0].buf, IOB_BUF_INPUT);
    assert_int_equal(t->args[1].buf, IOB_BUF_WORK2);
    char want[96];
    snprintf(want, sizeof want, "-DLAYER_C=%lld ", (long long)L->c);
    assert_non_null(strstr(t->defines, want));
    snprintf(want, sizeof want, "-DBM_BAND=%d -DBM_WP=%d -DBM_RUN_SLOTS=%d", s.g.map.band,
             s.g.map.wp, s.g.map.run_slots);
    assert_non_null(strstr(t->defines, want));
    assert_null(strstr(t->defines, "TILE_K")); /* one compile per layer, not per config */
    /* then the direct kernel's plan of the derived layer, reading WORK2 where it read the input */
    assert_int_equal(plan.nlaunch, dplan.nlaunch + 1);
    for (int i = 0; i < dplan.nlaunch; i++) {
        const iob_launch *x = &plan.launch[i + 1], *y = &dplan.launch[i];
        assert_string_equal(x->entry, y->entry);
        assert_string_equal(x->defines, y->defines);
        assert_memory_equal(x->grid, y->grid, sizeof x->grid);
        assert_int_equal(x->block[0], y->block[0]);
        assert_int_equal(x->smem_bytes, y->smem_bytes);
        for (int j = 0; j < y->nargs; j++)
            assert_int_equal(x->args[j].buf, y->args[j].buf == IOB_BUF_INPUT ? IOB_BUF_WORK2
                                                                              : y->args[j].buf);
    }
    assert_int_equal(plan.launch[1].block[0], res.threads);
    assert_int_equal(plan.launch[1].smem_bytes, res.smem_bytes);
    /* the prep: the direct kernel's filter reorder (im2col: the filter's memory is the derived
     * filter), or im2win's own reorder with the same grid and macros plus R and S */
    assert_int_equal(plan.nprep, 1);
    assert_memory_equal(plan.prep[0].grid, dplan.prep[0].grid, sizeof plan.prep[0].grid);
    assert_int_equal(plan.prep[0].args[0].buf, IOB_BUF_FILTER);
    assert_int_equal(plan.prep[0].args[1].buf, IOB_BUF_WORK1);
    if (a->kind == BM_IM2COL) {
        assert_string_equal(plan.prep[0].entry, "direct_filter_crsk");
        assert_string_equal(plan.prep[0].defines, dplan.prep[0].defines);
    } else {
        assert_string_equal(plan.prep[0].file, "im2win.cu");
        assert_string_equal(plan.prep[0].entry, "im2win_filter");
        char defs[sizeof dplan.prep[0].defines + 64];
        snprintf(defs, sizeof defs, "%s -DIM2WIN_R=%lld -DIM2WIN_S=%lld", dplan.prep[0].defines,
                 (long long)L->r, (long long)L->s);
        assert_string_equal(plan.prep[0].defines, defs);
    }
    /* workspaces: the direct kernel's partials and filter, and the transform's */
    assert_int_equal(plan.work_bytes[0], dplan.work_bytes[0]);
    assert_int_equal(plan.work_bytes[1], dplan.work_bytes[1]);
    assert_int_equal(plan.work_bytes[2], (s.g.ws_floats + 7) / 8 * 8 * 4);
    assert_int_equal(res.workspace_bytes,
                     plan.work_bytes[0] + plan.work_bytes[1] + plan.work_bytes[2]);
    assert_int_equal(res.kernels, plan.nlaunch);
    assert_true(plan.tolerance > 0 && plan.tolerance <= 1e-4);
}

static void test_hand_plans(void **state)
{
    (void)state;
    static const char *const cases[][2] = {
        {"n=32,c=64,h=56,k=64,r=3,pad=1",
         "algo=im2col,tile_k=64,tile_p=8,tile_q=56,tile_c=32,micro_k=8,micro_p=1,micro_q=8,"
         "stages=2"},
        {"n=32,c=64,h=56,k=64,r=3,pad=1",
         "algo=im2win,tile_k=64,tile_p=8,tile_q=8,tile_c=16,micro_k=8,micro_p=1,micro_q=8"},
        {"n=1,c=512,h=7,k=512,r=3,pad=1",
         "algo=im2col,tile_k=64,tile_p=7,tile_q=7,tile_c=16,micro_k=4,micro_p=1,micro_q=7,"
         "stages=2,split_c=8"},
        {"n=1,c=8,h=9,w=10,k=8,r=3,stride=2,pad=1,groups=2",
         "algo=im2win,tile_k=4,tile_p=2,tile_q=4,tile_c=2,micro_k=2,micro_p=1,micro_q=2,"
         "split_c=2"},
    };
    iob_machine m = h100();
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        iob_layer L;
        iob_config c;
        assert_int_equal(iob_layer_parse(cases[i][0], &L, NULL), IOB_OK);
        assert_int_equal(iob_config_parse(cases[i][1], &c, NULL), IOB_OK);
        check_plan(&L, &c, &m);
    }
    /* by hand: res2.3x3 at batch 32, im2col: 2048 blocks of one band of 56 rows */
    iob_layer L;
    iob_config c;
    iob_plan p;
    assert_int_equal(iob_layer_parse(cases[0][0], &L, NULL), IOB_OK);
    assert_int_equal(iob_config_parse(cases[0][1], &c, NULL), IOB_OK);
    assert_int_equal(iob_plan_build(&L, &c, &m, &p, NULL), IOB_OK);
    assert_int_equal(p.launch[0].grid[0], 2048);
    assert_int_equal(p.launch[0].smem_bytes, 3140 * 4);
    assert_int_equal(p.work_bytes[2], 32LL * 576 * 56 * 56 * 4);
    assert_non_null(strstr(p.launch[1].defines, "-DLAYER_C=576 -DLAYER_H=56 -DLAYER_W=56 "
                                                "-DLAYER_K=64 -DLAYER_R=1 -DLAYER_S=1 "));
    assert_int_equal(p.nlaunch, 2);
}

/* A plan for every config of a benchmark layer's space and of an odd one. */
static void test_every_config_plans(void **state)
{
    (void)state;
    static const char *const layers[] = {"n=32,c=128,h=28,k=128,r=3,pad=1",
                                         "n=2,c=5,h=9,w=13,k=6,r=3,stride=2,pad=2,groups=1"};
    iob_machine m = h100();
    size_t total = 0;
    for (int a = IOB_ALGO_IM2COL; a <= IOB_ALGO_IM2WIN; a++)
        for (size_t li = 0; li < 2; li++) {
            iob_layer L;
            iob_config *all;
            size_t n;
            iob_error err;
            assert_int_equal(iob_layer_parse(layers[li], &L, NULL), IOB_OK);
            assert_int_equal(iob_dataflow_enumerate(&L, (iob_algo)a, &m, &all, &n, &err), IOB_OK);
            assert_true(n > 100);
            for (size_t i = 0; i < n; i += li ? 1 : 7, total++)
                check_plan(&L, &all[i], &m);
            free(all);
        }
    print_message("%zu plans checked\n", total);
}

/* Every launch of the plans of a spread of configs compiles for sm_90 (the kernels'
 * static_asserts included): the best config by time of two benchmark layers, and odd ones. */
static void test_nvrtc(void **state)
{
    (void)state;
    if (!iob_gpu_built())
        skip();
    static const char *const best_layers[] = {"n=32,c=256,h=14,k=256,r=3,pad=1",
                                              "n=1,c=64,h=56,k=64,r=3,pad=1"};
    static const char *const odd[][2] = {
        {"n=3,c=5,h=17,w=13,k=7,r=5,dil_h=2,pad=2",
         "tile_k=8,tile_p=4,tile_q=8,tile_c=4,micro_k=2,micro_p=1,micro_q=4,stages=2,split_c=2"},
        {"n=1,c=32,h=15,k=64,r=3,stride=2,pad=1,groups=4",
         "tile_k=16,tile_p=4,tile_q=8,tile_c=8,micro_k=4,micro_p=1,micro_q=2,stages=3"},
    };
    iob_machine m = h100();
    int compiled = 0;
    for (int a = IOB_ALGO_IM2COL; a <= IOB_ALGO_IM2WIN; a++)
        for (size_t i = 0; i < 4; i++) {
            iob_layer L;
            iob_config c;
            iob_error err = {0};
            if (i < 2) {
                assert_int_equal(iob_layer_parse(best_layers[i], &L, NULL), IOB_OK);
                assert_int_equal(iob_dataflow_best(&L, (iob_algo)a, &m, IOB_OBJ_TIME, &c, NULL,
                                                   &err), IOB_OK);
            } else {
                char text[300];
                snprintf(text, sizeof text, "algo=%s,%s", iob_algo_name((iob_algo)a), odd[i - 2][1]);
                assert_int_equal(iob_layer_parse(odd[i - 2][0], &L, NULL), IOB_OK);
                assert_int_equal(iob_config_parse(text, &c, NULL), IOB_OK);
            }
            iob_plan p;
            char text[256];
            iob_config_format(&c, text, sizeof text);
            if (iob_plan_build(&L, &c, &m, &p, &err))
                fail_msg("%s: %s", text, err.msg);
            for (int k = 0; k < p.nprep + p.nlaunch; k++) {
                const iob_launch *l = k < p.nprep ? &p.prep[k] : &p.launch[k - p.nprep];
                iob_compile_info info;
                if (iob_gpu_compile(l, 90, &info, &err))
                    fail_msg("%s, %s: %s\n%s", text, l->entry, err.msg, iob_gpu_compile_log());
                assert_true(info.cubin_bytes > 1000);
                compiled++;
            }
        }
    print_message("%d launches compiled for sm_90\n", compiled);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_plans),
        cmocka_unit_test(test_every_config_plans),
        cmocka_unit_test(test_nvrtc),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
