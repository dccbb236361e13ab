/* test_sim_cache.c - the cache of one level (sim/cache.c) and OPT's next-use positions
 * (sim/nextuse.c): hand-made traces with known hits and misses for LRU and OPT, sectors and
 * write-backs, write-through, non-power-of-two set counts against a naive reference model, OPT
 * against an exhaustive search of every replacement choice, OPT never worse than LRU, the
 * streamed next-use file against the in-memory computation, and bad configs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "iobound/sim.h"
#include "tests/sim_synth.h"

static iob_cache *mk(int64_t cap, int line, int sector, int ways, iob_cache_policy pol,
                     iob_cache_write wr)
{
    iob_cache_config cfg = {cap, line, sector, ways, pol, wr};
    iob_cache *c = NULL;
    iob_error err = {0};
    if (iob_cache_create(&cfg, &c, &err))
        fail_msg("cache: %s", err.msg);
    return c;
}

/* Runs lines (as line numbers) through a cache with next-use positions computed here. */
static void run_lines(iob_cache *c, const uint64_t *lines, size_t n, int line_bytes,
                      const uint8_t *writes, int *hit_out)
{
    uint64_t *ops = malloc(n * sizeof *ops), *next = malloc(n * sizeof *next);
    for (size_t i = 0; i < n; i++)
        ops[i] = lines[i] * (uint64_t)line_bytes | (writes ? writes[i] : 0);
    assert_int_equal(iob_nextuse_compute(ops, n, line_bytes, next, NULL), IOB_OK);
    for (size_t i = 0; i < n; i++) {
        int h = iob_cache_access_opt(c, ops[i] & ~1ull, (int)(ops[i] & 1), next[i]);
        if (hit_out)
            hit_out[i] = h;
    }
    free(ops);
    free(next);
}

/* 2 sets x 2 ways, 32-byte lines of one sector. Set 0 gets A B A C B A (lines 0, 2, 4 at
 * positions 0 2 4 6 7 8): LRU hits once (A at 4) and misses 5 times; when C arrives at 6, OPT
 * evicts A (next used at 8) rather than B (next used at 7), so B hits at 7: two hits. Set 1 gets
 * 1 3 1 (positions 1 3 5): miss miss hit under both. */
static void test_lru_opt_hand_made(void **state)
{
    (void)state;
    const uint64_t lines[] = {0, 1, 2, 3, 0, 1, 4, 2, 0};
    /* set 0 stream: 0 2 0 4 2 0 ; set 1 stream: 1 3 1 */
    const int lru_hit[] = {0, 0, 0, 0, 1, 1, 0, 0, 0};
    const int opt_hit[] = {0, 0, 0, 0, 1, 1, 0, 1, 0};
    int hit[9];
    iob_cache *c = mk(128, 32, 32, 2, IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK);
    assert_int_equal(iob_cache_sets(c), 2);
    run_lines(c, lines, 9, 32, NULL, hit);
    for (int i = 0; i < 9; i++)
        assert_int_equal(hit[i], lru_hit[i]);
    iob_cache_stats s = iob_cache_stats_get(c);
    assert_int_equal(s.read_hits, 2);
    assert_int_equal(s.read_misses, 7);
    assert_int_equal(s.fill_sectors, 7);
    assert_int_equal(s.evicted_lines, 3);
    iob_cache_destroy(c);

    c = mk(128, 32, 32, 2, IOB_CACHE_OPT, IOB_CACHE_WRITE_BACK);
    run_lines(c, lines, 9, 32, NULL, hit);
    for (int i = 0; i < 9; i++)
        assert_int_equal(hit[i], opt_hit[i]);
    s = iob_cache_stats_get(c);
    assert_int_equal(s.read_hits, 3);
    assert_int_equal(s.read_misses, 6);
    iob_cache_destroy(c);
}

/* Sectors and write-backs: 1 set x 2 ways of 128-byte lines, 32-byte sectors. */
static void test_sectors_writeback(void **state)
{
    (void)state;
    iob_cache *c = mk(256, 128, 32, 2, IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK);
    assert_int_equal(iob_cache_access(c, 0, 0), 0);    /* line 0 allocated, sector 0 filled */
    assert_int_equal(iob_cache_access(c, 32, 0), 0);   /* sector miss on a present line */
    assert_int_equal(iob_cache_access(c, 0, 0), 1);
    assert_int_equal(iob_cache_access(c, 64, 1), 0);   /* store: sector valid + dirty, no fill */
    assert_int_equal(iob_cache_access(c, 64, 0), 1);   /* reads what the store wrote */
    assert_int_equal(iob_cache_access(c, 96, 1), 0);   /* a second dirty sector */
    assert_int_equal(iob_cache_access(c, 64, 1), 1);   /* store hit */
    assert_int_equal(iob_cache_access(c, 128, 0), 0);  /* line 1 */
    assert_int_equal(iob_cache_access(c, 256, 0), 0);  /* line 2 evicts line 0 (LRU): 2 dirty */
    iob_cache_stats s = iob_cache_stats_get(c);
    assert_int_equal(s.read_hits, 2);
    assert_int_equal(s.read_misses, 4);
    assert_int_equal(s.write_hits, 1);
    assert_int_equal(s.write_misses, 2);
    assert_int_equal(s.fill_sectors, 4);
    assert_int_equal(s.writeback_sectors, 2);
    assert_int_equal(s.evicted_lines, 1);
    assert_int_equal(s.dirty_evicted_lines, 1);
    /* a store to a new line allocates without a fill; flush writes the dirty sectors once */
    assert_int_equal(iob_cache_access(c, 512 + 32, 1), 0); /* evicts line 1 (clean) */
    assert_int_equal(iob_cache_access(c, 512 + 96, 1), 0);
    s = iob_cache_stats_get(c);
    assert_int_equal(s.fill_sectors, 4);
    assert_int_equal(s.evicted_lines, 2);
    assert_int_equal(s.writeback_sectors, 2);
    iob_cache_flush(c);
    iob_cache_flush(c);
    s = iob_cache_stats_get(c);
    assert_int_equal(s.flush_sectors, 2);
    assert_int_equal(iob_cache_access(c, 512 + 32, 0), 1); /* flushed lines stay */
    iob_cache_invalidate(c);
    assert_int_equal(iob_cache_access(c, 512 + 32, 0), 0);
    iob_cache_stats_reset(c);
    s = iob_cache_stats_get(c);
    assert_int_equal(s.read_misses + s.read_hits + s.fill_sectors + s.flush_sectors, 0);
    iob_cache_destroy(c);
}

/* Dirty lines evicted one after the other: 1 set x 1 way. */
static void test_writeback_chain(void **state)
{
    (void)state;
    iob_cache *c = mk(64, 64, 32, 1, IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK);
    iob_cache_access(c, 0, 1);       /* A dirty (1 sector) */
    iob_cache_access(c, 64, 1);      /* B evicts A: 1 sector written back */
    iob_cache_access(c, 64 + 32, 1); /* B's second sector */
    iob_cache_access(c, 0, 0);       /* A evicts B: 2 sectors; A's sector 0 filled again */
    iob_cache_access(c, 128, 0);     /* C evicts A, clean */
    iob_cache_stats s = iob_cache_stats_get(c);
    assert_int_equal(s.writeback_sectors, 3);
    assert_int_equal(s.dirty_evicted_lines, 2);
    assert_int_equal(s.evicted_lines, 3);
    assert_int_equal(s.fill_sectors, 2);
    assert_int_equal(s.write_misses, 3);
    iob_cache_flush(c);
    assert_int_equal(iob_cache_stats_get(c).flush_sectors, 0);
    iob_cache_destroy(c);
}

/* Write-through (L1): stores allocate nothing and leave nothing dirty. */
static void test_write_through(void **state)
{
    (void)state;
    iob_cache *c = mk(512, 128, 32, 2, IOB_CACHE_LRU, IOB_CACHE_WRITE_THROUGH);
    assert_int_equal(iob_cache_access(c, 0, 1), 0);  /* no allocation */
    assert_int_equal(iob_cache_access(c, 0, 0), 0);  /* so the read misses */
    assert_int_equal(iob_cache_access(c, 0, 1), 1);  /* store to a present sector */
    assert_int_equal(iob_cache_access(c, 32, 1), 0); /* absent sector of a present line */
    assert_int_equal(iob_cache_access(c, 32, 0), 0);
    assert_int_equal(iob_cache_access(c, 0, 0), 1);
    iob_cache_flush(c);
    iob_cache_stats s = iob_cache_stats_get(c);
    assert_int_equal(s.flush_sectors, 0);
    assert_int_equal(s.writeback_sectors, 0);
    assert_int_equal(s.write_hits, 1);
    assert_int_equal(s.write_misses, 2);
    assert_int_equal(s.read_misses, 2);
    assert_int_equal(s.read_hits, 1);
    iob_cache_destroy(c);
}

/* set = line mod sets for a set count that is not a power of two. */
static void test_modulo_sets(void **state)
{
    (void)state;
    iob_cache *c = mk(3 * 64, 64, 64, 1, IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK);
    assert_int_equal(iob_cache_sets(c), 3);
    /* lines 0 and 1 live in different sets; 0 and 3 share set 0 */
    iob_cache_access(c, 0, 0);
    iob_cache_access(c, 64, 0);
    assert_int_equal(iob_cache_access(c, 0, 0), 1);
    iob_cache_access(c, 3 * 64, 0);
    assert_int_equal(iob_cache_access(c, 0, 0), 0);
    assert_int_equal(iob_cache_access(c, 64, 0), 1);
    /* line numbers above 2^32 take the plain % path: (2^32 + 2) mod 3 = 0 */
    uint64_t big = ((1ull << 32) + 2) * 64;
    iob_cache_access(c, 0, 0);
    iob_cache_access(c, big, 0);
    assert_int_equal(iob_cache_access(c, 0, 0), 0);
    assert_int_equal(iob_cache_access(c, 64, 0), 1);
    iob_cache_destroy(c);
    /* 50 MiB / (128 B x 16 ways) = 25600 sets */
    c = mk(50ll << 20, 128, 32, 16, IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK);
    assert_int_equal(iob_cache_sets(c), 25600);
    iob_cache_destroy(c);
}

/* ---- a naive reference model: per set, a list of lines with last-use times ---------------- */

typedef struct ref_way {
    int used;
    uint64_t line, last;
    unsigned valid, dirty;
} ref_way;

typedef struct ref_cache {
    uint64_t sets;
    int ways, line_bytes, sector_bytes;
    ref_way *w;
    uint64_t t, hits, misses, fills, wb;
} ref_cache;

static int ref_access(ref_cache *r, uint64_t addr, int write)
{
    uint64_t line = addr / (uint64_t)r->line_bytes;
    unsigned bit = 1u << (addr % (uint64_t)r->line_bytes / (uint64_t)r->sector_bytes);
    ref_way *set = r->w + (line % r->sets) * (uint64_t)r->ways;
    r->t++;
    for (int i = 0; i < r->ways; i++)
        if (set[i].used && set[i].line == line) {
            set[i].last = r->t;
            int hit = (set[i].valid & bit) != 0;
            if (!hit && !write)
                r->fills++;
            set[i].valid |= bit;
            if (write)
                set[i].dirty |= bit;
            hit ? r->hits++ : r->misses++;
            return hit;
        }
    int v = -1;
    for (int i = 0; i < r->ways; i++)
        if (!set[i].used) {
            v = i;
            break;
        }
    if (v < 0) {
        v = 0;
        for (int i = 1; i < r->ways; i++)
            if (set[i].last < set[v].last)
                v = i;
        r->wb += (uint64_t)__builtin_popcount(set[v].dirty);
    }
    set[v] = (ref_way){1, line, r->t, bit, write ? bit : 0};
    if (!write)
        r->fills++;
    r->misses++;
    return 0;
}

static uint64_t rng_state = 88172645463325252ull;
static uint64_t rng(void)
{
    return synth_rng(&rng_state);
}

/* Random streams (a mix of a hot set and a wide range, line numbers below and above 2^32)
 * through caches with 1..7 sets x 1..5 ways and a 25600-set one, against the reference. */
static void test_against_reference(void **state)
{
    (void)state;
    const struct { int64_t sets; int ways, line, sector; } geo[] = {
        {1, 4, 128, 32}, {3, 2, 128, 32}, {5, 3, 64, 32}, {6, 4, 128, 32}, {7, 1, 32, 32},
        {2, 5, 128, 16}, {25600, 16, 128, 32}, {4, 2, 128, 32},
    };
    for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
        int64_t cap = geo[g].sets * geo[g].ways * geo[g].line;
        iob_cache *c = mk(cap, geo[g].line, geo[g].sector, geo[g].ways, IOB_CACHE_LRU,
                          IOB_CACHE_WRITE_BACK);
        ref_cache r = {(uint64_t)geo[g].sets, geo[g].ways, geo[g].line, geo[g].sector,
                       calloc((size_t)(geo[g].sets * geo[g].ways), sizeof(ref_way)), 0, 0, 0, 0, 0};
        uint64_t span = (uint64_t)(geo[g].sets * geo[g].ways) * 3 * (uint64_t)geo[g].line;
        for (int i = 0; i < 200000; i++) {
            uint64_t x = rng();
            uint64_t addr = (x % 4 == 0) ? (x >> 8) % span
                            : (x % 4 == 1) ? (1ull << 40) + (x >> 8) % span /* lines > 2^32 */
                                           : (x >> 8) % (span / 8);
            addr &= ~(uint64_t)(geo[g].sector - 1);
            int w = (x >> 5) % 5 == 0;
            assert_int_equal(iob_cache_access(c, addr, w), ref_access(&r, addr, w));
        }
        iob_cache_stats s = iob_cache_stats_get(c);
        assert_int_equal(s.read_hits + s.write_hits, r.hits);
        assert_int_equal(s.read_misses + s.write_misses, r.misses);
        assert_int_equal(s.fill_sectors, r.fills);
        assert_int_equal(s.writeback_sectors, r.wb);
        free(r.w);
        iob_cache_destroy(c);
    }
}

/* The batch call gives exactly what one call per access gives. */
static void test_run_equals_access(void **state)
{
    (void)state;
    size_t n = 100000;
    uint64_t *ops = malloc(n * sizeof *ops), *next = malloc(n * sizeof *next);
    for (size_t i = 0; i < n; i++) {
        uint64_t x = rng();
        ops[i] = ((x >> 8) % 40000) * 32 | ((x & 7) == 0);
    }
    assert_int_equal(iob_nextuse_compute(ops, n, 128, next, NULL), IOB_OK);
    for (int pol = 0; pol < 2; pol++) {
        iob_cache *a = mk(96 * 1024, 128, 32, 4, (iob_cache_policy)pol, IOB_CACHE_WRITE_BACK);
        iob_cache *b = mk(96 * 1024, 128, 32, 4, (iob_cache_policy)pol, IOB_CACHE_WRITE_BACK);
        if (pol == IOB_CACHE_LRU)
            iob_cache_run(a, ops, n);
        else
            iob_cache_run_opt(a, ops, next, n);
        for (size_t i = 0; i < n; i++)
            iob_cache_access_opt(b, ops[i] & ~1ull, (int)(ops[i] & 1), next[i]);
        iob_cache_stats sa = iob_cache_stats_get(a), sb = iob_cache_stats_get(b);
        assert_memory_equal(&sa, &sb, sizeof sa);
        iob_cache_destroy(a);
        iob_cache_destroy(b);
    }
    free(ops);
    free(next);
}

/* ---- OPT: optimal against exhaustive search, never worse than LRU ------------------------- */

/* Fewest misses of a fully associative cache of `ways` lines over every replacement choice. */
static int min_misses(const int *seq, int n, int pos, int *held, int nheld, int ways)
{
    if (pos == n)
        return 0;
    for (int i = 0; i < nheld; i++)
        if (held[i] == seq[pos])
            return min_misses(seq, n, pos + 1, held, nheld, ways);
    if (nheld < ways) {
        held[nheld] = seq[pos];
        int m = 1 + min_misses(seq, n, pos + 1, held, nheld + 1, ways);
        return m;
    }
    int best = 1 << 30;
    for (int v = 0; v < nheld; v++) {
        int old = held[v];
        held[v] = seq[pos];
        int m = 1 + min_misses(seq, n, pos + 1, held, nheld, ways);
        held[v] = old;
        best = m < best ? m : best;
    }
    return best;
}

static void test_opt_is_optimal(void **state)
{
    (void)state;
    for (int trial = 0; trial < 300; trial++) {
        int ways = 2 + trial % 2, n = 13, nlines = 4 + trial % 3;
        int seq[13];
        uint64_t lines[13];
        for (int i = 0; i < n; i++) {
            seq[i] = (int)(rng() % (uint64_t)nlines);
            lines[i] = (uint64_t)seq[i];
        }
        int held[4];
        int best = min_misses(seq, n, 0, held, 0, ways);
        iob_cache *c = mk(64 * ways, 64, 64, ways, IOB_CACHE_OPT, IOB_CACHE_WRITE_BACK);
        run_lines(c, lines, (size_t)n, 64, NULL, NULL);
        assert_int_equal(iob_cache_stats_get(c).read_misses, best);
        iob_cache_destroy(c);
    }
}

static void test_opt_never_worse_than_lru(void **state)
{
    (void)state;
    size_t n = 50000;
    uint64_t *lines = malloc(n * sizeof *lines);
    uint8_t *wr = malloc(n);
    for (int trial = 0; trial < 24; trial++) {
        int ways = 1 + trial % 8, sets = 1 + trial % 5;
        uint64_t range = (uint64_t)(ways * sets) * (2 + trial % 3);
        for (size_t i = 0; i < n; i++) {
            uint64_t x = rng();
            /* runs and reuse, like a tiled loop: mostly a sliding window, sometimes far */
            lines[i] = (x % 3 == 0) ? (x >> 4) % range : (i / 7 + (x >> 4) % 5) % range;
            wr[i] = (x >> 9) % 11 == 0;
        }
        uint64_t miss[2];
        for (int pol = 0; pol < 2; pol++) {
            iob_cache *c = mk(64 * ways * sets, 64, 64, ways, (iob_cache_policy)pol,
                              IOB_CACHE_WRITE_BACK);
            run_lines(c, lines, n, 64, wr, NULL);
            iob_cache_stats s = iob_cache_stats_get(c);
            miss[pol] = s.read_misses + s.write_misses;
            iob_cache_destroy(c);
        }
        assert_true(miss[IOB_CACHE_OPT] <= miss[IOB_CACHE_LRU]);
        if (ways > 1 && trial % 3 == 0) /* a cycle longer than the cache: LRU misses always */
            assert_true(miss[IOB_CACHE_OPT] < miss[IOB_CACHE_LRU]);
    }
    free(lines);
    free(wr);
}

/* ---- next-use positions ------------------------------------------------------------------ */

static void test_nextuse_small(void **state)
{
    (void)state;
    /* lines (128 B): 0 0 1 0 2 1; sector addresses within lines */
    const uint64_t ops[] = {0, 32 | 1, 128, 96, 256, 160};
    uint64_t next[6];
    const uint64_t want[] = {1, 3, 5, IOB_NEXT_USE_NEVER, IOB_NEXT_USE_NEVER,
                             IOB_NEXT_USE_NEVER};
    assert_int_equal(iob_nextuse_compute(ops, 6, 128, next, NULL), IOB_OK);
    assert_memory_equal(next, want, sizeof want);
    iob_error err;
    assert_int_equal(iob_nextuse_compute(ops, 6, 100, next, &err), IOB_EINVAL);
    const uint64_t sparse[] = {0, 1ull << 62};
    assert_int_equal(iob_nextuse_compute(sparse, 2, 128, next, &err), IOB_ENOMEM);
    assert_non_null(strstr(err.msg, "next-use table"));
}

/* The streamed file (several chunks, pushed in uneven pieces) equals the in-memory result. */
static void test_nextuse_streamed(void **state)
{
    (void)state;
    size_t n = 2 * IOB_NEXTUSE_CHUNK + 12345;
    uint64_t *ops = malloc(n * sizeof *ops), *a = malloc(n * sizeof *a), *b = malloc(n * sizeof *b);
    for (size_t i = 0; i < n; i++)
        ops[i] = (1ull << 30) + ((rng() >> 3) % 3000000) * 32;
    assert_int_equal(iob_nextuse_compute(ops, n, 128, a, NULL), IOB_OK);
    iob_nextuse *nu;
    iob_error err = {0};
    assert_int_equal(iob_nextuse_open(128, NULL, &nu, &err), IOB_OK);
    for (size_t i = 0; i < n;) {
        size_t k = 1 + rng() % 300000;
        k = k < n - i ? k : n - i;
        assert_int_equal(iob_nextuse_push(nu, ops + i, k, &err), IOB_OK);
        i += k;
    }
    assert_int_equal(iob_nextuse_count(nu), n);
    assert_int_equal(iob_nextuse_read(nu, b, 1, &err), IOB_EINVAL); /* before finish */
    assert_int_equal(iob_nextuse_finish(nu, &err), IOB_OK);
    assert_int_equal(iob_nextuse_push(nu, ops, 1, &err), IOB_EINVAL);
    for (size_t i = 0; i < n;) {
        size_t k = 1 + rng() % 500000;
        k = k < n - i ? k : n - i;
        assert_int_equal(iob_nextuse_read(nu, b + i, k, &err), IOB_OK);
        i += k;
    }
    assert_memory_equal(a, b, n * sizeof *a);
    assert_int_equal(iob_nextuse_read(nu, b, 1, &err), IOB_EINVAL); /* past the end */
    assert_non_null(strstr(err.msg, "not deterministic"));
    iob_nextuse_close(nu);
    assert_int_equal(iob_nextuse_open(128, "/nonexistent/dir", &nu, &err), IOB_EIO);
    assert_non_null(strstr(err.msg, "/nonexistent/dir"));
    free(ops);
    free(a);
    free(b);
}

static void test_bad_configs(void **state)
{
    (void)state;
    const struct { iob_cache_config cfg; const char *msg; } bad[] = {
        {{1000, 128, 32, 16, 0, 0}, "multiple of line x ways"},
        {{4096, 96, 32, 4, 0, 0}, "power of two"},
        {{4096, 128, 48, 4, 0, 0}, "sector of 48 bytes"},
        {{4096, 128, 256, 4, 0, 0}, "sector of 256 bytes"},
        {{4096, 256, 16, 4, 0, 0}, "at most 8"},
        {{4096, 128, 32, 0, 0, 0}, "0 ways"},
        {{1 << 20, 128, 32, 65, 0, 0}, "65 ways"},
        {{0, 128, 32, 4, 0, 0}, "positive multiple"},
        {{4096, 128, 32, 4, (iob_cache_policy)7, 0}, "replacement policy"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        static int dummy;
        iob_cache *c = (iob_cache *)(void *)&dummy;
        iob_error err = {0};
        assert_int_equal(iob_cache_create(&bad[i].cfg, &c, &err), IOB_EINVAL);
        assert_null(c);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("config %zu: '%s' lacks '%s'", i, err.msg, bad[i].msg);
    }
    iob_cache_policy p;
    iob_error err;
    assert_int_equal(iob_cache_policy_parse("opt", &p, &err), IOB_OK);
    assert_int_equal(p, IOB_CACHE_OPT);
    assert_string_equal(iob_cache_policy_name(p), "opt");
    assert_int_equal(iob_cache_policy_parse("fifo", &p, &err), IOB_EINVAL);
    assert_non_null(strstr(err.msg, "'fifo'"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lru_opt_hand_made),
        cmocka_unit_test(test_sectors_writeback),
        cmocka_unit_test(test_writeback_chain),
        cmocka_unit_test(test_write_through),
        cmocka_unit_test(test_modulo_sets),
        cmocka_unit_test(test_against_reference),
        cmocka_unit_test(test_run_equals_access),
        cmocka_unit_test(test_opt_is_optimal),
        cmocka_unit_test(test_opt_never_worse_than_lru),
        cmocka_unit_test(test_nextuse_small),
        cmocka_unit_test(test_nextuse_streamed),
        cmocka_unit_test(test_bad_configs),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
