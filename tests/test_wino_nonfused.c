/* test_wino_nonfused.c - the non-fused Winograd dataflow (model/wino_nonfused.c, plan
 * gpu/host_wino_nonfused.c, kernels gpu/kernels/wino_nonfused.cu) on the CPU:
 *   - geometry, resources and the exact parts of the prediction (FFMA = the GEMMs'
 *     multiply-adds, workspaces) of a hand-computed layer; the configs that are refused, why;
 *   - the plan: launches, buffers and the cuBLAS call's sizes, leading dimensions and strides;
 *   - the three kernels compiled as C (tests/cuda_emu.h) and run launch by launch as the plan
 *     says, with the plan's GEMM done here from its descriptor (column-major, as cuBLAS reads
 *     it): U and V equal, bit for bit, the FP32 reference built from the library's paired term
 *     rule (iob_wino_apply_f32), and the output is the FP64 convolution within the plan's
 *     tolerance (odd sizes, asymmetric and no padding, batch 2, m = 2 and 4).
 * Needs a C compiler at run time (cc, or $CC).
 */
#include <dlfcn.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "iobound/plan.h"
#include "model/wino_nonfused.h"
#include "tests/emu_build.h"
#include "tests/winograd_ref.h"

static int setup(void **state)
{
    (void)state;
    return emu_dir_open("wnf_emu");
}

static int teardown(void **state)
{
    (void)state;
    emu_dir_close();
    return 0;
}

static iob_config wnf(int m)
{
    iob_config c = {.algo = IOB_ALGO_WINOGRAD_NONFUSED, .wino_m = m, .stages = 1, .split_c = 1};
    return c;
}

static iob_machine h100(void)
{
    iob_machine m;
    assert_int_equal(iob_machine_get("h100-sxm", &m, NULL), IOB_OK);
    return m;
}

/* n=2, c=3, 7x5, k=4, pad 1: P = 7, Q = 5; F(2x2): 4 x 3 tiles an image, T = 24. */
static void test_geometry_and_resources(void **state)
{
    (void)state;
    iob_layer L;
    iob_error err = {0};
    assert_int_equal(iob_layer_parse("n=2,c=3,h=7,w=5,k=4,r=3,pad=1", &L, &err), IOB_OK);
    iob_config c = wnf(2);
    iob_wnf_geom g;
    assert_int_equal(iob_wnf_geom_make(&L, &c, &g, &err), IOB_OK);
    assert_int_equal(g.alpha, 4);
    assert_int_equal(g.tp, 4);
    assert_int_equal(g.tq, 3);
    assert_int_equal(g.t, 24);
    assert_int_equal(g.u_elems, 16 * 4 * 3);
    assert_int_equal(g.v_elems, 16 * 3 * 24);
    assert_int_equal(g.m_elems, 16 * 4 * 24);
    iob_machine m = h100();
    iob_resources r;
    assert_int_equal(iob_dataflow_check(&L, &c, &m, &r, &err), IOB_OK);
    assert_int_equal(r.threads, 256);
    assert_int_equal(r.smem_bytes, 0);
    assert_int_equal(r.kernels, 3);
    assert_int_equal(r.grid_blocks, 1); /* 96 output items */
    assert_int_equal(r.workspace_bytes, 4 * (192 + 1152 + 1536));
    iob_traffic t;
    assert_int_equal(iob_dataflow_predict(&L, &c, &m, &t, &err), IOB_OK);
    assert_int_equal(t.ffma, 16ull * 4 * 3 * 24);
    assert_int_equal(t.dram_exact, 0);
    /* F(4x4) on the same layer: 2 x 2 tiles an image */
    c = wnf(4);
    assert_int_equal(iob_wnf_geom_make(&L, &c, &g, &err), IOB_OK);
    assert_int_equal(g.t, 8);
    assert_int_equal(g.a2, 36);
}

static void expect(const char *spec, iob_config c, iob_status code, const char *needle)
{
    iob_layer L;
    iob_error err = {0};
    assert_int_equal(iob_layer_parse(spec, &L, &err), IOB_OK);
    iob_machine m = h100();
    assert_int_equal(iob_dataflow_check(&L, &c, &m, NULL, &err), code);
    if (!strstr(err.msg, needle))
        fail_msg("%s: '%s' does not say '%s'", spec, err.msg, needle);
}

static void test_refusals(void **state)
{
    (void)state;
    const char *ok = "c=8,h=9,k=8,r=3,pad=1";
    expect("c=8,h=9,k=8,r=5,pad=2", wnf(2), IOB_EINFEASIBLE, "only 3x3");
    expect("c=8,h=9,k=8,r=3,stride=2,pad=1", wnf(2), IOB_EINFEASIBLE, "stride 1");
    expect("c=8,h=9,k=8,r=3,dil=2,pad=2", wnf(4), IOB_EINFEASIBLE, "no dilation");
    expect("c=8,h=9,k=8,r=3,pad=1,groups=2", wnf(2), IOB_EINFEASIBLE, "one group");
    expect(ok, wnf(6), IOB_EINVAL, "wino_m must be 2 or 4");
    iob_config c = wnf(2);
    c.tile_k = 16;
    expect(ok, c, IOB_EINVAL, "takes only wino_m");
    c = wnf(2);
    c.split_c = 2;
    expect(ok, c, IOB_EINVAL, "takes only wino_m");
    /* the space: both m where the layer applies, none (with the reason) where not */
    iob_layer L;
    iob_error err = {0};
    iob_machine m = h100();
    iob_config *all;
    size_t n;
    assert_int_equal(iob_layer_parse(ok, &L, &err), IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_WINOGRAD_NONFUSED, &m, &all, &n, &err),
                     IOB_OK);
    assert_int_equal(n, 2);
    assert_int_equal(all[0].wino_m, 2);
    assert_int_equal(all[1].wino_m, 4);
    free(all);
    assert_int_equal(iob_layer_parse("c=8,h=9,k=8,r=1", &L, &err), IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_WINOGRAD_NONFUSED, &m, &all, &n, &err),
                     IOB_OK);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "only 3x3"));
    free(all);
    /* the bound it is measured against: Winograd's stored variants */
    iob_bound b[4];
    int nb = 0;
    iob_bound_opts bo = iob_bound_opts_for(&m, 4);
    assert_int_equal(iob_layer_parse(ok, &L, &err), IOB_OK);
    assert_int_equal(iob_bound_layer(&L, IOB_ALGO_WINOGRAD_NONFUSED, &bo, b, 4, &nb, &err),
                     IOB_OK);
    assert_int_equal(nb, 2);
    assert_string_equal(b[0].variant, "F(2x2,3x3) stored, U prepared");
    assert_string_equal(b[1].variant, "F(4x4,3x3) stored, U prepared");
    assert_int_equal(b[1].algo, IOB_ALGO_WINOGRAD_NONFUSED);
    /* the same as the stored bound less the filter transform (read g, write U) */
    iob_bound st;
    assert_int_equal(iob_bound_winograd(&L, 4, 0, &bo, &st, &err), IOB_OK);
    double filt = (double)(L.k * L.c * 9) + 36.0 * (double)(L.k * L.c);
    assert_true(fabs(st.bound_gpu - b[1].bound_gpu - filt) <= 1e-9 * st.bound_gpu);
    assert_true(fabs(st.compulsory - b[1].compulsory - filt) <= 1e-9 * st.compulsory);
}

static void test_plan(void **state)
{
    (void)state;
    iob_layer L;
    iob_error err = {0};
    assert_int_equal(iob_layer_parse("n=2,c=3,h=7,w=5,k=4,r=3,pad=1", &L, &err), IOB_OK);
    iob_config c = wnf(2);
    iob_machine m = h100();
    iob_plan p;
    assert_int_equal(iob_plan_build(&L, &c, &m, &p, &err), IOB_OK);
    assert_int_equal(p.nprep, 1);
    assert_string_equal(p.prep[0].entry, "wnf_filter");
    assert_int_equal(p.prep[0].grid[0], 1); /* 12 (k, c) items */
    assert_int_equal(p.nlaunch, 3);
    assert_string_equal(p.launch[0].entry, "wnf_input");
    assert_true(iob_launch_is_kernel(&p.launch[0]) && iob_launch_is_kernel(&p.launch[2]));
    assert_false(iob_launch_is_kernel(&p.launch[1]));
    assert_int_equal(p.launch[0].args[0].buf, IOB_BUF_INPUT);
    assert_int_equal(p.launch[0].args[1].buf, IOB_BUF_WORK1);
    assert_int_equal(p.launch[2].args[0].buf, IOB_BUF_WORK2);
    assert_int_equal(p.launch[2].args[1].buf, IOB_BUF_OUTPUT);
    const iob_gemm_call *g = &p.launch[1].gemm;
    assert_int_equal(g->m, 24);
    assert_int_equal(g->n, 4);
    assert_int_equal(g->k, 3);
    assert_int_equal(g->lda, 24);
    assert_int_equal(g->ldb, 3);
    assert_int_equal(g->ldc, 24);
    assert_int_equal(g->stride_a, 3 * 24);
    assert_int_equal(g->stride_b, 4 * 3);
    assert_int_equal(g->stride_c, 4 * 24);
    assert_int_equal(g->batch, 16);
    assert_int_equal(g->a, IOB_BUF_WORK1);
    assert_int_equal(g->b, IOB_BUF_WORK0);
    assert_int_equal(g->c, IOB_BUF_WORK2);
    assert_int_equal(p.work_bytes[0], 4 * 192);
    assert_int_equal(p.work_bytes[1], 4 * 1152);
    assert_int_equal(p.work_bytes[2], 4 * 1536);
    assert_true(p.tolerance == 1e-4);
    c = wnf(4);
    assert_int_equal(iob_plan_build(&L, &c, &m, &p, &err), IOB_OK);
    assert_true(p.tolerance == 2e-5);
    assert_int_equal(p.launch[1].gemm.batch, 36);
}

/* ---- the kernels on the CPU ------------------------------------------------------------------ */

static void run_launch(const iob_launch *l, float *const bufs[6])
{
    void *lib = emu_build_next(l->file, l->defines);
    emu_launch(lib, l, bufs);
    dlclose(lib);
}

/* C_i = A_i B_i, column-major, as cuBLAS reads the descriptor; sums in k order with fmaf */
static void gemm_from_desc(const iob_gemm_call *g, float *const bufs[6])
{
    for (int64_t i = 0; i < g->batch; i++) {
        const float *A = bufs[g->a] + i * g->stride_a, *B = bufs[g->b] + i * g->stride_b;
        float *C = bufs[g->c] + i * g->stride_c;
        for (int64_t col = 0; col < g->n; col++)
            for (int64_t row = 0; row < g->m; row++) {
                float s = 0.0f;
                for (int64_t k = 0; k < g->k; k++)
                    s = fmaf(A[row + k * g->lda], B[k + col * g->ldb], s);
                C[row + col * g->ldc] = s;
            }
    }
}

static void check_layer(const char *spec, int mwin)
{
    iob_layer L;
    iob_error err = {0};
    assert_int_equal(iob_layer_parse(spec, &L, &err), IOB_OK);
    iob_config c = wnf(mwin);
    iob_machine m = h100();
    iob_plan p;
    iob_wnf_geom g;
    assert_int_equal(iob_plan_build(&L, &c, &m, &p, &err), IOB_OK);
    assert_int_equal(iob_wnf_geom_make(&L, &c, &g, &err), IOB_OK);
    size_t nx = (size_t)(L.n * L.c * L.h * L.w), nw = (size_t)(L.k * L.c * 9);
    size_t ny = (size_t)(L.n * L.k * L.p * L.q);
    float *bufs[6];
    bufs[IOB_BUF_INPUT] = malloc(nx * sizeof(float));
    bufs[IOB_BUF_FILTER] = malloc(nw * sizeof(float));
    bufs[IOB_BUF_OUTPUT] = malloc(ny * sizeof(float));
    for (int i = 0; i < IOB_PLAN_WORK; i++)
        bufs[IOB_BUF_WORK0 + i] = malloc((size_t)p.work_bytes[i]);
    for (int i = 0; i < 6; i++)
        assert_non_null(bufs[i]);
    wino_ref_fill(bufs[IOB_BUF_INPUT], nx, 11);
    wino_ref_fill(bufs[IOB_BUF_FILTER], nw, 12);
    for (size_t i = 0; i < ny; i++)
        bufs[IOB_BUF_OUTPUT][i] = NAN; /* every output must be written */
    run_launch(&p.prep[0], bufs);
    run_launch(&p.launch[0], bufs);
    gemm_from_desc(&p.launch[1].gemm, bufs);
    run_launch(&p.launch[2], bufs);

    /* U and V bit for bit against the library's arithmetic */
    iob_winograd W;
    assert_int_equal(iob_winograd_make(mwin, 3, &W, &err), IOB_OK);
    const int al = g.alpha;
    float bt[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
    for (int i = 0; i < al; i++)
        for (int j = 0; j < al; j++)
            bt[i * al + j] = (float)W.BT[i][j];
    for (int64_t e = 0; e < g.filter_items; e++) {
        double f[9];
        for (int i = 0; i < 9; i++)
            f[i] = bufs[IOB_BUF_FILTER][e * 9 + i];
        float u[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
        wino_ref_u(&W, f, u);
        for (int xi = 0; xi < al * al; xi++) {
            float got = bufs[IOB_BUF_WORK0][(int64_t)xi * g.filter_items + e];
            if (memcmp(&u[xi], &got, sizeof got))
                fail_msg("%s m=%d: U[%d][%lld] = %.9g, want %.9g", spec, mwin, xi, (long long)e,
                         got, u[xi]);
        }
    }
    for (int64_t e = 0; e < g.input_items; e++) {
        int64_t t = e % g.t, ch = e / g.t, n = t / (g.tp * g.tq);
        int64_t h0 = (t / g.tq % g.tp) * mwin - L.pad_top, w0 = t % g.tq * mwin - L.pad_left;
        float d[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX], v[IOB_WINO_ALPHA_MAX * IOB_WINO_ALPHA_MAX];
        for (int i = 0; i < al; i++)
            for (int j = 0; j < al; j++)
                d[i * al + j] = (float)wino_ref_x(&L, bufs[IOB_BUF_INPUT], n, ch, h0 + i, w0 + j);
        wino_ref_2d(bt, al, al, d, v);
        for (int xi = 0; xi < al * al; xi++) {
            float got = bufs[IOB_BUF_WORK1][((int64_t)xi * L.c + ch) * g.t + t];
            if (memcmp(&v[xi], &got, sizeof got))
                fail_msg("%s m=%d: V[%d][%lld][%lld] = %.9g, want %.9g", spec, mwin, xi,
                         (long long)ch, (long long)t, got, v[xi]);
        }
    }
    /* the output against the FP64 convolution */
    double *ref = malloc(ny * sizeof *ref), *abs_sum = malloc(ny * sizeof *abs_sum);
    assert_non_null(ref);
    assert_non_null(abs_sum);
    wino_ref_direct64(&L, bufs[IOB_BUF_INPUT], bufs[IOB_BUF_FILTER], ref, abs_sum);
    double worst = 0;
    for (size_t i = 0; i < ny; i++) {
        double e = wino_ref_err(bufs[IOB_BUF_OUTPUT][i], ref[i], abs_sum[i]);
        if (!(e <= p.tolerance))
            fail_msg("%s m=%d: output %zu = %.9g, want %.9g (error %.3g > %.3g)", spec, mwin, i,
                     bufs[IOB_BUF_OUTPUT][i], ref[i], e, p.tolerance);
        worst = fmax(worst, e);
    }
    fprintf(stderr, "%s F(%dx%d): max error %.3g (tolerance %.3g)\n", spec, mwin, mwin, worst,
            p.tolerance);
    free(ref);
    free(abs_sum);
    for (int i = 0; i < 6; i++)
        free(bufs[i]);
}

static void test_kernels_on_cpu(void **state)
{
    (void)state;
    static const char *const layers[] = {
        "n=2,c=3,h=7,w=5,k=4,r=3,pad=1",
        "n=1,c=5,h=9,w=11,k=3,r=3,pad=0",
        "n=2,c=2,h=6,w=10,k=5,r=3,pad_top=0,pad_bottom=2,pad_left=2,pad_right=1",
        "n=1,c=40,h=8,w=8,k=6,r=3,pad=1",
        /* Q and P*Q multiples of 4, P not: vector row stores with the last tile row clipped */
        "n=2,c=3,h=10,w=8,k=5,r=3,pad=1",
    };
    for (size_t i = 0; i < sizeof layers / sizeof *layers; i++)
        for (int mw = 2; mw <= 4; mw += 2)
            check_layer(layers[i], mw);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_geometry_and_resources),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_plan),
        cmocka_unit_test(test_kernels_on_cpu),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
