/* test_direct_model.c - the direct dataflow's closed form against a brute-force trace of every
 * config of small layers' spaces (SM<->L2 sectors, equality), against a literal count of the
 * thread loop nest (shared-memory bytes, FFMA), the resource model against hand-computed configs,
 * and infeasible configs rejected with the right reason. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <omp.h>

#include "iobound/dataflow.h"
#include "iobound/trace.h"
#include "model/direct_model.h"
#include "tests/model_check.h"

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* Distinct values among n. */
static int distinct(int64_t *v, int n)
{
    qsort(v, (size_t)n, sizeof v[0], cmp_i64);
    int d = 0;
    for (int i = 0; i < n; i++)
        d += i == 0 || v[i] != v[i - 1];
    return d;
}

/* The shared-memory bytes of one chunk's main loop in block 0, literally: every warp-wide load
 * instruction (one per distinct per-thread offset of a (channel, filter row) iteration, the
 * compiler loading a repeated address once) counts the distinct addresses of its lanes x 4
 * bytes per word; and the chunk's FFMAs. */
static void loop_nest_one_chunk(const iob_layer *L, const iob_config *cfg,
                                const iob_direct_geom *g, uint64_t *bytes, uint64_t *ffma)
{
    dm_geom G;
    iob_direct_map_fill(L, cfg, g, &G);
    dm_block B = dm_block_at(&G, 0, 0, 0);
    *bytes = 0;
    *ffma = (uint64_t)g->threads * cfg->tile_c * L->r * L->s * cfg->micro_k * cfg->micro_p *
            cfg->micro_q;
    /* a thread's distinct patch offsets of one (c, r, pi) and filter offsets of one (c, r) */
    int64_t xoff[1024], foff[1024], addr[32];
    int nx = 0, nf = 0;
    int64_t qstep_j = g->q_window ? 1 : g->tqt;
    for (int j = 0; j < cfg->micro_q; j++)
        for (int64_t s = 0; s < L->s; s++)
            xoff[nx++] = g->vec_q ? (j / 4) * g->tqt * 4 + j % 4
                                  : j * qstep_j * L->stride_w + s * L->dil_w;
    nx = distinct(xoff, nx);
    for (int64_t s = 0; s < L->s; s++)
        for (int i = 0; i < cfg->micro_k; i++)
            foff[nf++] = s * g->tkp + (g->vec_k ? (i / 4) * g->tkt * 4 + i % 4 : i * g->tkt);
    for (int w = 0; w < g->threads; w += 32) {
        int lanes = g->threads - w < 32 ? g->threads - w : 32;
        for (int c = 0; c < cfg->tile_c; c++)
            for (int r = 0; r < L->r; r++) {
                for (int pi = 0; pi < cfg->micro_p; pi++)
                    for (int x = 0; x < nx; x++) {
                        for (int l = 0; l < lanes; l++) {
                            int tk, tn, tp, tq, cc, n, h, y;
                            dm_thread(&G, w + l, &tk, &tn, &tp, &tq);
                            int row = (c * G.tile_n + tn) * g->ih +
                                      (tp * cfg->micro_p + pi) * (int)L->stride_h + r * (int)L->dil_h;
                            long long gw = dm_in_row(&G, &B, B.ch_first, row, &cc, &n, &h, &y);
                            int64_t q0 = g->vec_q ? tq * 4
                                                  : tq * (g->q_window ? cfg->micro_q : 1) * L->stride_w;
                            addr[l] = (int64_t)row * g->iw_pitch + dm_in_shift(&G, gw) + q0 + xoff[x];
                        }
                        *bytes += 4 * (uint64_t)distinct(addr, lanes);
                    }
                for (int f = 0; f < nf; f++) {
                    for (int l = 0; l < lanes; l++) {
                        int tk, tn, tp, tq;
                        dm_thread(&G, w + l, &tk, &tn, &tp, &tq);
                        addr[l] = ((int64_t)c * L->r * L->s + r * L->s) * g->tkp +
                                  (g->vec_k ? tk * 4 : tk) + foff[f];
                    }
                    *bytes += 4 * (uint64_t)distinct(addr, lanes);
                }
            }
    }
}

/* The shared-memory writes of the whole run, literally: 16 bytes per issued cp.async, 4 per
 * word of the left-edge fix-up, 4 per staged output of every thread. */
static uint64_t smem_writes(const iob_layer *L, const iob_config *cfg, const iob_direct_geom *g)
{
    dm_geom G;
    iob_direct_map_fill(L, cfg, g, &G);
    uint64_t bytes = 0;
    for (int bz = 0; bz < g->grid[2]; bz++)
        for (int by = 0; by < g->grid[1]; by++)
            for (int bx = 0; bx < g->grid[0]; bx++) {
                dm_block B = dm_block_at(&G, bx, by, bz);
                for (int i = 0; i < B.nch; i++) {
                    for (int e = 0; e < cfg->tile_c * G.tile_n * g->ih * g->in_slots; e++)
                        bytes += 16 * (uint64_t)dm_in_copy(&G, &B, B.ch_first + i, e).issue;
                    for (int e = 0; e < g->f_slots; e++)
                        bytes += 16 * (uint64_t)dm_f_copy(&G, &B, B.ch_first + i, e).issue;
                    for (int row = 0; g->left_fix && row < cfg->tile_c * G.tile_n * g->ih; row++) {
                        int at;
                        bytes += 4 * (uint64_t)dm_in_fix(&G, &B, B.ch_first + i, row, &at);
                    }
                }
                bytes += 4 * (uint64_t)g->threads * cfg->micro_k * cfg->micro_p * cfg->micro_q;
            }
    return bytes;
}

static const char *const small_layers[] = {
    "n=1,c=5,h=9,w=9,k=6,r=3,pad=1",
    "n=2,c=4,h=8,w=8,k=8,r=3,stride=2,pad=1",
    "n=1,c=6,h=11,w=7,k=4,r=3,s=2,dil_h=2,pad_top=2,pad_bottom=1,pad_left=1",
    "n=1,c=8,h=6,w=10,k=8,r=3,groups=2,pad=1",
    "n=2,c=12,h=8,w=8,k=16,r=1",
    "n=1,c=3,h=13,w=12,k=5,r=3,stride=3",
    "n=1,c=3,h=6,w=12,k=4,r=3,pad=1",
    "n=1,c=4,h=8,w=8,k=12,r=1,stride=2",
    "n=3,c=7,h=5,w=4,k=9,r=2,s=3,dil_w=2,pad=2",
    "n=2,c=24,h=1,w=1,k=6,r=1", /* a squeeze-excitation FC: planes smaller than a sector, K < 8 */
};

static void test_every_config_matches_trace(void **state)
{
    (void)state;
    iob_machine m = h100();
    size_t total = 0, split = 0, vec_q = 0, vec_in = 0, clipped = 0, window = 0, tile_n = 0;
    size_t fix = 0, runs = 0;
    for (size_t li = 0; li < sizeof small_layers / sizeof small_layers[0]; li++) {
        iob_layer L = layer(small_layers[li]);
        iob_config *all;
        size_t n;
        iob_error err;
        assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_DIRECT, &m, &all, &n, &err), IOB_OK);
        assert_true(n > 0);
        for (size_t i = 0; i < n; i++) {
            iob_traffic t;
            if (iob_dataflow_predict(&L, &all[i], &m, &t, &err))
                fail_msg("predict: %s", err.msg);
            trace_sectors tc = trace_count(&L, &all[i], &m, 0, -1);
            uint64_t reads = tc.reads, writes = tc.writes;
            if (reads != t.l2_read_sectors || writes != t.l2_write_sectors) {
                char buf[256];
                iob_config_format(&all[i], buf, sizeof buf);
                fail_msg("%s %s: trace %llu/%llu sectors, model %llu/%llu", small_layers[li], buf,
                         (unsigned long long)reads, (unsigned long long)writes,
                         (unsigned long long)t.l2_read_sectors,
                         (unsigned long long)t.l2_write_sectors);
            }
            iob_direct_geom g;
            iob_direct_geom_get(&L, &all[i], &g);
            uint64_t bytes, ffma;
            loop_nest_one_chunk(&L, &all[i], &g, &bytes, &ffma);
            uint64_t block_chunks = (uint64_t)(g.grid_blocks / all[i].split_c) * (uint64_t)g.chunks;
            assert_int_equal(t.smem_read_bytes,
                             bytes * block_chunks + 4 * (uint64_t)all[i].split_c * g.elems_out);
            assert_int_equal(t.ffma, ffma * block_chunks);
            assert_int_equal(t.smem_write_bytes, smem_writes(&L, &all[i], &g));
            total++;
            split += all[i].split_c > 1;
            vec_q += g.vec_q;
            window += g.q_window;
            vec_in += g.in_shift < 0;
            tile_n += g.tn > 1;
            fix += g.left_fix;
            runs += g.out_run > 0;
            clipped += L.p % all[i].tile_p || L.q % all[i].tile_q || L.c % all[i].tile_c;
        }
        free(all);
    }
    print_message("%zu configs checked against the trace: %zu split, %zu with a shift per row, "
                  "%zu reading LDS.128 columns, %zu with window columns, %zu with clipped tiles "
                  "or chunks, %zu with several images, %zu with the left fix-up, %zu storing "
                  "whole planes or images\n", total, split, vec_in, vec_q, window, clipped, tile_n,
                  fix, runs);
    assert_true(total > 9000);
    assert_true(split > 100 && vec_q > 100 && vec_in > 1000 && clipped > 1000 && window > 100 &&
                tile_n > 100 && fix > 100 && runs > 100);
}

/* Checks a config that must fit; fills its resources and geometry. */
static void fits(const char *lspec, const char *cspec, iob_resources *res, iob_direct_geom *g)
{
    iob_machine m = h100();
    iob_layer L = layer(lspec);
    iob_config c = config(cspec);
    iob_error err;
    if (iob_dataflow_check(&L, &c, &m, res, &err))
        fail_msg("%s %s: %s", lspec, cspec, err.msg);
    iob_direct_geom_get(&L, &c, g);
}

/* vgg16.conv3_2 at batch 32 with a 64 x 8 x 16 tile, worked by hand in docs/model.md */
static void test_resources_by_hand(void **state)
{
    (void)state;
    iob_resources res;
    iob_direct_geom g;
    fits("n=32,c=256,h=56,k=256,r=3,pad=1", "algo=direct,tile_k=64,tile_p=8,tile_q=16,tile_c=8,micro_k=8,"
                          "micro_p=2,micro_q=4,stages=2", &res, &g);
    assert_int_equal(g.ih, 10);
    assert_int_equal(g.iw, 18);
    /* W and tile_q multiples of 8: one shift, (-1) mod 4 = 3, and one e8, (-1) mod 8 / 4 = 1 */
    assert_int_equal(g.in_shift, 3);
    assert_int_equal(g.in_e8, 1);
    assert_int_equal(g.in_pieces, 6); /* ceil((3 + 18) / 4) */
    assert_int_equal(g.in_slots, 8);  /* a skipped slot before the first piece, one after */
    assert_int_equal(g.iw_copy, 24);
    assert_int_equal(g.iw_pitch, 28); /* 24 puts rows 0 and 2 of a warp on one bank */
    assert_int_equal(g.f_e8, 0);
    assert_int_equal(g.f_slots, 8 * 9 * 64 / 4);
    assert_int_equal(g.out_run, 0);
    assert_int_equal(g.out_vec, 1);
    assert_int_equal(res.threads, 128);
    assert_int_equal(res.smem_bytes, 2 * (8 * 10 * 28 + 8 * 9 * 64) * 4);
    assert_int_equal(res.grid_blocks, 7 * 4 * 4 * 32);
    /* 64 accumulators + min(1 channel per step x (2 x 12 patch columns + 3 x 8 filter values),
     * 40) + 24 */
    assert_int_equal(g.c_unroll, 1);
    assert_int_equal(res.regs_per_thread, 128);
    /* registers: 4096 per warp, 4 warps per sub-partition, 16 warps = 4 blocks; shared: 4 */
    assert_int_equal(res.blocks_per_sm, 4);
    assert_int_equal(res.waves, 7); /* 3584 / 528 */
    assert_int_equal(res.workspace_bytes, 256 * 256 * 9 * 4);
    assert_int_equal(res.kernels, 1);
}

/* resnet50.res2.1x1b at batch 32: 1x1, 16-byte copies, LDS.128 columns, one row of threads */
static void test_resources_by_hand_pointwise(void **state)
{
    (void)state;
    iob_resources res;
    iob_direct_geom g;
    fits("n=32,c=256,h=56,k=64,r=1", "algo=direct,tile_k=64,tile_p=2,tile_q=32,tile_c=32,micro_k=8,"
                          "micro_p=2,micro_q=4,stages=2", &res, &g);
    assert_int_equal(g.in_shift, 0);
    assert_int_equal(g.in_slots, 8);
    assert_int_equal(g.vec_q, 1);
    assert_int_equal(g.vec_k, 1);
    assert_int_equal(g.iw_pitch, 32); /* one row of threads per warp: no conflict to avoid */
    assert_int_equal(g.x_distinct, 4);
    assert_int_equal(res.threads, 64);
    assert_int_equal(res.smem_bytes, 2 * (32 * 2 * 32 + 32 * 64) * 4); /* 32768 */
    /* 2 channels per step (4 would be 64 operands > 40): 64 + 2 x (2*4 + 8) + 24 */
    assert_int_equal(g.c_unroll, 2);
    assert_int_equal(res.regs_per_thread, 120);
    /* registers: 3840 per warp, 4 warps per sub-partition, 16 warps = 8 blocks; shared 6 */
    assert_int_equal(res.blocks_per_sm, 6);
    assert_int_equal(res.grid_blocks, 28 * 2 * 1 * 32);
    assert_int_equal(res.waves, 3); /* 1792 / 792 */
    assert_int_equal(res.workspace_bytes, 64 * 256 * 4);
}

/* resnet50.res5.3x3 at batch 1: W = 7 (a shift per row, the left fix-up), split over 16
 * blocks, tqt = 1, the tile spans the image (one output run per channel plane) */
static void test_resources_by_hand_split(void **state)
{
    (void)state;
    iob_resources res;
    iob_direct_geom g;
    fits("n=1,c=512,h=7,k=512,r=3,pad=1", "algo=direct,tile_k=64,tile_p=7,tile_q=7,tile_c=8,micro_k=4,"
                          "micro_p=1,micro_q=7,stages=2,split_c=16", &res, &g);
    assert_int_equal(g.in_shift, -1);
    assert_int_equal(g.in_e8, -1);
    assert_int_equal(g.left_fix, 1);
    assert_int_equal(g.in_pieces, 3); /* ceil((3 + 9) / 4) */
    /* rows meet inside sectors (the tile spans W = 7): the walk puts rows y, y+1 of a channel
     * tile_c = 8 rows apart, so 6 slots a row (6 x 7 >= 31) keep them out of one instruction */
    assert_int_equal(g.in_share, 1);
    assert_int_equal(g.in_slots, 6);
    assert_int_equal(g.iw_copy, 12);
    /* rows 0..6 of a warp at tp*12 words: banks 0,12,24,4,16,28,8, all distinct */
    assert_int_equal(g.iw_pitch, 12);
    assert_int_equal(g.x_distinct, 9); /* j + s, j < 7, s < 3 */
    assert_int_equal(g.out_run, 2);    /* tile_p >= P and tile_q >= Q: 64 planes in one run */
    assert_int_equal(g.out_vec, 0);    /* Q = 7 */
    assert_int_equal(g.out_slots, (64 * 49 + 14) / 8);
    assert_int_equal(res.threads, 112);
    assert_int_equal(res.smem_bytes, 2 * (8 * 9 * 12 + 8 * 9 * 64) * 4); /* 43776 */
    /* 1 channel per step (2 x 21 operands > 40): 28 + 21 + 24 = 73 -> 80 */
    assert_int_equal(g.c_unroll, 1);
    assert_int_equal(res.regs_per_thread, 80);
    /* registers: 2560 per warp, 6 per sub-partition, 24 warps = 6 blocks; shared memory 5 */
    assert_int_equal(res.blocks_per_sm, 5);
    assert_int_equal(res.grid_blocks, 1 * 8 * 16);
    assert_int_equal(res.waves, 1);
    assert_int_equal(res.workspace_bytes, 512 * 512 * 9 * 4 + 16 * 25088 * 4);
    assert_int_equal(res.kernels, 2);
}

/* vgg16.conv5_2 with the config of the H100's DRAM probe (device call 12, docs/counters.md "DRAM:
 * the L2's two partitions"): compulsory and exact while input + filter + output fit half the
 * 50 MiB L2 (batch 16: 22.3 MB, measured 1.009 x compulsory); an estimate past it (batch 32:
 * 35.1 MB, measured 1.31x); exact again where the L2 is not partitioned or is twice as large. */
static void test_dram_fits_shared_l2(void **state)
{
    (void)state;
    const char *cfg = "algo=direct,tile_k=256,tile_p=14,tile_q=8,tile_c=8,micro_k=8,micro_p=1,"
                      "micro_q=8,stages=2,split_c=1";
    const double in16 = 16.0 * 512 * 14 * 14 * 4, filter = 512.0 * 512 * 9 * 4;
    iob_machine m = h100();
    iob_resources r;
    assert_int_equal(iob_machine_l2_shared_bytes(&m), 25 << 20);
    iob_traffic t = predict_on("n=16,c=512,h=14,k=512,r=3,pad=1", cfg, &m, &r);
    assert_int_equal(t.dram_exact, 1);
    assert_true(t.dram_read_bytes == in16 + filter); /* 15859712 */
    assert_true(t.dram_write_bytes == in16);         /* K = C: the output is the input's size */
    t = predict_on("n=32,c=512,h=14,k=512,r=3,pad=1", cfg, &m, &r);
    assert_int_equal(t.dram_exact, 0);
    /* the reuse-distance estimate: one image's input with the filter slice, and one image's
     * input and output with the whole filter, fit 25 MiB: each read once */
    assert_true(t.dram_read_bytes == 2 * in16 + filter);
    iob_machine one = m;
    one.l2_partitions = 1;
    assert_int_equal(predict_on("n=32,c=512,h=14,k=512,r=3,pad=1", cfg, &one, &r).dram_exact, 1);
    iob_machine big = m; /* --l2 100M: the shared capacity follows the total */
    big.l2_bytes = 100 << 20;
    assert_int_equal(predict_on("n=32,c=512,h=14,k=512,r=3,pad=1", cfg, &big, &r).dram_exact, 1);
    /* 56 images (54.4 MB) pass even the undivided 50 MiB (52.4 MB) */
    assert_int_equal(predict_on("n=56,c=512,h=14,k=512,r=3,pad=1", cfg, &one, &r).dram_exact, 0);
}

static void expect_infeasible(const char *lspec, const char *cspec, iob_status code,
                              const char *reason)
{
    iob_machine m = h100();
    iob_layer L = layer(lspec);
    iob_config c = config(cspec);
    iob_resources res;
    iob_error err = {0};
    assert_int_equal(iob_dataflow_check(&L, &c, &m, &res, &err), code);
    if (!strstr(err.msg, reason))
        fail_msg("'%s' does not say '%s'", err.msg, reason);
}

/* iob_dataflow_enumerate checks large spaces on all threads, then compacts in enumeration
 * order: the same configs in the same order on one thread and on several, for every algorithm
 * with a model; and an empty space leaves its reason. */
static void test_enumerate_threads(void **state)
{
    (void)state;
    iob_machine m;
    iob_layer L;
    iob_error err;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    assert_int_equal(iob_layer_parse("n=2,c=64,h=28,k=64,r=3,pad=1", &L, &err), IOB_OK);
    const iob_algo algos[] = {IOB_ALGO_DIRECT, IOB_ALGO_WINOGRAD, IOB_ALGO_IM2COL,
                              IOB_ALGO_IM2WIN};
    int saved = omp_get_max_threads();
    for (size_t a = 0; a < sizeof algos / sizeof algos[0]; a++) {
        iob_config *one, *many;
        size_t n1, n2;
        omp_set_num_threads(1);
        assert_int_equal(iob_dataflow_enumerate(&L, algos[a], &m, &one, &n1, &err), IOB_OK);
        omp_set_num_threads(4);
        assert_int_equal(iob_dataflow_enumerate(&L, algos[a], &m, &many, &n2, &err), IOB_OK);
        assert_true(n1 > 4096 || algos[a] == IOB_ALGO_WINOGRAD); /* the parallel path ran */
        assert_int_equal(n1, n2);
        assert_memory_equal(one, many, n1 * sizeof one[0]);
        free(one);
        free(many);
    }
    omp_set_num_threads(saved);
    iob_config *none;
    size_t n;
    assert_int_equal(iob_layer_parse("c=8,h=9,k=8,r=3,dil=2", &L, &err), IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&L, IOB_ALGO_IM2WIN, &m, &none, &n, &err), IOB_OK);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "dil_w = 1"));
    free(none);
    iob_config best;
    assert_int_equal(iob_dataflow_best(&L, IOB_ALGO_IM2WIN, &m, IOB_OBJ_TIME, &best, NULL, &err),
                     IOB_EINFEASIBLE);
    assert_non_null(strstr(err.msg, "no feasible im2win config"));
    assert_non_null(strstr(err.msg, "dil_w = 1"));
}

static void test_infeasible_reasons(void **state)
{
    (void)state;
    const char *L = "n=1,c=256,h=56,k=256,r=3,pad=1";
    expect_infeasible(L, "algo=direct,tile_k=48,tile_p=4,tile_q=4,tile_c=4,micro_k=32,micro_p=1,"
                      "micro_q=1", IOB_EINFEASIBLE, "tile_k=48 is not a multiple of micro_k=32");
    expect_infeasible(L, "algo=direct,tile_k=256,tile_p=16,tile_q=16,tile_c=1,micro_k=1,"
                      "micro_p=1,micro_q=1", IOB_EINFEASIBLE, "65536 threads per block > 1024");
    expect_infeasible(L, "algo=direct,tile_k=256,tile_p=8,tile_q=8,tile_c=32,micro_k=8,"
                      "micro_p=2,micro_q=4", IOB_EINFEASIBLE, "per block");
    expect_infeasible(L, "algo=direct,tile_k=64,tile_p=8,tile_q=8,tile_c=8,micro_k=8,micro_p=2,"
                      "micro_q=4,split_c=24", IOB_EINFEASIBLE, "split_c=24 leaves a split");
    expect_infeasible(L, "algo=direct,tile_k=64,tile_p=8,tile_q=8,tile_c=8,micro_k=8,micro_p=4,"
                      "micro_q=8", IOB_EINFEASIBLE, "registers per thread > 255");
    expect_infeasible(L, "algo=direct,tile_k=64,tile_p=8,tile_q=8,tile_c=8,micro_k=8,micro_p=2,"
                      "micro_q=4,stages=5", IOB_EINFEASIBLE, "stages=5");
    expect_infeasible(L, "algo=direct,tile_k=0,tile_p=8,tile_q=8,tile_c=8,micro_k=8,micro_p=2,"
                      "micro_q=4", IOB_EINVAL, "tile_k=0");
    expect_infeasible(L, "algo=direct,wino_m=2,tile_k=8,tile_p=8,tile_q=8,tile_c=8,micro_k=8,"
                      "micro_p=2,micro_q=4", IOB_EINVAL, "Winograd");
    expect_infeasible(L, "algo=direct,tile_k=64,tile_p=8,tile_q=8,tile_c=8,micro_k=8,micro_p=2,"
                      "micro_q=4,layout=1", IOB_EINFEASIBLE, "NCHW");

    /* 1x1 images (the squeeze-excitation layers of convbench-2000, 205 of its 1453 one-group
     * layers): a stage of several channels cannot split their shared sectors between patch rows,
     * so the space offers one channel a stage, and one output a thread where K < 8 */
    iob_layer se;
    iob_machine m;
    iob_error err = {0};
    iob_config *all = NULL;
    size_t n = 0;
    assert_int_equal(iob_machine_get("h100-sxm", &m, &err), IOB_OK);
    assert_int_equal(iob_layer_parse("n=1,c=24,h=1,w=1,k=6,r=1", &se, &err), IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&se, IOB_ALGO_DIRECT, &m, &all, &n, &err), IOB_OK);
    assert_true(n > 0);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(all[i].tile_c, 1);
    free(all);
    /* a space whose every candidate fails says why (here: depthwise 7x7 images, rows of one
     * channel share sectors) */
    iob_layer dw;
    assert_int_equal(iob_layer_parse("n=1,c=64,h=7,w=7,k=64,r=3,pad=1,groups=64", &dw, &err),
                     IOB_OK);
    assert_int_equal(iob_dataflow_enumerate(&dw, IOB_ALGO_DIRECT, &m, &all, &n, &err), IOB_OK);
    assert_int_equal(n, 0);
    assert_non_null(strstr(err.msg, "candidate configs are infeasible, the first because: "));
    assert_non_null(strstr(err.msg, "share a sector"));
    free(all);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resources_by_hand),
        cmocka_unit_test(test_resources_by_hand_pointwise),
        cmocka_unit_test(test_resources_by_hand_split),
        cmocka_unit_test(test_dram_fits_shared_l2),
        cmocka_unit_test(test_infeasible_reasons),
        cmocka_unit_test(test_enumerate_threads),
        cmocka_unit_test(test_every_config_matches_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
