/* test_sim_gpu.c - the GPU replay (sim/gpu_sim.c) on synthetic traces: the interleaving order of
 * resident blocks (din output compared line by line), exact SM<->L2 and DRAM counts against a
 * brute-force count of the trace, the L1, kernels sharing the L2, OPT streamed through its
 * next-use file against OPT computed in memory, OPT against LRU, and failures. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/sim.h"
#include "tests/sim_synth.h"

static iob_machine machine(void)
{
    iob_machine m;
    iob_error err = {0};
    if (iob_machine_get("h100-sxm", &m, &err))
        fail_msg("%s", err.msg);
    return m;
}

/* ---- brute-force counts of a trace ------------------------------------------------------- */

static int collect_emit(void *ctx, const iob_access *a, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        uint64_t op = a[i].addr | a[i].write;
        if (synth_ops_append(ctx, &op, 1))
            return 1;
    }
    return 0;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

typedef struct counts {
    uint64_t reads, writes, distinct_reads, distinct_writes;
} counts;

/* Every block of every kernel, one by one, in launch order. */
static counts count_trace(const iob_trace *t)
{
    synth_ops c = {0};
    for (int k = 0; k < t->nkernels; k++)
        for (int64_t b = 0; b < t->kernel[k].blocks; b++) {
            iob_trace_sink sink = {collect_emit, &c};
            assert_int_equal(t->kernel[k].block(t->kernel[k].state, b, &sink, NULL), IOB_OK);
        }
    counts r = {0};
    for (size_t i = 0; i < c.n; i++)
        (c.ops[i] & 1) ? r.writes++ : r.reads++;
    qsort(c.ops, c.n, sizeof *c.ops, cmp_u64);
    for (size_t i = 0; i < c.n; i++)
        if (i == 0 || c.ops[i] != c.ops[i - 1])
            (c.ops[i] & 1) ? r.distinct_writes++ : r.distinct_reads++;
    free(c.ops);
    return r;
}

static synth_conv small_conv(void)
{
    synth_conv s = {.n = 2, .c = 5, .h = 9, .w = 9, .k = 6,
                    .tile_k = 4, .tile_p = 4, .tile_q = 4, .tile_c = 2};
    synth_conv_layout(&s);
    return s;
}

static iob_sim_result sim_ok(const iob_trace *t, const iob_sim_opts *o)
{
    iob_machine m = machine();
    iob_sim_result r;
    iob_error err = {0};
    if (iob_sim_run(t, &m, o, &r, &err))
        fail_msg("sim: %s", err.msg);
    return r;
}

/* ---- tests ------------------------------------------------------------------------------- */

/* Three hand-made blocks on 2 slots: round-robin one step (a run of equal `stage`) per slot per
 * round; block 2 takes slot 0 when block 0 ends. */
static void test_interleaving_order(void **state)
{
    (void)state;
    const iob_access acc[] = {
        {0x1000, 0, 1}, {0x1020, 0, 1}, {0x2000, 0, 2}, {0x3000, 1, 0},         /* block 0 */
        {0x1100, 0, 1}, {0x2100, 0, 2}, {0x2120, 0, 2}, {0x3100, 1, 0},         /* block 1 */
        {0x1200, 0, 1}, {0x1220, 0, 1}, {0x3200, 1, 0},                         /* block 2 */
    };
    const size_t start[] = {0, 4, 8, 11};
    synth_list l = {acc, start, 3, IOB_OK, 0};
    iob_trace t;
    memset(&t, 0, sizeof t);
    t.nkernels = 1;
    t.kernel[0].blocks = 3;
    t.kernel[0].block = synth_list_block;
    t.kernel[0].state = &l;
    const char *want_2slots = "0 1000\n0 1020\n0 1100\n0 2000\n0 2100\n0 2120\n1 3000\n1 3100\n"
                              "0 1200\n0 1220\n1 3200\n";
    const char *want_3slots = "0 1000\n0 1020\n0 1100\n0 1200\n0 1220\n0 2000\n0 2100\n0 2120\n"
                              "1 3200\n1 3000\n1 3100\n";
    const struct { int sms, bps; const char *want; } cases[] = {
        {2, 1, want_2slots}, {1, 2, want_2slots}, {3, 1, want_3slots}, {8, 4, want_3slots}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char *text = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&text, &len);
        iob_sim_opts o;
        iob_sim_opts_init(&o);
        o.sm_count = cases[i].sms;
        o.blocks_per_sm = cases[i].bps;
        o.din = f;
        o.l2_policy = i % 2 ? IOB_CACHE_OPT : IOB_CACHE_LRU; /* OPT writes pass 2 only */
        iob_sim_result r = sim_ok(&t, &o);
        fclose(f);
        assert_string_equal(text, cases[i].want);
        assert_int_equal(r.accesses, 11);
        assert_int_equal(r.slots, cases[i].sms * cases[i].bps);
        assert_int_equal(r.l2_read_sectors, 8);
        assert_int_equal(r.l2_write_sectors, 3);
        free(text);
    }
}

/* A big L2: SM<->L2 traffic is the trace's, DRAM reads are the distinct sectors read, DRAM
 * writes the distinct sectors written (all by the final flush). */
static void test_exact_counts(void **state)
{
    (void)state;
    synth_conv s = small_conv();
    iob_trace t;
    synth_conv_trace(&s, &t);
    counts c = count_trace(&t);
    assert_true(c.reads > 0 && c.writes > 0);
    for (int pol = 0; pol < 2; pol++) {
        iob_sim_opts o;
        iob_sim_opts_init(&o);
        o.l2_bytes = 4 << 20;
        o.l2_policy = (iob_cache_policy)pol;
        o.blocks_per_sm = 2;
        o.sm_count = 3;
        iob_sim_result r = sim_ok(&t, &o);
        assert_int_equal(r.accesses, c.reads + c.writes);
        assert_int_equal(r.l2_read_sectors, c.reads);
        assert_int_equal(r.l2_write_sectors, c.writes);
        assert_int_equal(r.l2_read_bytes, 32 * c.reads);
        assert_int_equal(r.l2.read_misses, c.distinct_reads);
        assert_int_equal(r.dram_read_bytes, 32 * c.distinct_reads);
        assert_int_equal(r.dram_write_bytes, 32 * c.distinct_writes);
        assert_int_equal(r.dram_write_flush_bytes, r.dram_write_bytes);
        assert_int_equal(r.blocks, synth_conv_blocks(&s));
        assert_int_equal(r.l2_sets, (4 << 20) / (128 * 16));
        iob_traffic tr;
        iob_sim_traffic(&r, &tr);
        assert_int_equal(tr.l2_read_sectors, c.reads);
        assert_true(tr.dram_exact == 1 && tr.dram_read_bytes == 32.0 * (double)c.distinct_reads);
    }
}

/* One SM with a large L1: the L1 misses each distinct sector read once; the L2 sees those
 * misses and every store. A small L1 hits less but the conservation laws hold. */
static void test_l1(void **state)
{
    (void)state;
    synth_conv s = small_conv();
    iob_trace t;
    synth_conv_trace(&s, &t);
    counts c = count_trace(&t);
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.sm_count = 1;
    o.blocks_per_sm = 3;
    o.l1_bytes = 1 << 20;
    iob_sim_result r = sim_ok(&t, &o);
    assert_int_equal(r.l1.read_hits + r.l1.read_misses, c.reads);
    assert_int_equal(r.l1.read_misses, c.distinct_reads);
    assert_int_equal(r.l2_read_sectors, c.distinct_reads);
    assert_int_equal(r.l2_write_sectors, c.writes);
    assert_int_equal(r.l1.flush_sectors + r.l1.writeback_sectors, 0);
    assert_true(r.l1_read_hit_rate > 0.5);
    o.sm_count = 4;
    o.l1_bytes = 4096;
    o.l1_ways = 2;
    r = sim_ok(&t, &o);
    assert_int_equal(r.l2_read_sectors, r.l1.read_misses);
    assert_true(r.l1.read_misses > c.distinct_reads && r.l1.read_misses < c.reads);
}

/* Two kernels read the same tensors: the second finds them in the L2. */
static void test_kernels_share_l2(void **state)
{
    (void)state;
    synth_conv s = small_conv();
    iob_trace t;
    synth_conv_trace(&s, &t);
    t.nkernels = 2;
    t.kernel[1] = t.kernel[0];
    counts c = count_trace(&t);
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.l2_bytes = 4 << 20;
    iob_sim_result r = sim_ok(&t, &o);
    assert_int_equal(r.kernels, 2);
    assert_int_equal(r.l2_read_sectors, c.reads);
    assert_int_equal(r.l2.read_misses, c.distinct_reads);
    assert_int_equal(r.l2.read_hits, c.reads - c.distinct_reads);
    assert_int_equal(r.dram_write_bytes, 32 * c.distinct_writes);
}

/* OPT in the replay (two passes through the next-use file) equals OPT run in memory on the
 * observed stream; OPT misses no more than LRU on an unsectored L2 (Belady's guarantee). */
static void test_opt_streamed(void **state)
{
    (void)state;
    synth_conv s = {.n = 2, .c = 16, .h = 14, .w = 14, .k = 32,
                    .tile_k = 8, .tile_p = 4, .tile_q = 7, .tile_c = 4};
    synth_conv_layout(&s);
    iob_trace t;
    synth_conv_trace(&s, &t);
    synth_ops obs = {0};
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.l2_bytes = 16 << 10;
    o.l2_ways = 4;
    o.sm_count = 4;
    o.blocks_per_sm = 2;
    o.l2_policy = IOB_CACHE_OPT;
    o.observer = synth_ops_observer;
    o.observer_ctx = &obs;
    iob_sim_result r = sim_ok(&t, &o);
    assert_int_equal(obs.n, r.accesses);
    uint64_t *next = malloc(obs.n * sizeof *next);
    assert_int_equal(iob_nextuse_compute(obs.ops, obs.n, 128, next, NULL), IOB_OK);
    iob_cache_config cc = {16 << 10, 128, 32, 4, IOB_CACHE_OPT, IOB_CACHE_WRITE_BACK};
    iob_cache *c;
    assert_int_equal(iob_cache_create(&cc, &c, NULL), IOB_OK);
    iob_cache_run_opt(c, obs.ops, next, obs.n);
    iob_cache_flush(c);
    iob_cache_stats want = iob_cache_stats_get(c);
    assert_memory_equal(&want, &r.l2, sizeof want);
    assert_true(want.evicted_lines > 500); /* the small L2 really replaces (837 lines) */
    iob_cache_destroy(c);
    free(next);
    free(obs.ops);

    o.observer = NULL;
    o.l2_line_bytes = 32; /* one sector per line: OPT is optimal for misses */
    iob_sim_result opt = sim_ok(&t, &o);
    o.l2_policy = IOB_CACHE_LRU;
    iob_sim_result lru = sim_ok(&t, &o);
    assert_int_equal(opt.l2_read_sectors, lru.l2_read_sectors);
    assert_true(opt.l2.read_misses + opt.l2.write_misses <
                lru.l2.read_misses + lru.l2.write_misses);
    assert_true(opt.dram_read_bytes < lru.dram_read_bytes);
}

static void test_failures(void **state)
{
    (void)state;
    const iob_access acc[] = {{0x1000, 0, 1}, {0x1004, 0, 1}};
    const size_t start[] = {0, 1, 2};
    synth_list l = {acc, start, 2, IOB_OK, 0};
    iob_trace t;
    memset(&t, 0, sizeof t);
    t.nkernels = 1;
    snprintf(t.kernel[0].name, sizeof t.kernel[0].name, "handmade");
    t.kernel[0].blocks = 2;
    t.kernel[0].block = synth_list_block;
    t.kernel[0].state = &l;
    iob_machine m = machine();
    iob_sim_result r;
    iob_error err = {0};
    assert_int_equal(iob_sim_run(&t, &m, NULL, &r, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "handmade, block 1: address 0x1004 is not a multiple"));

    l.blocks = 1;
    t.kernel[0].blocks = 1;
    l.fail_status = IOB_ERANGE;
    assert_int_equal(iob_sim_run(&t, &m, NULL, &r, &err), IOB_ERANGE);
    assert_non_null(strstr(err.msg, "synthetic failure in block 0"));
    l.fail_status = IOB_OK;

    const struct { iob_sim_opts o; const char *msg; } bad[] = {
        {{.l2_bytes = 1000}, "L2: cache of 1000 bytes"},
        {{.l2_ways = 3}, "multiple of line x ways"},
        {{.l1_bytes = 4096, .l1_ways = 100}, "L1: 100 ways"},
        {{.sm_count = 1 << 20}, "out of range"},
        {{.sector_bytes = 2}, "at least 4"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(iob_sim_run(&t, &m, &bad[i].o, &r, &err), IOB_EINVAL);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("case %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
    }
}

static int stop_observer(void *ctx, const uint64_t *ops, size_t n)
{
    (void)ctx;
    (void)ops;
    (void)n;
    return 1;
}

static void test_observer_stops(void **state)
{
    (void)state;
    synth_conv s = small_conv();
    iob_trace t;
    synth_conv_trace(&s, &t);
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.observer = stop_observer;
    iob_machine m = machine();
    iob_sim_result r;
    iob_error err = {0};
    assert_int_equal(iob_sim_run(&t, &m, &o, &r, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, "observer"));
}

/* The library path for a real config: without a registered trace generator it says so. */
static void test_layer_not_supported(void **state)
{
    (void)state;
    iob_layer L;
    iob_error err = {0};
    assert_int_equal(iob_layer_parse("c=3,h=8,k=4,r=3,pad=1", &L, &err), IOB_OK);
    iob_machine m = machine();
    for (int a = 0; a < IOB_ALGO_COUNT; a++) {
        iob_config cfg = {.algo = (iob_algo)a, .stages = 1, .split_c = 1};
        iob_sim_result r;
        iob_status st = iob_sim_layer(&L, &cfg, &m, NULL, &r, &err);
        if (st == IOB_ENOTSUP)
            assert_true(strstr(err.msg, "no trace generator") || strstr(err.msg, "no dataflow"));
        else /* a registered algorithm rejects this empty config */
            assert_true(st == IOB_EINVAL || st == IOB_EINFEASIBLE);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interleaving_order),
        cmocka_unit_test(test_exact_counts),
        cmocka_unit_test(test_l1),
        cmocka_unit_test(test_kernels_share_l2),
        cmocka_unit_test(test_opt_streamed),
        cmocka_unit_test(test_failures),
        cmocka_unit_test(test_observer_stops),
        cmocka_unit_test(test_layer_not_supported),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
