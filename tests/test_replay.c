/* test_replay.c - the element-level red-blue pebble replayer (sim/replay.c) and the schedule
 * generators (sim/sched_*.c): exact counts on hand-worked sequences, the failure paths, OPT never
 * worse than LRU, and generator invariants (every output written and stored once, the operation
 * counts the bounds assume, loop nests that visit every point once). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sched_check.h"

static iob_replay_count run(const iob_opseq *seq, int64_t S, iob_replay_policy pol)
{
    iob_replay_count c;
    iob_error err = {0};
    if (iob_replay_run(seq, S, pol, &c, &err))
        fail_msg("replay: %s", err.msg);
    return c;
}

static void push(iob_opseq *seq, int32_t out, int32_t a, int32_t b)
{
    assert_int_equal(iob_opseq_push(seq, out, a, b, NULL), IOB_OK);
}

static int32_t elems(iob_opseq *seq, int64_t n)
{
    int32_t base;
    assert_int_equal(iob_opseq_elems(seq, n, &base, NULL), IOB_OK);
    return base;
}

/* Pure reads 0 1 2 0 1 2 in S = 2: LRU misses all six; Belady keeps 0 at the third read
 * (evicting 1, next used later than 0) and then 2: 4 loads. */
static void test_belady_beats_lru_on_a_cycle(void **state)
{
    (void)state;
    iob_opseq seq;
    iob_opseq_init(&seq);
    elems(&seq, 3);
    for (int rep = 0; rep < 2; rep++)
        for (int e = 0; e < 3; e++)
            push(&seq, -1, e, -1);
    iob_replay_count opt = run(&seq, 2, IOB_REPLAY_OPT), lru = run(&seq, 2, IOB_REPLAY_LRU);
    assert_int_equal(lru.loads, 6);
    assert_int_equal(opt.loads, 4);
    assert_int_equal(opt.stores + lru.stores, 0);
    assert_int_equal(opt.peak, 2);
    iob_opseq_free(&seq);
}

/* c += a_l * b_l for l = 0..2 in S = 3: the chain's first update needs no load of c; 6 loads
 * (each a and b once) and one store of c at the end. */
static void test_accumulator_chain_starts_without_load(void **state)
{
    (void)state;
    iob_opseq seq;
    iob_opseq_init(&seq);
    int32_t a = elems(&seq, 3), b = elems(&seq, 3), c = elems(&seq, 1);
    iob_opseq_mark_final(&seq, c);
    for (int l = 0; l < 3; l++)
        push(&seq, c, a + l, b + l);
    iob_replay_count r = run(&seq, 3, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, 6);
    assert_int_equal(r.stores, 1);
    assert_int_equal(r.ops, 3);
    assert_int_equal(seq.macs, 3);
    iob_opseq_free(&seq);
}

/* S = 3: c0 += a*b; c1 += a*b; c0 += a*b. The second operation must evict c0 (a and b are in
 * use): dirty and used again, so it is stored; the third reloads c0 and evicts c1, a final
 * output (stored); c0 is stored at the end. Loads a, b, c0; stores c0, c1, c0. */
static void test_dirty_eviction_stores_and_reloads(void **state)
{
    (void)state;
    iob_opseq seq;
    iob_opseq_init(&seq);
    int32_t a = elems(&seq, 1), b = elems(&seq, 1), c = elems(&seq, 2);
    iob_opseq_mark_final(&seq, c);
    iob_opseq_mark_final(&seq, c + 1);
    push(&seq, c, a, b);
    push(&seq, c + 1, a, b);
    push(&seq, c, a, b);
    for (int pol = 0; pol < 2; pol++) {
        iob_replay_count r = run(&seq, 3, (iob_replay_policy)pol);
        assert_int_equal(r.loads, 3);
        assert_int_equal(r.stores, 3);
    }
    /* with room for everything: a, b loaded once, c0 and c1 stored once */
    iob_replay_count r = run(&seq, 4, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, 2);
    assert_int_equal(r.stores, 2);
    iob_opseq_free(&seq);
}

/* An intermediate x = a (not final) read by y += x * b: dropped for free when it has no further
 * use, stored and reloaded when it is evicted before its last use. */
static void test_intermediates(void **state)
{
    (void)state;
    iob_opseq seq;
    iob_opseq_init(&seq);
    int32_t a = elems(&seq, 2), b = elems(&seq, 1), x = elems(&seq, 1), y = elems(&seq, 1);
    iob_opseq_mark_final(&seq, y);
    push(&seq, x, a, -1);      /* x = a0: load a0 */
    push(&seq, y, x, b);       /* y += x*b: load b */
    push(&seq, y, a + 1, b);   /* needs a slot: x (used again at the end) or ... */
    push(&seq, y, x, b);
    /* S = 4: everything fits: loads a0, b, a1; store y */
    iob_replay_count r = run(&seq, 4, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, 3);
    assert_int_equal(r.stores, 1);
    /* S = 3: the third operation holds a1, b, y, so x (dirty, used again) is stored, then
     * reloaded by the fourth, which evicts a1 (clean, never used again) */
    r = run(&seq, 3, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, 4);
    assert_int_equal(r.stores, 2);
    iob_opseq_free(&seq);
    /* a dead intermediate costs nothing */
    iob_opseq_init(&seq);
    a = elems(&seq, 1);
    x = elems(&seq, 1);
    push(&seq, x, a, -1);
    r = run(&seq, 1 + 1, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, 1);
    assert_int_equal(r.stores, 0);
    iob_opseq_free(&seq);
}

static void test_bad_sequences(void **state)
{
    (void)state;
    iob_opseq seq;
    iob_opseq_init(&seq);
    int32_t a = elems(&seq, 3);
    iob_replay_count r;
    iob_error err = {0};
    push(&seq, a + 2, a, a + 1);
    assert_int_equal(iob_replay_run(&seq, 2, IOB_REPLAY_OPT, &r, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "needs 3 elements"));
    assert_int_equal(iob_replay_run(&seq, 0, IOB_REPLAY_OPT, &r, &err), IOB_EINVAL);
    push(&seq, a + 2, a, a); /* one element twice */
    assert_int_equal(iob_replay_run(&seq, 8, IOB_REPLAY_OPT, &r, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "twice"));
    iob_opseq_free(&seq);

    iob_opseq_init(&seq);
    a = elems(&seq, 2);
    push(&seq, a + 1, a + 5, -1); /* id out of range */
    assert_int_equal(iob_replay_run(&seq, 8, IOB_REPLAY_LRU, &r, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    iob_opseq_free(&seq);

    iob_opseq_init(&seq);
    a = elems(&seq, 3);
    push(&seq, a + 2, a + 1, -1); /* reads a+1 ... */
    push(&seq, a + 1, a, -1);     /* ... which is written only later */
    assert_int_equal(iob_replay_run(&seq, 8, IOB_REPLAY_OPT, &r, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "before its first write"));
    iob_opseq_free(&seq);

    iob_opseq_init(&seq);
    assert_int_equal(iob_opseq_elems(&seq, (int64_t)INT32_MAX + 1, &a, &err), IOB_ERANGE);
    iob_opseq_free(&seq);
}

/* Random sequences (inputs, accumulators, intermediates, pure reads) and the generators'
 * schedules: OPT never loads more than LRU (Belady), nor moves more in total. */
static void test_opt_never_worse_than_lru(void **state)
{
    (void)state;
    rng r = {0x243f6a8885a308d3ULL};
    int checked = 0;
    for (int rep = 0; rep < 300; rep++) {
        iob_opseq seq;
        iob_opseq_init(&seq);
        int64_t nin = rng_int(&r, 2, 30), nw = rng_int(&r, 1, 30);
        int32_t in = elems(&seq, nin), w = elems(&seq, nw);
        uint8_t *written = calloc((size_t)nw, 1);
        for (int64_t e = 0; e < nw; e++)
            if (rng_int(&r, 0, 1))
                iob_opseq_mark_final(&seq, w + (int32_t)e);
        int nops = (int)rng_int(&r, 1, 300);
        for (int i = 0; i < nops; i++) {
            int32_t out = rng_int(&r, 0, 5) ? w + (int32_t)rng_int(&r, 0, nw - 1) : -1;
            int32_t x[2];
            for (int j = 0; j < 2; j++) { /* an input, or a result already written */
                int64_t e = rng_int(&r, 0, nw - 1);
                x[j] = rng_int(&r, 0, 1) && written[e] && w + e != out ? w + (int32_t)e
                                                                        : in + (int32_t)rng_int(&r, 0, nin - 1);
            }
            if (x[1] == x[0] || rng_int(&r, 0, 3) == 0)
                x[1] = -1;
            if (out < 0 && x[0] < 0)
                continue;
            push(&seq, out, x[0], x[1]);
            if (out >= 0)
                written[out - w] = 1;
        }
        free(written);
        for (int64_t S = 3; S <= 40; S += 1 + S / 3) {
            iob_replay_count o = run(&seq, S, IOB_REPLAY_OPT), l = run(&seq, S, IOB_REPLAY_LRU);
            assert_true(o.loads <= l.loads);
            if (o.loads + o.stores > l.loads + l.stores)
                fail_msg("seed rep %d S=%lld: OPT %llu+%llu > LRU %llu+%llu", rep, (long long)S,
                         (unsigned long long)o.loads, (unsigned long long)o.stores,
                         (unsigned long long)l.loads, (unsigned long long)l.stores);
            assert_true(o.peak <= (uint64_t)S);
            checked++;
        }
        iob_opseq_free(&seq);
    }
    /* schedules: direct, GEMM, Winograd fused */
    layer_gen g = {.max_hw = 7, .max_rs = 3, .max_stride = 2, .max_dil = 2, .max_pad = 1,
                   .min_macs = 50, .max_macs = 1500};
    for (int rep = 0; rep < 40; rep++) {
        iob_layer L = random_layer(&r, &g);
        iob_sched_direct d = {"", "", 0, 0, 0, 0};
        rng_perm(&r, "nkcpqrs", d.order);
        rng_perm(&r, "kcpq", d.tile_order);
        d.tile_k = rng_int(&r, 0, L.k);
        d.tile_p = rng_int(&r, 0, L.p);
        iob_opseq seq;
        iob_opseq_init(&seq);
        assert_int_equal(iob_sched_direct_build(&L, &d, &seq, NULL), IOB_OK);
        for (int64_t S = 3; S <= 200; S *= 3) {
            iob_replay_count o = run(&seq, S, IOB_REPLAY_OPT), l = run(&seq, S, IOB_REPLAY_LRU);
            assert_true(o.loads <= l.loads);
            assert_true(o.loads + o.stores <= l.loads + l.stores);
            checked++;
        }
        iob_opseq_free(&seq);
    }
    printf("[replay] OPT <= LRU on %d (sequence, S) pairs\n", checked);
}

typedef struct visits {
    const iob_nest *nest;
    uint8_t *seen;
    int64_t n, first[3];
} visits;

static iob_status visit(void *ctx, const int64_t *idx, iob_error *err)
{
    visits *v = ctx;
    int64_t lin = 0;
    for (int d = 0; d < v->nest->ndims; d++)
        lin = lin * v->nest->extent[d] + idx[d];
    if (v->seen[lin]++)
        return iob_error_set(err, IOB_EINVAL, "point %lld visited twice", (long long)lin);
    if (v->n < 3)
        v->first[v->n] = lin;
    v->n++;
    return IOB_OK;
}

/* A 5 x 4 x 3 nest with partial tiles (tiles 2 and 3 over dims 0 and 1): every point once, in
 * the tile-then-point order. */
static void test_nest_visits_every_point_once(void **state)
{
    (void)state;
    iob_nest nest = {.ndims = 3, .extent = {5, 4, 3}, .tile = {2, 3, 0}};
    int n;
    assert_int_equal(iob_nest_order("cab", "abc", 1, nest.point_order, &n, NULL), IOB_OK);
    assert_int_equal(iob_nest_order("ba", "abc", 0, nest.tile_order, &nest.ntile, NULL), IOB_OK);
    uint8_t seen[60] = {0};
    visits v = {&nest, seen, 0, {0}};
    assert_int_equal(iob_nest_run(&nest, visit, &v, NULL), IOB_OK);
    assert_int_equal(v.n, 60);
    /* first tile: a in [0,2), b in [0,3); innermost loop over b, then a, then c */
    assert_int_equal(v.first[0], 0);           /* (0,0,0) */
    assert_int_equal(v.first[1], 1 * 3);       /* (0,1,0) */
    assert_int_equal(v.first[2], 2 * 3);       /* (0,2,0) */
    iob_error err = {0};
    assert_int_equal(iob_nest_order("abca", "abc", 1, nest.point_order, &n, &err), IOB_EINVAL);
    assert_int_equal(iob_nest_order("ab", "abc", 1, nest.point_order, &n, &err), IOB_EINVAL);
    assert_int_equal(iob_nest_order("az", "abc", 0, nest.point_order, &n, &err), IOB_EINVAL);
}

/* Every output written and stored exactly once when S holds the whole problem, and loads equal
 * the distinct inputs read: the compulsory traffic of each generator's own DAG. */
static void test_generators_with_room_for_everything(void **state)
{
    (void)state;
    iob_layer L;
    assert_int_equal(iob_layer_parse("n=2,c=4,h=6,w=5,k=6,r=3,pad=1,groups=2", &L, NULL), IOB_OK);
    iob_layer_counts c;
    assert_int_equal(iob_layer_counts_get(&L, &c, NULL), IOB_OK);
    iob_opseq seq;
    iob_replay_count r;

    iob_sched_direct d = {"nkcpqrs", "kcpq", 2, 1, 3, 2};
    iob_opseq_init(&seq);
    assert_int_equal(iob_sched_direct_build(&L, &d, &seq, NULL), IOB_OK);
    assert_int_equal(seq.macs, c.useful_macs);
    r = run(&seq, 1 << 20, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, c.input_used_elems + c.weight_elems);
    assert_int_equal(r.stores, c.output_elems);
    iob_opseq_free(&seq);

    iob_sched_im2col ic = {"ncpqrs", {"mnk", "", 0, 0, 0}};
    uint64_t col = (uint64_t)(L.c * L.r * L.s * L.n * L.p * L.q);
    iob_opseq_init(&seq);
    assert_int_equal(iob_sched_im2col_build(&L, &ic, 0, &seq, NULL), IOB_OK);
    r = run(&seq, 1 << 20, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, c.input_used_elems);
    assert_int_equal(r.stores, col);
    iob_opseq_free(&seq);
    iob_opseq_init(&seq);
    assert_int_equal(iob_sched_im2col_build(&L, &ic, 1, &seq, NULL), IOB_OK);
    assert_int_equal(seq.macs, c.macs);
    r = run(&seq, 1 << 20, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, col + c.weight_elems);
    assert_int_equal(r.stores, c.output_elems);
    assert_int_equal(iob_sched_im2col_build(&L, &ic, 2, &seq, NULL), IOB_EINVAL);
    iob_opseq_free(&seq);

    /* Winograd F(2x2,3x3): 3 x 3 tiles of 2 x 2 outputs, alpha = 4 */
    iob_sched_winograd w;
    memset(&w, 0, sizeof w);
    w.m = 2;
    snprintf(w.gemm.order, sizeof w.gemm.order, "kmn");
    const uint64_t tiles = 9, a2 = 16, U = a2 * 6 * 2, V = a2 * 2 * 4 * tiles,
                   M = a2 * 2 * 6 * tiles;
    /* the output transform reads every M but those of the point at infinity (A^T's last column
     * feeds only output column 1) in the last tile column, where Q = 5 crops it: 2*6 images x
     * channels, 3 tiles, 4 frequencies (known issue 2) */
    uint64_t want_loads[4] = {c.weight_elems, 0, U + V, M - 2 * 6 * 3 * 4};
    uint64_t want_stores[4] = {U, V, M, c.output_elems};
    for (int p = 0; p < 4; p++) {
        iob_opseq_init(&seq);
        assert_int_equal(iob_sched_winograd_stored(&L, &w, p, &seq, NULL), IOB_OK);
        r = run(&seq, 1 << 20, IOB_REPLAY_OPT);
        if (p == 1) /* the patches cover every input here (pad 1, 6 x 5 with 3 x 3 tiles) */
            want_loads[1] = c.input_elems;
        assert_int_equal(r.loads, want_loads[p]);
        assert_int_equal(r.stores, want_stores[p]);
        iob_opseq_free(&seq);
    }
    iob_opseq_init(&seq);
    assert_int_equal(iob_sched_winograd_stored(&L, &w, 4, &seq, NULL), IOB_EINVAL);
    assert_int_equal(iob_sched_winograd_fused(&L, &w, &seq, NULL), IOB_OK);
    r = run(&seq, 1 << 20, IOB_REPLAY_OPT);
    assert_int_equal(r.loads, c.input_elems + U);
    assert_int_equal(r.stores, c.output_elems);
    iob_opseq_free(&seq);

    /* a strided layer is not a Winograd layer */
    iob_layer S2;
    assert_int_equal(iob_layer_parse("c=2,h=8,k=2,r=3,stride=2", &S2, NULL), IOB_OK);
    iob_opseq_init(&seq);
    assert_int_equal(iob_sched_winograd_fused(&S2, &w, &seq, NULL), IOB_EINVAL);
    iob_opseq_free(&seq);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_belady_beats_lru_on_a_cycle),
        cmocka_unit_test(test_accumulator_chain_starts_without_load),
        cmocka_unit_test(test_dirty_eviction_stores_and_reloads),
        cmocka_unit_test(test_intermediates),
        cmocka_unit_test(test_bad_sequences),
        cmocka_unit_test(test_opt_never_worse_than_lru),
        cmocka_unit_test(test_nest_visits_every_point_once),
        cmocka_unit_test(test_generators_with_room_for_everything),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
