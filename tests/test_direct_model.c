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

#include "iobound/dataflow.h"
#include "iobound/trace.h"
#include "model/direct_model.h"

static iob_machine h100(void)
{
    iob_machine m;
    iob_error err;
    if (iob_machine_get("h100-sxm", &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

static iob_layer layer(const char *spec)
{
    iob_layer L;
    iob_error err;
    if (iob_layer_parse(spec, &L, &err))
        fail_msg("%s: %s", spec, err.msg);
    return L;
}

static iob_config config(const char *text)
{
    iob_config c;
    iob_error err;
    if (iob_config_parse(text, &c, &err))
        fail_msg("%s: %s", text, err.msg);
    return c;
}

typedef struct counter {
    uint64_t reads, writes;
    uint64_t last_addr;
    int last_stage, last_write, sorted;
} counter;

static int count_emit(void *ctx, const iob_access *a, size_t n)
{
    counter *c = ctx;
    for (size_t i = 0; i < n; i++) {
        if (a[i].addr % 32)
            c->sorted = 0;
        if (a[i].write)
            c->writes++;
        else
            c->reads++;
        /* within one stage the generator emits sorted distinct sectors */
        if (a[i].stage == c->last_stage && a[i].write == c->last_write && a[i].addr <= c->last_addr &&
            c->last_addr != UINT64_MAX)
            c->sorted = 0;
        c->last_addr = a[i].addr;
        c->last_stage = a[i].stage;
        c->last_write = a[i].write;
    }
    return 0;
}

static void trace_counts(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                         uint64_t *reads, uint64_t *writes)
{
    iob_trace tr;
    iob_error err;
    if (iob_trace_build(L, cfg, m, &tr, &err))
        fail_msg("trace: %s", err.msg);
    counter c = {0, 0, UINT64_MAX, -1, -1, 1};
    iob_trace_sink sink = {count_emit, &c};
    for (int k = 0; k < tr.nkernels; k++)
        for (int64_t b = 0; b < tr.kernel[k].blocks; b++) {
            c.last_addr = UINT64_MAX;
            if (tr.kernel[k].block(tr.kernel[k].state, b, &sink, &err))
                fail_msg("trace block: %s", err.msg);
        }
    iob_trace_free(&tr);
    assert_true(c.sorted);
    *reads = c.reads;
    *writes = c.writes;
}

/* The thread loop nest of docs/model.md, literally: per thread and (channel, filter row) the
 * distinct shared-memory words it reads (the compiler merges repeated addresses of one
 * iteration), and its FFMAs. Returns bytes and FFMAs for one chunk of one block. */
static void loop_nest_one_chunk(const iob_layer *L, const iob_config *cfg,
                                const iob_direct_geom *g, uint64_t *bytes, uint64_t *ffma)
{
    *bytes = 0;
    *ffma = 0;
    int64_t *seen = malloc(sizeof(int64_t) * 4096);
    for (int t = 0; t < g->threads; t++) {
        int tq_idx = t % g->tqt, tp_idx = (t / g->tqt) % g->tpt, tk_idx = t / (g->tqt * g->tpt);
        for (int c = 0; c < cfg->tile_c; c++)
            for (int64_t r = 0; r < L->r; r++) {
                int ns = 0;
                for (int64_t s = 0; s < L->s; s++) {
                    for (int pi = 0; pi < cfg->micro_p; pi++)
                        for (int j = 0; j < cfg->micro_q; j++) {
                            int64_t p = (int64_t)tp_idx * cfg->micro_p + pi;
                            int64_t q = g->vec_q      ? (int64_t)(j / 4) * g->tqt * 4 + tq_idx * 4 + j % 4
                                        : g->q_window ? (int64_t)tq_idx * cfg->micro_q + j
                                                      : tq_idx + (int64_t)j * g->tqt;
                            int64_t addr = ((int64_t)c * g->ih + p * L->stride_h + r * L->dil_h) *
                                               g->iw_pitch +
                                           g->in_off + q * L->stride_w + s * L->dil_w;
                            int dup = 0;
                            for (int i = 0; i < ns && !dup; i++)
                                dup = seen[i] == addr;
                            if (!dup)
                                seen[ns++] = addr;
                        }
                    for (int i = 0; i < cfg->micro_k; i++) {
                        int64_t k = g->vec_k ? (int64_t)(i / 4) * g->tkt * 4 + tk_idx * 4 + i % 4
                                             : tk_idx + (int64_t)i * g->tkt;
                        int64_t addr = g->in_stage_floats +
                                       (((int64_t)c * L->r + r) * L->s + s) * cfg->tile_k + k;
                        seen[ns++] = addr; /* filter words never coincide with input words */
                    }
                    *ffma += (uint64_t)(cfg->micro_k * cfg->micro_p * cfg->micro_q);
                }
                *bytes += 4 * (uint64_t)ns;
            }
    }
    free(seen);
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
};

static void test_every_config_matches_trace(void **state)
{
    (void)state;
    iob_machine m = h100();
    size_t total = 0, split = 0, vec_q = 0, vec_in = 0, clipped = 0, window = 0;
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
            uint64_t reads, writes;
            trace_counts(&L, &all[i], &m, &reads, &writes);
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
            assert_int_equal(t.smem_read_bytes, bytes * block_chunks);
            assert_int_equal(t.ffma, ffma * block_chunks);
            assert_int_equal(t.smem_write_bytes,
                             4 * block_chunks *
                                 (uint64_t)(all[i].tile_c * (g.ih * g.iw_copy + L.r * L.s *
                                                                                  all[i].tile_k)));
            total++;
            split += all[i].split_c > 1;
            vec_q += g.vec_q;
            window += g.q_window;
            vec_in += g.vec_in;
            clipped += L.p % all[i].tile_p || L.q % all[i].tile_q || L.c % all[i].tile_c;
        }
        free(all);
    }
    print_message("%zu configs checked against the trace: %zu split, %zu with 16-byte input "
                  "copies, %zu reading LDS.128 columns, %zu with window columns, %zu with clipped "
                  "tiles or chunks\n", total, split, vec_in, vec_q, window, clipped);
    assert_true(total > 10000);
    assert_true(split > 100 && vec_q > 100 && vec_in > 1000 && clipped > 1000 && window > 100);
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
    assert_int_equal(g.vec_in, 1);
    assert_int_equal(g.in_off, 3);
    assert_int_equal(g.iw_copy, 24);
    assert_int_equal(g.iw_pitch, 28); /* 24 puts rows 0 and 2 of a warp on one bank */
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
    assert_int_equal(g.vec_in, 1);
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

/* resnet50.res5.3x3 at batch 1: W = 7 (4-byte copies), split over 16 blocks, tqt = 1 */
static void test_resources_by_hand_split(void **state)
{
    (void)state;
    iob_resources res;
    iob_direct_geom g;
    fits("n=1,c=512,h=7,k=512,r=3,pad=1", "algo=direct,tile_k=64,tile_p=7,tile_q=7,tile_c=8,micro_k=4,"
                          "micro_p=1,micro_q=7,stages=2,split_c=16", &res, &g);
    assert_int_equal(g.vec_in, 0);
    assert_int_equal(g.iw_copy, 9);
    /* rows 0..6 of a warp at tp*9 words: banks 0,9,18,27,4,13,22, all distinct */
    assert_int_equal(g.iw_pitch, 9);
    assert_int_equal(g.x_distinct, 9); /* j + s, j < 7, s < 3 */
    assert_int_equal(res.threads, 112);
    assert_int_equal(res.smem_bytes, 2 * (8 * 9 * 9 + 8 * 9 * 64) * 4); /* 42048 */
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
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_resources_by_hand),
        cmocka_unit_test(test_resources_by_hand_pointwise),
        cmocka_unit_test(test_resources_by_hand_split),
        cmocka_unit_test(test_infeasible_reasons),
        cmocka_unit_test(test_every_config_matches_trace),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
