/* cache.c - one level of a sectored set-associative cache, LRU or Belady's OPT, write-back or
 * write-through, counted per sector.
 *
 * Model (the L2 of an NVIDIA GPU to first order: 128-byte lines of four 32-byte sectors):
 *   - a line is allocated and replaced as a whole; each of its sectors is valid or not, and
 *     dirty or not, on its own; a read of an absent sector fills that sector only;
 *   - set = line mod sets (any number of sets; a mask when it is a power of two, else Lemire's
 *     multiply-shift remainder for line numbers below 2^32, else %);
 *   - LRU: each way carries a key, larger = better victim: LRU keys count down with every access;
 *     OPT keys are the next use of the line (Belady 1966, "A study of replacement algorithms for a
 *     virtual-storage computer": replacing the line used farthest in the future minimises the
 *     misses of a demand-fetched fully associative cache; per set it is the same rule). An empty
 *     way has the largest key, so it is filled first; no access bypasses the cache;
 *   - write-back + write-allocate: a store marks its sector valid and dirty and reads nothing,
 *     because the trace's stores cover whole sectors (trace.h: sector-granular stores; a store of
 *     part of a sector would need a fill on a cache without byte masks, which this model does
 *     not count); dirty sectors are written back when their line is evicted or flushed;
 *   - write-through (L1): stores update a present sector, allocate nothing, write nothing back.
 *
 * Speed: state is four flat arrays (tag, key, valid mask, dirty mask) indexed set * ways + way,
 * allocated once; an access does no allocation. Consecutive accesses to the same line (a run of
 * sectors) skip the tag search through a one-entry memo of the last line and its slot.
 * bench/bench_sim_throughput.c measures it (docs/results/sim.md).
 */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/sim.h"

#define TAG_NONE UINT64_MAX        /* empty way: no line number reaches it (addr >> 1 at most) */
#define KEY_EMPTY UINT64_MAX       /* empty ways are replaced first */
#define KEY_NEVER (UINT64_MAX - 1) /* OPT: a line with no further use */
#define KEY_LRU_TOP (UINT64_MAX - 2)

#ifdef __SIZEOF_INT128__
__extension__ typedef unsigned __int128 u128;
#endif

struct iob_cache {
    iob_cache_config cfg;
    uint64_t sets;
    int ways;
    int line_shift, sector_shift;
    uint64_t sector_mask;  /* sectors per line - 1 */
    uint64_t set_mask;     /* sets - 1 when sets is a power of two */
    int sets_pow2;
    uint64_t fastmod_m;    /* Lemire: ceil(2^64 / sets) */
    int write_back;
    uint64_t *tag, *key;
    uint8_t *valid, *dirty;
    uint64_t clock;        /* LRU: accesses so far */
    uint64_t last_line;    /* memo of the last line accessed and its slot */
    size_t last_slot;
    uint64_t hits[2], misses[2]; /* [0] read, [1] write */
    uint64_t fills, writebacks, flushed, evicted, dirty_evicted;
};

static int is_pow2(int64_t v)
{
    return v > 0 && (v & (v - 1)) == 0;
}

static int log2i(int64_t v)
{
    int s = 0;
    while ((INT64_C(1) << s) < v)
        s++;
    return s;
}

iob_status iob_cache_config_check(const iob_cache_config *cfg, iob_error *err)
{
    if (!is_pow2(cfg->line_bytes))
        return iob_error_set(err, IOB_EINVAL, "cache line of %d bytes: must be a power of two",
                             cfg->line_bytes);
    if (!is_pow2(cfg->sector_bytes) || cfg->sector_bytes < 2 ||
        cfg->sector_bytes > cfg->line_bytes)
        return iob_error_set(err, IOB_EINVAL,
                             "cache sector of %d bytes: must be a power of two from 2 to the "
                             "line size (%d)", cfg->sector_bytes, cfg->line_bytes);
    if (cfg->line_bytes / cfg->sector_bytes > 8)
        return iob_error_set(err, IOB_EINVAL, "%d sectors per line: at most 8 are supported",
                             cfg->line_bytes / cfg->sector_bytes);
    if (cfg->ways < 1 || cfg->ways > 64)
        return iob_error_set(err, IOB_EINVAL, "%d ways: must be from 1 to 64", cfg->ways);
    if (cfg->policy != IOB_CACHE_LRU && cfg->policy != IOB_CACHE_OPT)
        return iob_error_set(err, IOB_EINVAL, "unknown replacement policy %d", (int)cfg->policy);
    if (cfg->write != IOB_CACHE_WRITE_BACK && cfg->write != IOB_CACHE_WRITE_THROUGH)
        return iob_error_set(err, IOB_EINVAL, "unknown write policy %d", (int)cfg->write);
    int64_t set_bytes = (int64_t)cfg->line_bytes * cfg->ways;
    if (cfg->capacity_bytes < set_bytes || cfg->capacity_bytes % set_bytes)
        return iob_error_set(err, IOB_EINVAL,
                             "cache of %lld bytes: must be a positive multiple of line x ways = "
                             "%d x %d = %lld bytes",
                             (long long)cfg->capacity_bytes, cfg->line_bytes, cfg->ways,
                             (long long)set_bytes);
    if (cfg->capacity_bytes / set_bytes > UINT32_MAX)
        return iob_error_set(err, IOB_EINVAL, "cache of %lld bytes: more than 2^32 sets",
                             (long long)cfg->capacity_bytes);
    return IOB_OK;
}

static void cache_clear(iob_cache *c)
{
    size_t n = (size_t)c->sets * (size_t)c->ways;
    for (size_t i = 0; i < n; i++) {
        c->tag[i] = TAG_NONE;
        c->key[i] = KEY_EMPTY;
    }
    memset(c->valid, 0, n);
    memset(c->dirty, 0, n);
    c->last_line = TAG_NONE;
    c->last_slot = 0;
}

iob_status iob_cache_create(const iob_cache_config *cfg, iob_cache **out, iob_error *err)
{
    *out = NULL;
    iob_status st = iob_cache_config_check(cfg, err);
    if (st)
        return st;
    iob_cache *c = calloc(1, sizeof *c);
    if (!c)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for a cache");
    c->cfg = *cfg;
    c->ways = cfg->ways;
    c->sets = (uint64_t)(cfg->capacity_bytes / ((int64_t)cfg->line_bytes * cfg->ways));
    c->line_shift = log2i(cfg->line_bytes);
    c->sector_shift = log2i(cfg->sector_bytes);
    c->sector_mask = (uint64_t)(cfg->line_bytes / cfg->sector_bytes) - 1;
    c->sets_pow2 = is_pow2((int64_t)c->sets);
    c->set_mask = c->sets - 1;
    c->fastmod_m = UINT64_MAX / c->sets + 1;
    c->write_back = cfg->write == IOB_CACHE_WRITE_BACK;
    size_t n = (size_t)c->sets * (size_t)c->ways;
    c->tag = malloc(n * sizeof *c->tag);
    c->key = malloc(n * sizeof *c->key);
    c->valid = malloc(n);
    c->dirty = malloc(n);
    if (!c->tag || !c->key || !c->valid || !c->dirty) {
        iob_cache_destroy(c);
        return iob_error_set(err, IOB_ENOMEM, "out of memory for a cache of %llu lines",
                             (unsigned long long)n);
    }
    cache_clear(c);
    *out = c;
    return IOB_OK;
}

void iob_cache_destroy(iob_cache *c)
{
    if (!c)
        return;
    free(c->tag);
    free(c->key);
    free(c->valid);
    free(c->dirty);
    free(c);
}

int64_t iob_cache_sets(const iob_cache *c)
{
    return (int64_t)c->sets;
}

static inline uint64_t set_of(const iob_cache *c, uint64_t line)
{
    if (c->sets_pow2)
        return line & c->set_mask;
#ifdef __SIZEOF_INT128__
    /* Lemire, Kaser, Kurz, "Faster remainder by direct computation" (2019): exact for 32-bit
     * numerator and divisor; a 64-bit division costs 13-44 cycles on x86 against ~4 here. */
    if (line <= UINT32_MAX) {
        uint64_t low = c->fastmod_m * line;
        return (uint64_t)(((u128)low * c->sets) >> 64);
    }
#endif
    return line % c->sets;
}

/* A miss on a line that is not present: picks the victim (largest key), writes back its dirty
 * sectors, installs the line holding this one sector. Returns its slot. */
static size_t line_install(iob_cache *c, uint64_t line, size_t base, uint8_t bit, int write,
                           uint64_t key)
{
    size_t v = base;
    uint64_t best = c->key[base];
    for (int w = 1; w < c->ways && best != KEY_EMPTY; w++)
        if (c->key[base + (size_t)w] > best) {
            best = c->key[base + (size_t)w];
            v = base + (size_t)w;
        }
    if (c->tag[v] != TAG_NONE) {
        c->evicted++;
        if (c->dirty[v]) {
            c->dirty_evicted++;
            c->writebacks += (uint64_t)__builtin_popcount(c->dirty[v]);
        }
    }
    c->tag[v] = line;
    c->key[v] = key;
    c->valid[v] = bit;
    c->dirty[v] = write ? bit : 0;
    return v;
}

static inline uint64_t opt_key(uint64_t next_use)
{
    return next_use < KEY_NEVER ? next_use : KEY_NEVER;
}

/* The one access loop behind every entry point (inlined with opt constant). The hot state is
 * kept in locals: stores through key[] would otherwise force the compiler to reload the cache's
 * fields after each access (they may alias). Returns the number of hits. */
static inline uint64_t run_loop(iob_cache *c, const uint64_t *ops, const uint64_t *next,
                                size_t n, int opt)
{
    uint64_t *restrict tag = c->tag, *restrict key = c->key;
    uint8_t *restrict valid = c->valid, *restrict dirty = c->dirty;
    const int line_shift = c->line_shift, sector_shift = c->sector_shift, ways = c->ways;
    const int write_back = c->write_back;
    const uint64_t sector_mask = c->sector_mask;
    uint64_t last_line = c->last_line, clock = c->clock;
    size_t last_slot = c->last_slot;
    uint64_t rh = 0, rm = 0, wh = 0, wm = 0, fills = 0;
    for (size_t j = 0; j < n; j++) {
        uint64_t op = ops[j];
        int w = (int)(op & 1);
        uint64_t line = op >> line_shift;
        uint8_t bit = (uint8_t)(1u << ((op >> sector_shift) & sector_mask));
        uint64_t k = opt ? opt_key(next[j]) : KEY_LRU_TOP - ++clock;
        size_t i;
        if (line == last_line) {
            i = last_slot;
        } else {
            size_t base = (size_t)set_of(c, line) * (size_t)ways;
            int x = 0;
            while (x < ways && tag[base + (size_t)x] != line)
                x++;
            if (x == ways) { /* the line is absent */
                if (w) {
                    wm++;
                    if (!write_back)
                        continue; /* write-through: no allocation */
                } else {
                    rm++;
                    fills++;
                }
                last_slot = line_install(c, line, base, bit, w, k);
                last_line = line;
                continue;
            }
            i = base + (size_t)x;
            last_line = line;
            last_slot = i;
        }
        key[i] = k;
        uint8_t v = valid[i];
        if (v & bit) {
            if (w) {
                wh++;
                if (write_back)
                    dirty[i] |= bit;
            } else {
                rh++;
            }
        } else if (w) {
            wm++;
            if (write_back) {
                valid[i] = v | bit;
                dirty[i] |= bit;
            }
        } else {
            rm++;
            fills++;
            valid[i] = v | bit;
        }
    }
    c->last_line = last_line;
    c->last_slot = last_slot;
    c->clock = clock;
    c->hits[0] += rh;
    c->hits[1] += wh;
    c->misses[0] += rm;
    c->misses[1] += wm;
    c->fills += fills;
    return rh + wh;
}

int iob_cache_access(iob_cache *c, uint64_t addr, int write)
{
    uint64_t op = (addr & ~(uint64_t)1) | (write != 0);
    return (int)run_loop(c, &op, NULL, 1, 0);
}

int iob_cache_access_opt(iob_cache *c, uint64_t addr, int write, uint64_t next_use)
{
    uint64_t op = (addr & ~(uint64_t)1) | (write != 0);
    if (c->cfg.policy == IOB_CACHE_OPT)
        return (int)run_loop(c, &op, &next_use, 1, 1);
    return (int)run_loop(c, &op, NULL, 1, 0);
}

void iob_cache_run(iob_cache *c, const uint64_t *ops, size_t n)
{
    run_loop(c, ops, NULL, n, 0);
}

void iob_cache_run_opt(iob_cache *c, const uint64_t *ops, const uint64_t *next, size_t n)
{
    if (c->cfg.policy == IOB_CACHE_OPT)
        run_loop(c, ops, next, n, 1);
    else
        run_loop(c, ops, NULL, n, 0);
}

void iob_cache_flush(iob_cache *c)
{
    size_t n = (size_t)c->sets * (size_t)c->ways;
    for (size_t i = 0; i < n; i++)
        if (c->dirty[i]) {
            c->flushed += (uint64_t)__builtin_popcount(c->dirty[i]);
            c->dirty[i] = 0;
        }
}

void iob_cache_invalidate(iob_cache *c)
{
    cache_clear(c);
}

iob_cache_stats iob_cache_stats_get(const iob_cache *c)
{
    iob_cache_stats s;
    s.read_hits = c->hits[0];
    s.read_misses = c->misses[0];
    s.write_hits = c->hits[1];
    s.write_misses = c->misses[1];
    s.fill_sectors = c->fills;
    s.writeback_sectors = c->writebacks;
    s.flush_sectors = c->flushed;
    s.evicted_lines = c->evicted;
    s.dirty_evicted_lines = c->dirty_evicted;
    return s;
}

void iob_cache_stats_reset(iob_cache *c)
{
    c->hits[0] = c->hits[1] = c->misses[0] = c->misses[1] = 0;
    c->fills = c->writebacks = c->flushed = c->evicted = c->dirty_evicted = 0;
}

const char *iob_cache_policy_name(iob_cache_policy p)
{
    return p == IOB_CACHE_OPT ? "opt" : "lru";
}

iob_status iob_cache_policy_parse(const char *text, iob_cache_policy *p, iob_error *err)
{
    if (!strcmp(text, "lru"))
        *p = IOB_CACHE_LRU;
    else if (!strcmp(text, "opt"))
        *p = IOB_CACHE_OPT;
    else
        return iob_error_set(err, IOB_EINVAL, "replacement policy '%s': expected lru or opt",
                             text);
    return IOB_OK;
}
