/* test_sim_pycachesim.c - our cache against a simulator nobody here wrote: traces dumped in
 * Dinero IV's din format are replayed through pycachesim (PyPI "pycachesim", module cachesim)
 * by bench/pycachesim_replay.py with the same geometry (sets, ways, line size, LRU), and the hit,
 * miss and eviction counts must be equal.
 *
 * pycachesim is not sectored, so our cache runs with one sector per line here. Its semantics
 * (read from its backend.c; bench/pycachesim_replay.py lists them): a store that misses is a
 * write-allocate load (LOAD and MISS), a store that hits counts neither HIT nor MISS and does not
 * refresh the LRU order, EVICT counts dirty lines written back. Our store hits do refresh the LRU
 * order, so the traces store only to lines never touched before (as a convolution writes its
 * outputs); then the two models must agree exactly:
 *   HIT = our read hits, MISS = our read + write misses, LOAD = loads + write misses,
 *   STORE = stores, EVICT = our dirty lines evicted.
 * Exits 77 (skipped) when python3 or the cachesim module is missing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cjson/cJSON.h>
#include <cmocka.h>

#include "iobound/sim.h"
#include "tests/sim_synth.h"

typedef struct pyc {
    double load, store, hit, miss, evict, accesses;
} pyc;

static pyc replay(const char *din_path, int64_t sets, int ways, int line)
{
    char cmd[1024];
    snprintf(cmd, sizeof cmd,
             "python3 '%s/bench/pycachesim_replay.py' '%s' --sets %lld --ways %d --line %d",
             IOB_SOURCE_DIR, din_path, (long long)sets, ways, line);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char out[4096];
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int rc = pclose(p);
    if (rc != 0)
        fail_msg("'%s' failed (%d): %s", cmd, rc, out);
    cJSON *j = cJSON_Parse(out);
    if (!j)
        fail_msg("not JSON: %s", out);
    pyc r = {
        cJSON_GetObjectItem(j, "LOAD_count")->valuedouble,
        cJSON_GetObjectItem(j, "STORE_count")->valuedouble,
        cJSON_GetObjectItem(j, "HIT_count")->valuedouble,
        cJSON_GetObjectItem(j, "MISS_count")->valuedouble,
        cJSON_GetObjectItem(j, "EVICT_count")->valuedouble,
        cJSON_GetObjectItem(j, "accesses")->valuedouble,
    };
    cJSON_Delete(j);
    return r;
}

static FILE *temp_din(char *path, size_t size)
{
    const char *dir = getenv("TMPDIR");
    snprintf(path, size, "%s/iob-pycachesim-XXXXXX", dir && *dir ? dir : "/tmp");
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    FILE *f = fdopen(fd, "w");
    assert_non_null(f);
    return f;
}

static void compare(const pyc *p, const iob_cache_stats *s, uint64_t loads, uint64_t stores)
{
    assert_int_equal(s->write_hits, 0); /* the trace's stores go to fresh lines */
    assert_int_equal((uint64_t)p->accesses, loads + stores);
    assert_int_equal((uint64_t)p->hit, s->read_hits);
    assert_int_equal((uint64_t)p->miss, s->read_misses + s->write_misses);
    assert_int_equal((uint64_t)p->load, loads + s->write_misses);
    assert_int_equal((uint64_t)p->store, stores);
    assert_int_equal((uint64_t)p->evict, s->dirty_evicted_lines);
}

static uint64_t rng_state = 0x9E3779B97F4A7C15ull;
static uint64_t rng(void)
{
    return synth_rng(&rng_state);
}

/* Random loads (a hot range and a wide one) and stores to fresh lines that are loaded later. */
static void test_random_traces(void **state)
{
    (void)state;
    const struct { int64_t sets; int ways, line; } geo[] = {
        {4, 2, 64}, {3, 4, 64}, {25, 16, 128}, {1, 8, 32}, {7, 3, 128}, {96, 16, 32},
    };
    for (size_t g = 0; g < sizeof geo / sizeof geo[0]; g++) {
        int line = geo[g].line;
        iob_cache_config cc = {geo[g].sets * geo[g].ways * line, line, line, geo[g].ways,
                               IOB_CACHE_LRU, IOB_CACHE_WRITE_BACK};
        iob_cache *c;
        assert_int_equal(iob_cache_create(&cc, &c, NULL), IOB_OK);
        char path[512];
        FILE *f = temp_din(path, sizeof path);
        uint64_t lines = (uint64_t)(geo[g].sets * geo[g].ways), fresh = 1 << 20;
        uint64_t loads = 0, stores = 0;
        for (int i = 0; i < 60000; i++) {
            uint64_t x = rng(), addr;
            int w = x % 7 == 0;
            if (w)
                addr = (fresh++) * (uint64_t)line;
            else if (x % 7 == 1 && fresh > (1 << 20)) /* reload a stored line */
                addr = ((1 << 20) + (x >> 8) % (fresh - (1 << 20))) * (uint64_t)line;
            else
                addr = ((x >> 8) % (x % 3 ? 2 * lines : 5 * lines)) * (uint64_t)line +
                       (x >> 40) % (uint64_t)line;
            iob_cache_access(c, addr, w);
            w ? stores++ : loads++;
            fprintf(f, "%d %llx\n", w, (unsigned long long)addr);
        }
        fclose(f);
        pyc p = replay(path, geo[g].sets, geo[g].ways, line);
        iob_cache_stats s = iob_cache_stats_get(c);
        assert_true(s.read_hits > 1000 && s.dirty_evicted_lines > 100);
        compare(&p, &s, loads, stores);
        unlink(path);
        iob_cache_destroy(c);
    }
}

/* A synthetic convolution through the GPU replay, its din output replayed by pycachesim:
 * a 96-set (not a power of two) L2 of 32-byte lines. Output rows are 64 bytes (W = 16) and
 * column tiles 8 wide, so each output sector is stored exactly once. */
static void test_conv_din(void **state)
{
    (void)state;
    synth_conv s = {.n = 2, .c = 12, .h = 16, .w = 16, .k = 24,
                    .tile_k = 8, .tile_p = 4, .tile_q = 8, .tile_c = 4};
    synth_conv_layout(&s);
    iob_trace t;
    synth_conv_trace(&s, &t);
    iob_machine m;
    assert_int_equal(iob_machine_get("h100-sxm", &m, NULL), IOB_OK);
    char path[512];
    FILE *f = temp_din(path, sizeof path);
    iob_sim_opts o;
    iob_sim_opts_init(&o);
    o.l2_bytes = 96 * 16 * 32;
    o.l2_line_bytes = 32;
    o.l2_ways = 16;
    o.sm_count = 6;
    o.blocks_per_sm = 2;
    o.din = f;
    iob_sim_result r;
    iob_error err = {0};
    if (iob_sim_run(&t, &m, &o, &r, &err))
        fail_msg("%s", err.msg);
    fclose(f);
    assert_int_equal(r.l2_sets, 96);
    pyc p = replay(path, 96, 16, 32);
    assert_true(r.l2.read_hits > 1000 && r.l2.dirty_evicted_lines > 100);
    compare(&p, &r.l2, r.l2_read_sectors, r.l2_write_sectors);
    unlink(path);
}

int main(void)
{
    if (system("python3 -c 'import cachesim' >/dev/null 2>&1") != 0) {
        fprintf(stderr, "python3 with pycachesim (module cachesim) not found: skipped\n");
        return 77;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_random_traces),
        cmocka_unit_test(test_conv_din),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
