/* test_im2_dataflow.c - im2col + GEMM and im2win as "a transform + the direct kernel on a derived
 * layer" (model/band.c, model/im2col.c, model/im2win.c): the closed form against the brute-force
 * trace (sim/trace_band.c + sim/trace_direct.c) for every config of small layers' spaces (SM<->L2
 * read and write sectors, equality), the transform's counts against a literal walk of its map,
 * the derived layers and the resources by hand, the predicted traffic never below the bound, and
 * bad or unsupported inputs rejected with their reasons. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/dataflow.h"
#include "iobound/trace.h"
#include "model/band_model.h"
#include "tests/model_check.h"

static iob_machine machine(int sms)
{
    iob_machine m = h100();
    if (sms)
        m.sm_count = sms; /* few SMs: bands of many rows (the band shrinks to fill the SMs) */
    return m;
}

static const char *const small_layers[] = {
    "n=2,c=3,h=7,w=9,k=5,r=3,pad=1",                                      /* odd, batch 2 */
    "n=1,c=4,h=9,w=8,k=8,r=3,stride=2,pad=1",                             /* stride 2 */
    "n=1,c=8,h=6,w=7,k=8,r=3,pad=1,groups=2",                             /* groups */
    "n=1,c=3,h=10,w=11,k=4,r=3,s=2,dil_h=2,pad_top=2,pad_bottom=1,pad_left=1", /* dil_h, asym. */
    "n=2,c=5,h=8,w=8,k=6,r=1,stride=2",                                   /* 1x1 stride 2 */
    "n=1,c=2,h=12,w=13,k=3,r=5,stride=2,pad=2",                           /* 5x5 stride 2 */
    "n=1,c=2,h=9,w=10,k=4,r=3,dil_w=2,pad=2",                             /* dil_w: im2col only */
};
#define NSMALL (sizeof small_layers / sizeof small_layers[0])

/* Every config of each small layer (every 3rd where the space is large), on the H100 (bands of
 * one row: the layers have few planes) and on a 1-SM machine (bands of every row): closed form ==
 * trace, and never below the bound. */
static void every_config(iob_algo algo)
{
    size_t total = 0, multi_row = 0, split = 0;
    for (int sms = 0; sms <= 1; sms++) {
        iob_machine m = machine(sms);
        iob_bound_opts bo = iob_bound_opts_for(&m, 4);
        for (size_t li = 0; li < NSMALL; li++) {
            iob_layer L = layer(small_layers[li]);
            iob_config *all;
            size_t n;
            iob_error err = {0};
            assert_int_equal(iob_dataflow_enumerate(&L, algo, &m, &all, &n, &err), IOB_OK);
            if (algo == IOB_ALGO_IM2WIN && L.dil_w > 1) {
                assert_int_equal(n, 0);
                assert_non_null(strstr(err.msg, "dil_w"));
                free(all);
                continue;
            }
            assert_true(n > 50);
            iob_bound b[4];
            int nb;
            assert_int_equal(iob_bound_layer(&L, algo, &bo, b, 4, &nb, &err), IOB_OK);
            size_t step = n > 1500 ? 3 : 1;
            for (size_t i = 0; i < n; i += step) {
                iob_traffic t;
                char buf[256];
                iob_config_format(&all[i], buf, sizeof buf);
                if (iob_dataflow_predict(&L, &all[i], &m, &t, &err))
                    fail_msg("%s %s: predict: %s", small_layers[li], buf, err.msg);
                trace_sectors c = trace_count(&L, &all[i], &m, 0, 4);
                if (c.reads != t.l2_read_sectors || c.writes != t.l2_write_sectors)
                    fail_msg("%s %s (%d SMs): trace %llu/%llu sectors, model %llu/%llu",
                             small_layers[li], buf, m.sm_count, (unsigned long long)c.reads,
                             (unsigned long long)c.writes, (unsigned long long)t.l2_read_sectors,
                             (unsigned long long)t.l2_write_sectors);
                double bytes = (double)(t.l2_read_bytes + t.l2_write_bytes);
                if (bytes < iob_bound_bytes(&b[0], b[0].bound_gpu))
                    fail_msg("%s %s: %.0f bytes below the bound %.0f", small_layers[li], buf,
                             bytes, iob_bound_bytes(&b[0], b[0].bound_gpu));
                iob_band_setup s;
                assert_int_equal(iob_band_setup_get(algo == IOB_ALGO_IM2COL ? &iob_band_im2col
                                                                            : &iob_band_im2win,
                                                    &L, &all[i], &m, &s, &err),
                                 IOB_OK);
                multi_row += s.g.map.band > 1;
                split += all[i].split_c > 1;
                total++;
            }
            free(all);
        }
    }
    print_message("%s: %zu configs, closed form == trace (%zu with bands of several rows, %zu "
                  "split)\n", iob_algo_name(algo), total, multi_row, split);
    assert_true(total > 3000 && multi_row > 1000 && split > 50);
}

static void test_im2col_every_config(void **state)
{
    (void)state;
    every_config(IOB_ALGO_IM2COL);
}

static void test_im2win_every_config(void **state)
{
    (void)state;
    every_config(IOB_ALGO_IM2WIN);
}

/* The transform's counts against its map walked literally: issued copies, the non-padding
 * floats it reads from shared memory, and the trace's transform kernel alone against the closed
 * form's sectors; on the small layers and on a wide one whose bands are cut by shared memory. */
static void test_transform_counts(void **state)
{
    (void)state;
    static const char *const extra[] = {"n=1,c=2,h=20,w=1500,k=2,r=3,pad=1",
                                        "n=2,c=1,h=30,w=700,k=2,r=5,stride=2,dil_h=2,pad=3"};
    const iob_band_algo *algos[2] = {&iob_band_im2col, &iob_band_im2win};
    size_t smem_cut = 0;
    for (int sms = 0; sms <= 1; sms++)
        for (size_t li = 0; li < NSMALL + 2; li++)
            for (int a = 0; a < 2; a++) {
                iob_machine m = machine(sms);
                const char *spec = li < NSMALL ? small_layers[li] : extra[li - NSMALL];
                iob_layer L = layer(spec);
                iob_band_geom g;
                iob_error err;
                if (algos[a]->kind == BM_IM2WIN && L.dil_w > 1)
                    continue;
                assert_int_equal(iob_band_geom_get(&L, algos[a]->kind, &m, &g, &err), IOB_OK);
                iob_band_counts c;
                iob_band_count(&L, &g, &c);
                int64_t pieces = 0, words = 0, stores = 0;
                for (int64_t b = 0; b < g.blocks; b++) {
                    bm_block B = bm_block_at(&g.map, b);
                    for (int e = 0; e < B.slots; e++) {
                        int at;
                        long long src;
                        if (bm_copy(&B, e, &at, &src)) {
                            pieces++;
                            assert_true(at >= 0 && at + 4 <= g.smem_floats);
                        }
                    }
                    for (int e = 0; e < g.map.runs * g.map.run_slots; e++) {
                        long long dst;
                        int at;
                        if (bm_store(&g.map, &B, e, &dst, &at)) {
                            stores++;
                            words += at >= 0;
                            assert_true(dst >= 0 && dst < g.ws_floats);
                        }
                    }
                }
                assert_int_equal(pieces, c.pieces);
                assert_int_equal(words, c.lds_words);
                assert_int_equal(stores, g.ws_floats); /* every workspace float once */
                /* any config: the transform's kernel is the trace's first */
                iob_config cfg = config("algo=direct,tile_k=2,tile_p=2,tile_q=4,tile_c=4,"
                                        "micro_k=1,micro_p=1,micro_q=1");
                cfg.algo = algos[a]->algo;
                trace_sectors t = trace_count(&L, &cfg, &m, 0, 1);
                assert_int_equal(t.reads, c.read_sectors);
                assert_int_equal(t.writes, c.write_sectors);
                smem_cut += g.map.band < L.p && g.blocks >= 2 * m.sm_count;
            }
    assert_true(smem_cut >= 2);
}

/* res2.3x3 at batch 32 by hand: the derived layers, the band geometry, the resources */
static void test_by_hand(void **state)
{
    (void)state;
    iob_machine m = machine(0);
    iob_layer L = layer("n=32,c=64,h=56,k=64,r=3,pad=1");
    iob_config cfg = config("algo=im2col,tile_k=64,tile_p=8,tile_q=56,tile_c=32,micro_k=8,"
                            "micro_p=1,micro_q=8,stages=2");
    iob_error err;
    iob_band_setup s;
    assert_int_equal(iob_band_setup_get(&iob_band_im2col, &L, &cfg, &m, &s, &err), IOB_OK);
    /* 1x1 over C*R*S = 576 channels of 56 x 56 */
    assert_int_equal(s.derived.c, 576);
    assert_int_equal(s.derived.h, 56);
    assert_int_equal(s.derived.w, 56);
    assert_int_equal(s.derived.r * s.derived.s, 1);
    assert_int_equal(s.derived.p * s.derived.q, 56 * 56);
    /* 2048 planes >= 2 x 132: no split for parallelism; the 56 image rows x 56 = 3136 floats
     * fit 48 KiB: one band of all 56 output rows */
    assert_int_equal(s.g.map.band, 56);
    assert_int_equal(s.g.map.bands, 1);
    assert_int_equal(s.g.blocks, 2048);
    assert_int_equal(s.g.smem_floats, (56 * 56 + 6) / 4 * 4); /* rows clipped to the image */
    assert_int_equal(s.g.map.runs, 9);
    assert_int_equal(s.g.map.run_slots, 3168); /* 56*56 + 7 rounded up to 32 */
    assert_int_equal(s.g.ws_floats, 32LL * 64 * 9 * 56 * 56);
    iob_resources res, dres;
    assert_int_equal(iob_dataflow_check(&L, &cfg, &m, &res, &err), IOB_OK);
    iob_config dcfg = cfg;
    dcfg.algo = IOB_ALGO_DIRECT;
    assert_int_equal(iob_dataflow_check(&s.derived, &dcfg, &m, &dres, &err), IOB_OK);
    assert_int_equal(res.workspace_bytes, dres.workspace_bytes + 4 * 32LL * 64 * 9 * 56 * 56);
    assert_int_equal(res.kernels, dres.kernels + 1);
    assert_int_equal(res.threads, dres.threads);
    /* the transform's traffic: every plane reads 56*56 floats from a sector boundary (3136 =
     * 392 sectors), every col plane (n, c, r, s) of 3136 floats is 392 sectors */
    iob_band_counts c;
    iob_band_count(&L, &s.g, &c);
    assert_int_equal(c.read_sectors, 2048LL * 392);
    assert_int_equal(c.write_sectors, 2048LL * 9 * 392);
    assert_int_equal(c.pieces, 2048LL * 784);
    /* the taps that read the image, per axis: 55 + 56 + 55 = 166 output rows (columns) */
    assert_int_equal(c.lds_words, 2048LL * 166 * 166);

    cfg.algo = IOB_ALGO_IM2WIN;
    cfg.tile_c = 8; /* patch rows of 3*55 + 9 = 174 floats: 32 channels would not fit */
    assert_int_equal(iob_band_setup_get(&iob_band_im2win, &L, &cfg, &m, &s, &err), IOB_OK);
    /* N x 64 x 56 x (58*3), filter 1 x 9, stride (1, 3): Q' = (174 - 9)/3 + 1 = 56 */
    assert_int_equal(s.derived.c, 64);
    assert_int_equal(s.derived.h, 56);
    assert_int_equal(s.derived.w, 174);
    assert_int_equal(s.derived.r, 1);
    assert_int_equal(s.derived.s, 9);
    assert_int_equal(s.derived.stride_w, 3);
    assert_int_equal(s.derived.q, 56);
    assert_int_equal(s.g.map.wp, 58);
    assert_int_equal(s.g.map.runs, 56);
    assert_int_equal(s.g.map.run_slots, 192); /* 174 + 7 rounded up to 32 */
    assert_int_equal(s.g.ws_floats, 32LL * 64 * 56 * 174);
    iob_band_count(&L, &s.g, &c);
    assert_int_equal(c.read_sectors, 2048LL * 392);
    /* rows of 174 floats from j*174: residues 0, 6, 4, 2 repeat; 22, 23, 23, 22 sectors */
    assert_int_equal(c.write_sectors, 2048LL * 56 / 4 * (22 + 23 + 23 + 22));
    assert_int_equal(c.lds_words, 2048LL * 166 * 56);
}

static void expect(const char *lspec, const char *cspec, iob_status code, const char *reason)
{
    iob_machine m = machine(0);
    iob_layer L = layer(lspec);
    iob_config c = config(cspec);
    iob_resources res;
    iob_error err = {0};
    assert_int_equal(iob_dataflow_check(&L, &c, &m, &res, &err), code);
    if (!strstr(err.msg, reason))
        fail_msg("'%s' does not say '%s'", err.msg, reason);
}

static void test_rejections(void **state)
{
    (void)state;
    const char *ok = "n=1,c=16,h=14,k=16,r=3,pad=1";
    const char *cfg = "tile_k=16,tile_p=2,tile_q=14,tile_c=4,micro_k=4,micro_p=1,micro_q=2";
    char text[256];
    snprintf(text, sizeof text, "algo=im2win,%s", cfg);
    expect("n=1,c=16,h=14,k=16,r=3,pad=2,dil=2", text, IOB_EINFEASIBLE, "dil_w = 1");
    /* one output row's input band over 227 KiB: 3 rows of 20000 floats */
    snprintf(text, sizeof text, "algo=im2col,%s", cfg);
    expect("n=1,c=1,h=4,w=20000,k=4,r=3", text, IOB_EINFEASIBLE, "shared memory per block");
    expect(ok, "algo=im2col,tile_k=16,tile_p=2,tile_q=14,tile_c=4,micro_k=3,micro_p=1,micro_q=2",
           IOB_EINFEASIBLE, "derived layer");
    expect(ok, "algo=im2win,tile_k=16,tile_p=2,tile_q=14,tile_c=0,micro_k=4,micro_p=1,micro_q=2",
           IOB_EINVAL, "tile_c=0");
    expect(ok, "algo=im2col,wino_m=2,tile_k=16,tile_p=2,tile_q=14,tile_c=4,micro_k=4,micro_p=1,"
               "micro_q=2", IOB_EINVAL, "Winograd");
    /* C*R*S past 2^31 - 1 */
    expect("n=1,c=300000,h=3,w=3000,k=1,r=3,s=3000", text, IOB_ERANGE, "C*R*S");
    /* a config of another algorithm, through the composite's own ops */
    iob_machine m = machine(0);
    iob_layer L = layer(ok);
    iob_resources res;
    iob_error err = {0};
    iob_config d = config("algo=direct,tile_k=16,tile_p=2,tile_q=14,tile_c=4,micro_k=4,"
                          "micro_p=1,micro_q=2");
    assert_int_equal(iob_band_check(&iob_band_im2col, &L, &d, &m, &res, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "not an im2col config"));
    /* layers the transform cannot take have no configs, and say why */
    iob_config *all;
    size_t n;
    L = layer("n=1,c=1,h=4,w=20000,k=4,r=3");
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_IM2WIN, &m, &all, &n, &err), IOB_OK);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "exceeds"));
    free(all);
    iob_traffic t;
    assert_int_equal(iob_dataflow_best(&L, IOB_ALGO_IM2COL, &m, IOB_OBJ_TRAFFIC, &d, &t, &err),
                     IOB_EINFEASIBLE);
}

/* The direct closed form remembers its store sums per (tile_k, tile_p, tile_q); a block of
 * tile_n whole images stores one run, so the key needs tile_n too. This derived layer of im2col
 * (2 images of 5 x 7 x 9 outputs: 315 floats, not a multiple of 8) caught it: a config with
 * tile_n = 0 (two runs, 80 sectors) followed by its tile_n = 2 twin (one run, 79). */
static void test_direct_store_memo(void **state)
{
    (void)state;
    iob_machine m = machine(0);
    iob_layer L = layer("n=2,c=27,h=7,w=9,k=5,r=1");
    const char *base = "algo=direct,tile_k=8,tile_p=8,tile_q=16,tile_c=2,micro_k=2,micro_p=1,"
                       "micro_q=4";
    const int tn[3] = {0, 2, 0};
    const uint64_t want[3] = {80, 79, 80};
    for (int i = 0; i < 3; i++) {
        char text[200];
        snprintf(text, sizeof text, "%s,tile_n=%d", base, tn[i]);
        iob_config c = config(text);
        iob_traffic t;
        iob_error err;
        assert_int_equal(iob_dataflow_predict(&L, &c, &m, &t, &err), IOB_OK);
        assert_int_equal(t.l2_write_sectors, want[i]);
        assert_int_equal(trace_count(&L, &c, &m, 0, 4).writes, want[i]);
    }
}

/* im2win's space keeps the register tiles whose patch operands per step, S' * micro_p * micro_q
 * with S' = R*S, stay within 128 (above, ptxas spilled or passed the register budget); check still
 * takes the others. im2col's space is the direct kernel's on its derived layer, whole. */
static void test_space_rules(void **state)
{
    (void)state;
    iob_machine m = machine(0);
    iob_layer L = layer("n=1,c=8,h=20,k=16,r=5,pad=2");
    iob_config *all, *d;
    size_t n, nd;
    iob_error err;
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_IM2WIN, &m, &all, &n, &err), IOB_OK);
    assert_true(n > 100);
    for (size_t i = 0; i < n; i++)
        assert_true(25 * all[i].micro_p * all[i].micro_q <= 128);
    free(all);
    iob_config big = config("algo=im2win,tile_k=16,tile_p=4,tile_q=8,tile_c=2,micro_k=4,"
                            "micro_p=2,micro_q=4");
    iob_resources res;
    assert_int_equal(iob_dataflow_check(&L, &big, &m, &res, &err), IOB_OK);
    iob_band_setup s;
    iob_config one = config("algo=im2col,tile_k=8,tile_p=2,tile_q=4,tile_c=4,micro_k=1,"
                            "micro_p=1,micro_q=1");
    assert_int_equal(iob_band_setup_get(&iob_band_im2col, &L, &one, &m, &s, &err), IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_IM2COL, &m, &all, &n, &err), IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&s.derived, IOB_ALGO_DIRECT, &m, &d, &nd, &err),
                     IOB_OK);
    assert_int_equal(n, nd);
    free(all);
    free(d);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_store_memo),
        cmocka_unit_test(test_by_hand),
        cmocka_unit_test(test_rejections),
        cmocka_unit_test(test_space_rules),
        cmocka_unit_test(test_transform_counts),
        cmocka_unit_test(test_im2col_every_config),
        cmocka_unit_test(test_im2win_every_config),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
