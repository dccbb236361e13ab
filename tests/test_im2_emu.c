/* test_im2_emu.c - im2col + GEMM and im2win run on the CPU, launch by launch as their plans say
 * (gpu/host_band.c), on small integers, against an FP64 convolution, exactly:
 *   - the transform kernel itself (gpu/kernels/im2col.cu or im2win.cu, compiled as C with
 *     tests/cuda_emu.h and the plan's macros: a thread per CUDA thread, barriers, deferred
 *     cp.async, NaN shared memory) fills the workspace; every float of it is checked against the
 *     definition (col / win of the padded input); its logged global accesses, as sectors per
 *     (block, stage, read or write), are the trace's (sim/trace_band.c); its shared-memory bytes
 *     and 16-byte copies are the closed form's (model/band.c);
 *   - im2win's filter prep (im2win_filter, compiled the same way) writes exactly what the
 *     direct kernel's own reorder would write for the derived [k][c][s][r] filter;
 *   - the direct kernel on the derived layer (tests/direct_emu.h: its map and its arithmetic)
 *     reads that workspace and gives the FP64 convolution of the original layer, exactly.
 * Layers: odd sizes, strides 1-3, padding (asymmetric too), dilation along h, groups, batch 2,
 * bands of one row (H100) and of many rows (a 1-SM machine), splits; the best configs of a few
 * layers and a sample of one space. Needs a C compiler at run time (cc, or $CC).
 */
#include <dlfcn.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "iobound/plan.h"
#include "iobound/trace.h"
#include "model/band_model.h"
#include "tests/direct_emu.h"
#include "tests/emu_build.h"
#include "tests/emu_keys.h"

static int nlib;

/* The libraries compiled so far (a layer's transform serves all its configs). */
#define LIBS_MAX 64
static struct {
    char key[sizeof ((iob_launch *)0)->defines + 100];
    void *lib;
} libs[LIBS_MAX];

static int setup(void **state)
{
    (void)state;
    return emu_dir_open("im2_emu");
}

static int teardown(void **state)
{
    (void)state;
    for (int i = 0; i < nlib && i < LIBS_MAX; i++)
        if (libs[i].lib)
            dlclose(libs[i].lib);
    emu_dir_close();
    return 0;
}

/* Compiles gpu/kernels/<launch's file> as C with the launch's macros (once); returns the
 * library, which stays loaded. */
static void *compile_kernel(const iob_launch *l)
{
    char key[sizeof libs[0].key];
    snprintf(key, sizeof key, "%s %s", l->file, l->defines);
    for (int i = 0; i < nlib && i < LIBS_MAX; i++)
        if (!strcmp(libs[i].key, key))
            return libs[i].lib;
    nlib++;
    void *lib = emu_build_next(l->file, l->defines);
    if (nlib <= LIBS_MAX) {
        snprintf(libs[nlib - 1].key, sizeof libs[0].key, "%s", key);
        libs[nlib - 1].lib = lib;
    }
    return lib;
}

/* Runs a two-argument launch of the plan (in -> out) in lib; counts in *counts. */
static void run2(void *lib, const iob_launch *l, const float *in, float *out, int log,
                 emu_counts *counts)
{
    void (*log_start)(int) = (void (*)(int))dlsym(lib, "iob_emu_log_start");
    void (*counts_get)(emu_counts *) = (void (*)(emu_counts *))dlsym(lib, "iob_emu_counts_get");
    assert_non_null(log_start);
    assert_non_null(counts_get);
    assert_int_equal(l->nargs, 2);
    float *bufs[6] = {0};
    bufs[l->args[0].buf] = (float *)in; /* the kernel takes it const */
    bufs[l->args[1].buf] = out;
    log_start(log ? 0 : -1);
    emu_launch(lib, l, bufs);
    log_start(-1);
    counts_get(counts);
}

/* The transform kernel's logged accesses (as sectors of the trace's address space) against the
 * trace's first kernel, both as sets per (block, stage, read/write). */
static void compare_with_trace(void *lib, const iob_trace *tr, const float *in, int64_t in_bytes,
                               const float *ws, int64_t ws_bytes, const char *what)
{
    size_t (*log_get)(const emu_access **) =
        (size_t (*)(const emu_access **))dlsym(lib, "iob_emu_log_get");
    void (*log_clear)(void) = (void (*)(void))dlsym(lib, "iob_emu_log_clear");
    assert_non_null(log_get);
    assert_non_null(log_clear);
    const emu_access *log;
    size_t nlog = log_get(&log);
    key_vec emu = {0}, trc = {0};
    for (size_t i = 0; i < nlog; i++) {
        const char *a = log[i].addr;
        uint64_t addr = 0;
        if (a >= (const char *)in && a < (const char *)in + in_bytes)
            addr = tr->layout.input + (uint64_t)(a - (const char *)in);
        else if (a >= (const char *)ws && a < (const char *)ws + ws_bytes)
            addr = tr->layout.work[2] + (uint64_t)(a - (const char *)ws);
        else
            fail_msg("%s: the transform accessed %p outside the input and the workspace", what, a);
        key_push(&emu, (acc_key){0, log[i].block, log[i].stage, (uint64_t)log[i].write,
                                 addr & ~31ull});
    }
    log_clear();
    iob_error err;
    for (int64_t b = 0; b < tr->kernel[0].blocks; b++) {
        iob_trace_sink sink = {trace_emit, &trc};
        trc.block = b;
        assert_int_equal(tr->kernel[0].block(tr->kernel[0].state, b, &sink, &err), IOB_OK);
    }
    size_t ne = key_unique(&emu), nt = key_unique(&trc);
    size_t i = 0;
    while (i < ne && i < nt && !key_cmp(&emu.v[i], &trc.v[i]))
        i++;
    if (i < ne || i < nt)
        fail_msg("%s: kernel and trace differ (%zu vs %zu sectors); first at block %lld",
                 what, ne, nt, (long long)(i < ne ? emu.v[i].block : trc.v[i].block));
    free(emu.v);
    free(trc.v);
}

/* The workspace's definition: col[n][g][(c', r, s)][p][q] or win[n][c][p][x][r]. */
static float ws_value(const iob_layer *L, int kind, const float *in, int64_t e)
{
    int64_t h, w, plane;
    if (kind == BM_IM2COL) {
        int64_t q = e % L->q, p = (e / L->q) % L->p, rs = (e / (L->p * L->q)) % (L->r * L->s);
        plane = e / (L->p * L->q * L->r * L->s);
        h = p * L->stride_h - L->pad_top + rs / L->s * L->dil_h;
        w = q * L->stride_w - L->pad_left + rs % L->s * L->dil_w;
    } else {
        int64_t wp = L->w + L->pad_left + L->pad_right;
        int64_t r = e % L->r, x = (e / L->r) % wp, p = (e / (L->r * wp)) % L->p;
        plane = e / (L->r * wp * L->p);
        h = p * L->stride_h - L->pad_top + r * L->dil_h;
        w = x - L->pad_left;
    }
    return h >= 0 && h < L->h && w >= 0 && w < L->w ? in[(plane * L->h + h) * L->w + w] : 0.0f;
}

static size_t round32(size_t bytes) { return (bytes + 31) / 32 * 32; }

/* Runs one (layer, config) of im2col or im2win through the plan's launches on the CPU. */
static void check_case(const char *spec, const char *cfg_text, int sms)
{
    iob_layer L;
    iob_config cfg;
    iob_machine m;
    iob_error err = {0};
    iob_plan plan;
    assert_int_equal(iob_layer_parse(spec, &L, &err), IOB_OK);
    assert_int_equal(iob_config_parse(cfg_text, &cfg, &err), IOB_OK);
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    if (sms)
        m.sm_count = sms;
    const iob_band_algo *a = cfg.algo == IOB_ALGO_IM2COL ? &iob_band_im2col : &iob_band_im2win;
    iob_band_setup s;
    if (iob_plan_build(&L, &cfg, &m, &plan, &err) || iob_band_setup_get(a, &L, &cfg, &m, &s, &err))
        fail_msg("%s | %s: %s", spec, cfg_text, err.msg);
    char what[512];
    snprintf(what, sizeof what, "%s | %s (%d SMs)", spec, cfg_text, m.sm_count);
    size_t nx = (size_t)(L.n * L.c * L.h * L.w), nf = (size_t)(L.k * (L.c / L.groups) * L.r * L.s);
    size_t ny = (size_t)(L.n * L.k * L.p * L.q), nws = (size_t)s.g.ws_floats;
    assert_int_equal(plan.work_bytes[2], (int64_t)round32(nws * 4));
    float *in = calloc(1, round32(nx * 4)), *f = malloc(nf * 4), *ws = malloc(round32(nws * 4));
    float *out = malloc(ny * 4);
    double *ref = malloc(ny * sizeof *ref);
    unsigned seed = 777;
    for (size_t i = 0; i < nx; i++)
        in[i] = (float)((int)(rand_r(&seed) % 7) - 3);
    for (size_t i = 0; i < nf; i++)
        f[i] = (float)((int)(rand_r(&seed) % 5) - 2);
    memset(ws, 0xff, round32(nws * 4)); /* NaN: every workspace float must be written */

    /* the transform: the kernel source itself */
    void *lib = compile_kernel(&plan.launch[0]);
    emu_counts cnt;
    run2(lib, &plan.launch[0], in, ws, 1, &cnt);
    for (size_t e = 0; e < nws; e++) {
        float want = ws_value(&L, a->kind, in, (int64_t)e);
        if (memcmp(&ws[e], &want, 4))
            fail_msg("%s: workspace float %zu is %g, expected %g", what, e, ws[e], want);
    }
    iob_band_counts c;
    iob_band_count(&L, &s.g, &c);
    assert_int_equal(cnt.cp_async_bytes, 16 * (uint64_t)c.pieces);
    assert_int_equal(cnt.lds_bytes, 4 * (uint64_t)c.lds_words);
    assert_int_equal(cnt.sts_bytes, 0);
    iob_trace tr;
    assert_int_equal(iob_trace_build(&L, &cfg, &m, &tr, &err), IOB_OK);
    compare_with_trace(lib, &tr, in, (int64_t)round32(nx * 4), ws, (int64_t)round32(nws * 4),
                       what);
    iob_trace_free(&tr);

    /* the derived layer's filter: the layer's own memory (im2col), [k][c][s][r] (im2win) */
    const iob_layer *D = &s.derived;
    float *df = malloc(nf * 4);
    int64_t RS = L.r * L.s;
    for (size_t e = 0; e < nf; e++) {
        int64_t kc = (int64_t)e / RS, rs = (int64_t)e % RS;
        df[e] = a->kind == BM_IM2COL ? f[e] : f[kc * RS + (rs % L.r) * L.s + rs / L.r];
    }
    if (a->kind == BM_IM2WIN) {
        /* the prep kernel against the direct kernel's reorder of that filter */
        int64_t nft = s.dg.ws_filter_bytes / 4;
        assert_int_equal(plan.work_bytes[1], s.dg.ws_filter_bytes);
        float *ft = malloc((size_t)nft * 4);
        memset(ft, 0xff, (size_t)nft * 4);
        void *plib = compile_kernel(&plan.prep[0]);
        run2(plib, &plan.prep[0], f, ft, 0, &cnt);
        dm_geom G;
        iob_direct_map_fill(D, &s.dcfg, &s.dg, &G);
        for (int64_t e = 0; e < nft; e++) {
            long long src = dm_f_source(&G, e);
            float want = src >= 0 ? df[src] : 0.0f;
            if (memcmp(&ft[e], &want, 4))
                fail_msg("%s: filter workspace float %lld is %g, expected %g", what,
                         (long long)e, ft[e], want);
        }
        free(ft);
    }
    /* the direct kernel on the derived layer, reading the workspace */
    for (size_t i = 0; i < ny; i++)
        out[i] = NAN;
    direct_emulate(D, &s.dcfg, &s.dg, ws, df, out);
    direct_reference(&L, in, f, ref);
    for (size_t i = 0; i < ny; i++)
        if (!(out[i] == (float)ref[i]))
            fail_msg("%s: output %zu is %g, expected %g", what, i, out[i], ref[i]);
    print_message("  %-62s %-86s ok (band %d)\n", spec, cfg_text + 0, s.g.map.band);
    free(in);
    free(f);
    free(df);
    free(ws);
    free(out);
    free(ref);
}

static void test_im2col(void **state)
{
    (void)state;
    /* odd sizes, batch 2, pad 1: bands of one row; 3 stages, several images per block */
    check_case("n=2,c=3,h=7,w=9,k=5,r=3,pad=1",
               "algo=im2col,tile_k=8,tile_p=4,tile_q=8,tile_c=4,micro_k=4,micro_p=1,micro_q=2,"
               "stages=3", 0);
    check_case("n=2,c=3,h=7,w=9,k=5,r=3,pad=1",
               "algo=im2col,tile_k=8,tile_p=8,tile_q=16,tile_c=2,micro_k=2,micro_p=1,micro_q=4,"
               "tile_n=2", 1);
    /* stride 2, groups, split over the C*R*S channels, bands of every row */
    check_case("n=1,c=8,h=9,w=10,k=8,r=3,stride=2,pad=1,groups=2",
               "algo=im2col,tile_k=4,tile_p=2,tile_q=4,tile_c=4,micro_k=2,micro_p=1,micro_q=2,"
               "split_c=3", 1);
    /* dilation along both axes, asymmetric padding, a rectangular filter */
    check_case("n=1,c=3,h=10,w=11,k=4,r=3,s=2,dil_h=2,dil_w=3,pad_top=2,pad_bottom=1,pad_left=1,"
               "pad_right=2",
               "algo=im2col,tile_k=4,tile_p=4,tile_q=4,tile_c=8,micro_k=4,micro_p=1,micro_q=1,"
               "stages=2", 0);
    /* 5x5 stride 3 */
    check_case("n=1,c=2,h=14,w=13,k=3,r=5,stride=3,pad=2",
               "algo=im2col,tile_k=3,tile_p=2,tile_q=4,tile_c=4,micro_k=1,micro_p=1,micro_q=2", 1);
}

static void test_im2win(void **state)
{
    (void)state;
    check_case("n=2,c=3,h=7,w=9,k=5,r=3,pad=1",
               "algo=im2win,tile_k=8,tile_p=4,tile_q=8,tile_c=2,micro_k=4,micro_p=1,micro_q=2,"
               "stages=2", 0);
    check_case("n=2,c=3,h=7,w=9,k=5,r=3,pad=1",
               "algo=im2win,tile_k=8,tile_p=8,tile_q=16,tile_c=1,micro_k=2,micro_p=1,micro_q=4,"
               "tile_n=2", 1);
    /* stride 2, groups, a split */
    check_case("n=1,c=8,h=9,w=10,k=8,r=3,stride=2,pad=1,groups=2",
               "algo=im2win,tile_k=4,tile_p=2,tile_q=4,tile_c=2,micro_k=2,micro_p=1,micro_q=2,"
               "split_c=2", 1);
    /* dilation along h, asymmetric padding, a rectangular filter */
    check_case("n=1,c=3,h=10,w=11,k=4,r=3,s=2,dil_h=2,pad_top=2,pad_bottom=1,pad_left=1,"
               "pad_right=2",
               "algo=im2win,tile_k=4,tile_p=4,tile_q=4,tile_c=2,micro_k=4,micro_p=1,micro_q=1,"
               "stages=3", 0);
    check_case("n=1,c=2,h=14,w=13,k=3,r=5,stride=3,pad=2",
               "algo=im2win,tile_k=3,tile_p=2,tile_q=4,tile_c=2,micro_k=1,micro_p=1,micro_q=2", 1);
}

/* the best configs (traffic and time) of a few layers, and 5 configs spread over one space */
static void test_best_and_sampled(void **state)
{
    (void)state;
    static const char *const layers[] = {"n=2,c=6,h=9,w=8,k=10,r=3,pad=1",
                                         "n=1,c=4,h=12,w=11,k=8,r=3,stride=2,pad=1,groups=2"};
    iob_machine m;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    for (int a = IOB_ALGO_IM2COL; a <= IOB_ALGO_IM2WIN; a++)
        for (size_t li = 0; li < sizeof layers / sizeof layers[0]; li++) {
            iob_layer L;
            iob_config c;
            char text[256];
            assert_int_equal(iob_layer_parse(layers[li], &L, &err), IOB_OK);
            for (int obj = IOB_OBJ_TRAFFIC; obj <= IOB_OBJ_TIME; obj++) {
                if (iob_dataflow_best(&L, (iob_algo)a, &m, (iob_objective)obj, &c, NULL, &err))
                    fail_msg("%s: %s", layers[li], err.msg);
                iob_config_format(&c, text, sizeof text);
                check_case(layers[li], text, 0);
            }
            if (li)
                continue;
            iob_config *all;
            size_t n;
            assert_int_equal(iob_dataflow_enumerate(&L, (iob_algo)a, &m, &all, &n, &err), IOB_OK);
            for (size_t j = 0; j < 5; j++) {
                iob_config_format(&all[j * (n - 1) / 4], text, sizeof text);
                check_case(layers[li], text, 0);
            }
            free(all);
        }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_im2col),
        cmocka_unit_test(test_im2win),
        cmocka_unit_test(test_best_and_sampled),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
