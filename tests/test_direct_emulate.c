/* test_direct_emulate.c - the direct kernel's indexing emulated on the CPU, statement by
 * statement as gpu/kernels/direct.cu writes it (copy loops with their zero-fill conditions and
 * 16-byte pieces, the stage buffer layout with the model's pitch, each thread's operand offsets
 * and outputs, the split planes and their reduction), against a plain convolution in double.
 * It checks the dataflow's index arithmetic for every layout path (vec_in with an offset, vec_q,
 * vec_k, 4-byte copies, splits, groups, strides, dilation, clipped tiles); the CUDA source itself
 * is checked against an FP64 reference by `iobound run` on the GPU. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/dataflow.h"
#include "model/direct_model.h"
#include "tests/direct_emu.h"

static void check(const char *lspec, const char *cspec)
{
    iob_layer L;
    iob_config c;
    iob_machine m;
    iob_resources res;
    iob_error err;
    if (iob_machine_get("h100-sxm", &m, &err) || iob_layer_parse(lspec, &L, &err) ||
        iob_config_parse(cspec, &c, &err) || iob_dataflow_check(&L, &c, &m, &res, &err))
        fail_msg("%s %s: %s", lspec, cspec, err.msg);
    iob_direct_geom g;
    iob_direct_geom_get(&L, &c, &g);
    size_t nin = (size_t)(L.n * L.c * L.h * L.w), nf = (size_t)(L.k * (L.c / L.groups) * L.r * L.s);
    size_t nout = (size_t)g.elems_out;
    float *in = malloc(nin * sizeof *in), *f = malloc(nf * sizeof *f), *out = malloc(nout * sizeof *out);
    double *ref = malloc(nout * sizeof *ref);
    /* small integers: every product and sum is exact in FP32, so the check is equality */
    unsigned seed = 12345;
    for (size_t i = 0; i < nin; i++)
        in[i] = (float)((int)(rand_r(&seed) % 7) - 3);
    for (size_t i = 0; i < nf; i++)
        f[i] = (float)((int)(rand_r(&seed) % 5) - 2);
    for (size_t i = 0; i < nout; i++)
        out[i] = NAN; /* poisoned: every output must be written */
    direct_emulate(&L, &c, &g, in, f, out);
    direct_reference(&L, in, f, ref);
    for (size_t i = 0; i < nout; i++)
        if (!(out[i] == (float)ref[i]))
            fail_msg("%s %s: output %zu is %g, expected %g (shift %d e8 %d vec_q %d vec_k %d "
                     "out_run %d out_vec %d)",
                     lspec, cspec, i, out[i], ref[i], g.in_shift, g.in_e8, g.vec_q, g.vec_k,
                     g.out_run, g.out_vec);
    free(in);
    free(f);
    free(out);
    free(ref);
}

static void test_layout_paths(void **state)
{
    (void)state;
    /* constant shift 3 (pad 1, W % 4 == 0), e8 per row (W % 8 != 0), filter LDS.128, clipped
     * tiles, 3 stages */
    check("n=2,c=5,h=9,w=12,k=12,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=4,tile_q=4,tile_c=2,micro_k=4,micro_p=1,micro_q=1,stages=3");
    /* 1x1 stride 1: LDS.128 columns (vec_q), split over channels, float4 stores */
    check("n=2,c=12,h=8,w=8,k=16,r=1",
          "algo=direct,tile_k=8,tile_p=2,tile_q=8,tile_c=4,micro_k=4,micro_p=1,micro_q=4,"
          "split_c=3");
    /* per-row shift (W % 4 != 0) with the left-edge fix-up, odd tiles, stride 2 */
    check("n=1,c=7,h=11,w=11,k=6,r=3,stride=2,pad=1",
          "algo=direct,tile_k=6,tile_p=3,tile_q=3,tile_c=4,micro_k=2,micro_p=1,micro_q=1");
    /* dilation, asymmetric padding, groups, rectangular filter, W = 7 */
    check("n=2,c=8,h=10,w=7,k=8,r=2,s=3,dil_w=2,pad_top=1,pad_bottom=2,pad_left=2,groups=2",
          "algo=direct,tile_k=4,tile_p=4,tile_q=4,tile_c=2,micro_k=2,micro_p=1,micro_q=2,"
          "split_c=2");
    /* stride 3 (tile_q*3 % 4 == 0), channels not a multiple of tile_c, filter e8 per slice */
    check("n=1,c=3,h=13,w=12,k=5,r=3,stride=3",
          "algo=direct,tile_k=5,tile_p=2,tile_q=4,tile_c=2,micro_k=1,micro_p=1,micro_q=1");
    /* k past K/G in the last tile, strided micro_q > tqt overlap (tqt=1) */
    check("n=1,c=4,h=6,w=8,k=12,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=8,tile_q=4,tile_c=4,micro_k=4,micro_p=1,micro_q=4,stages=2");
    /* several images per block (the last tile of images partial), whole images: one output run
     * per image; W = 7 with the fix-up */
    check("n=3,c=6,h=7,w=7,k=8,r=3,pad=1",
          "algo=direct,tile_k=8,tile_p=7,tile_q=7,tile_c=2,micro_k=4,micro_p=1,micro_q=7,"
          "tile_n=2,stages=2");
    /* whole rows (tile_q = Q): output runs of whole planes, float4 */
    check("n=1,c=4,h=12,w=12,k=8,r=1",
          "algo=direct,tile_k=8,tile_p=4,tile_q=12,tile_c=4,micro_k=4,micro_p=1,micro_q=4");
    /* window columns, 2 rows per thread, 5x5 stride 1 pad 2 on W = 10 */
    check("n=1,c=3,h=9,w=10,k=8,r=5,pad=2",
          "algo=direct,tile_k=8,tile_p=4,tile_q=8,tile_c=3,micro_k=2,micro_p=2,micro_q=4");
}

static void test_sampled_space(void **state)
{
    (void)state;
    /* every 97th config of a small layer's space (the spaces hold thousands) */
    static const char *const layers[] = {"n=2,c=6,h=9,w=8,k=10,r=3,pad=1",
                                         "n=1,c=16,h=8,w=8,k=16,r=1",
                                         /* 1x1 images, K < 8: one channel a stage */
                                         "n=3,c=24,h=1,w=1,k=6,r=1"};
    iob_machine m;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    for (size_t li = 0; li < sizeof layers / sizeof *layers; li++) {
        iob_layer L;
        assert_int_equal(iob_layer_parse(layers[li], &L, &err), IOB_OK);
        iob_config *all;
        size_t n;
        assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_DIRECT, &m, &all, &n, &err), IOB_OK);
        for (size_t i = 0; i < n; i += n < 200 ? 7 : 97) {
            char text[256];
            iob_config_format(&all[i], text, sizeof text);
            check(layers[li], text);
        }
        free(all);
    }
}

/* The best configs by time of the layers scripts/device.sh runs under compute-sanitizer, and of a
 * small-image layer at batch 4 (several images per block, whole-image runs) */
static void test_best_configs(void **state)
{
    (void)state;
    static const char *const layers[] = {
        "name=s1,n=2,c=5,h=9,w=7,k=6,r=3,pad=1",
        "name=s2,n=1,c=8,h=12,k=8,r=3,stride=2,pad=1,groups=2",
        "name=s3,n=1,c=3,h=10,k=4,r=5,dil=2,pad_top=0,pad_bottom=3,pad_left=2,pad_right=1",
        "n=4,c=16,h=7,k=32,r=3,pad=1",
    };
    iob_machine m;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    for (size_t i = 0; i < sizeof layers / sizeof layers[0]; i++) {
        iob_layer L;
        iob_config c;
        char text[256];
        assert_int_equal(iob_layer_parse(layers[i], &L, &err), IOB_OK);
        for (int obj = IOB_OBJ_TRAFFIC; obj <= IOB_OBJ_TIME; obj++) {
            if (iob_dataflow_best(&L, IOB_ALGO_DIRECT, &m, (iob_objective)obj, &c, NULL, &err))
                fail_msg("%s: %s", layers[i], err.msg);
            iob_config_format(&c, text, sizeof text);
            check(layers[i], text);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_layout_paths),
        cmocka_unit_test(test_best_configs),
        cmocka_unit_test(test_sampled_space),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
