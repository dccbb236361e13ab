/* sim.h - the cache simulator: a sectored set-associative cache (LRU or Belady's OPT), the
 * next-use streams OPT needs, and the GPU replay of a config's trace (blocks on SMs in waves,
 * optional per-SM L1, one shared L2, DRAM traffic from the L2's fills and write-backs).
 *
 * Module layout (DESIGN.md, one purpose per file):
 *   sim/cache.c    iob_cache_*: the cache of one level
 *   sim/nextuse.c  iob_nextuse_*: next-use positions for OPT, streamed through a temporary file
 *   sim/gpu_sim.c  iob_sim_*: blocks -> SMs -> L1 -> L2 -> DRAM, and the din trace output
 *
 * Addresses are byte addresses. A "packed access" is one 64-bit word: the sector's byte address
 * with bit 0 set for a store (addresses of sectors are multiples of the sector size, so bit 0 is
 * free; the bits below the sector size are otherwise ignored).
 */
#ifndef IOBOUND_SIM_H
#define IOBOUND_SIM_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "iobound/dataflow.h"
#include "iobound/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ---- one cache level (sim/cache.c) ------------------------------------------------------- */

typedef enum iob_cache_policy {
    IOB_CACHE_LRU = 0, /* least recently used line of the set is replaced */
    IOB_CACHE_OPT = 1  /* Belady's MIN: the line whose next use is farthest is replaced */
} iob_cache_policy;

typedef enum iob_cache_write {
    /* Stores mark their sector dirty; a store to an absent line allocates the line but fills
     * nothing (the store covers the whole sector); dirty sectors go to the next level when
     * their line is evicted or flushed. (The L2.) */
    IOB_CACHE_WRITE_BACK = 0,
    /* Stores go through to the next level; they update a sector that is present and allocate
     * nothing. (The SM's L1.) */
    IOB_CACHE_WRITE_THROUGH = 1
} iob_cache_write;

typedef struct iob_cache_config {
    int64_t capacity_bytes; /* a multiple of line_bytes * ways; the set count need not be a power
                               of two (50 MiB / (128 B * 16) = 25600 sets) */
    int line_bytes;         /* power of two: the unit of allocation and replacement (L2: 128) */
    int sector_bytes;       /* power of two, >= 2, dividing line_bytes, line_bytes / sector_bytes
                               <= 8: the unit of fills, hits and write-backs (32) */
    int ways;               /* 1 .. 64 */
    iob_cache_policy policy;
    iob_cache_write write;
} iob_cache_config;

/* Counts, all in sector accesses or sectors. A read hit needs the sector present; a "write hit"
 * is a store to a present sector (it never moves data from the next level either way). */
typedef struct iob_cache_stats {
    uint64_t read_hits, read_misses;
    uint64_t write_hits, write_misses;
    uint64_t fill_sectors;      /* sectors read from the next level (one per read miss) */
    uint64_t writeback_sectors; /* dirty sectors written to the next level on eviction */
    uint64_t flush_sectors;     /* dirty sectors written by iob_cache_flush() */
    uint64_t evicted_lines;     /* valid lines replaced */
    uint64_t dirty_evicted_lines; /* of which held at least one dirty sector */
} iob_cache_stats;

typedef struct iob_cache iob_cache;

/* Checks a config: IOB_EINVAL naming the bad field (line not a power of two, capacity not a
 * multiple of line * ways, ...). */
iob_status iob_cache_config_check(const iob_cache_config *cfg, iob_error *err);

/* Creates an empty cache. Fails with IOB_EINVAL (bad config) or IOB_ENOMEM. The cache is owned
 * by the caller and released with iob_cache_destroy(). One cache is not thread-safe; different
 * caches are independent. */
iob_status iob_cache_create(const iob_cache_config *cfg, iob_cache **out, iob_error *err);
void iob_cache_destroy(iob_cache *c);

/* Number of sets (capacity / (line * ways)). */
int64_t iob_cache_sets(const iob_cache *c);

/* One access of the sector that holds addr; write = 1 for a store. Returns 1 on a hit (the
 * sector was present), 0 on a miss. LRU caches only (OPT needs next_use: the _opt variants). */
int iob_cache_access(iob_cache *c, uint64_t addr, int write);

/* OPT: next_use is the position, in the stream of this cache's accesses, of the next access to
 * the same line (IOB_NEXT_USE_NEVER if there is none); positions only need to increase along the
 * stream. Also valid for an LRU cache, which ignores next_use. */
#define IOB_NEXT_USE_NEVER UINT64_MAX
int iob_cache_access_opt(iob_cache *c, uint64_t addr, int write, uint64_t next_use);

/* n packed accesses (address | store bit) in order; the fast path, for LRU caches. */
void iob_cache_run(iob_cache *c, const uint64_t *ops, size_t n);
/* The same with next-use positions (next[i] for ops[i]); for OPT (and LRU) caches. */
void iob_cache_run_opt(iob_cache *c, const uint64_t *ops, const uint64_t *next, size_t n);

/* Writes every dirty sector back (counted in flush_sectors) and marks them clean; lines stay. */
void iob_cache_flush(iob_cache *c);
/* Drops every line without writing anything back (an L1 between kernels). */
void iob_cache_invalidate(iob_cache *c);
/* Counters since creation or the last iob_cache_stats_reset(). */
iob_cache_stats iob_cache_stats_get(const iob_cache *c);
void iob_cache_stats_reset(iob_cache *c);

/* ---- next-use positions for OPT (sim/nextuse.c) -------------------------------------------- */

/* In memory: next[i] = the smallest j > i with ops[j] in the same line (line_bytes, a power of
 * two) as ops[i], or IOB_NEXT_USE_NEVER. Memory: 8 bytes per line of the address range the
 * stream spans; IOB_ENOMEM when that exceeds IOB_NEXTUSE_TABLE_MAX. */
#define IOB_NEXTUSE_TABLE_MAX ((size_t)512 << 20)
iob_status iob_nextuse_compute(const uint64_t *ops, size_t n, int line_bytes, uint64_t *next,
                               iob_error *err);

/* Streamed, for traces too large to hold: push the stream once (pass 1; only line numbers are
 * kept, in an unlinked temporary file: 8 bytes per access on disk), finish (a backward pass over
 * the file in chunks, in place), then read the next-use positions back in order (pass 2, while
 * the same stream is generated again). Memory: two chunk buffers of IOB_NEXTUSE_CHUNK entries
 * plus the table of iob_nextuse_compute() over the lines the stream spans. tmp_dir NULL: $TMPDIR,
 * else /tmp. Failures: IOB_EIO (temporary file), IOB_ENOMEM, IOB_EINVAL (calls out of order, or
 * pass 2 asking past the end). */
#define IOB_NEXTUSE_CHUNK ((size_t)1 << 20)
typedef struct iob_nextuse iob_nextuse;
iob_status iob_nextuse_open(int line_bytes, const char *tmp_dir, iob_nextuse **out,
                            iob_error *err);
iob_status iob_nextuse_push(iob_nextuse *nu, const uint64_t *ops, size_t n, iob_error *err);
iob_status iob_nextuse_finish(iob_nextuse *nu, iob_error *err);
iob_status iob_nextuse_read(iob_nextuse *nu, uint64_t *next, size_t n, iob_error *err);
/* Number of accesses pushed. */
uint64_t iob_nextuse_count(const iob_nextuse *nu);
void iob_nextuse_close(iob_nextuse *nu);

/* ---- the GPU replay (sim/gpu_sim.c) -------------------------------------------------------- */

/* Observer of the SM -> memory access stream (after the blocks' interleaving, before any L1):
 * ops are packed accesses. Return nonzero to stop the simulation (it then fails with
 * IOB_EIO "stopped by the stream observer"). */
typedef int (*iob_sim_observer)(void *ctx, const uint64_t *ops, size_t n);

typedef struct iob_sim_opts {
    /* The shared L2 (0 = from the machine: l2_bytes, l2_line_bytes, sector_bytes; 16 ways). */
    int64_t l2_bytes;
    int l2_ways, l2_line_bytes, sector_bytes;
    iob_cache_policy l2_policy;
    /* Per-SM L1, LRU, write-through (0 bytes = bypassed, the default: the trace is already the
     * stream between the SMs and the L2, merged per stage as the kernel's loads are). */
    int64_t l1_bytes;
    int l1_ways;       /* 0 = 4 */
    int l1_line_bytes; /* 0 = 128 */
    /* Scheduling: 0 = machine's SM count; blocks per SM (0 = 1): the config's occupancy. */
    int sm_count;
    int blocks_per_sm;
    /* Output of the stream: a din file (Dinero IV: "label address" per line, label 0 = read,
     * 1 = write, hex address) and/or an observer; NULL for none. */
    FILE *din;
    iob_sim_observer observer;
    void *observer_ctx;
    const char *tmp_dir; /* OPT's next-use file (NULL: $TMPDIR, else /tmp) */
    int threads;         /* OpenMP threads generating blocks (0: the OpenMP default) */
} iob_sim_opts;

/* What one replay counts. Sectors are 32 bytes (sector_bytes). */
typedef struct iob_sim_result {
    int kernels;
    int64_t blocks;          /* all kernels */
    int slots;               /* concurrently resident blocks: sm_count * blocks_per_sm */
    uint64_t accesses;       /* sector accesses of the SMs (the trace) */
    /* SM <-> L2: the requests reaching the L2 (all accesses when L1 is bypassed) */
    uint64_t l2_read_sectors, l2_write_sectors;
    uint64_t l2_read_bytes, l2_write_bytes;
    iob_cache_stats l1;      /* summed over the SMs; zero when bypassed */
    iob_cache_stats l2;
    double l1_read_hit_rate; /* 0 when bypassed */
    double l2_read_hit_rate, l2_hit_rate;
    /* L2 <-> DRAM: fills, and dirty sectors written back (evictions + the final flush: every
     * written sector reaches DRAM once the run is over) */
    uint64_t dram_read_bytes, dram_write_bytes;
    uint64_t dram_write_flush_bytes; /* the part of dram_write_bytes written by the final flush */
    uint64_t max_block_accesses;     /* largest block stream (memory: slots * this * 8 bytes) */
    iob_cache_policy l2_policy;
    int64_t l2_bytes;
    int l2_ways;
    int64_t l2_sets;
} iob_sim_result;

/* Fills opts with the defaults above (everything 0, policy LRU). */
void iob_sim_opts_init(iob_sim_opts *opts);

/* Replays a trace on a machine (sm_count and the L2 from m unless opts override them).
 *
 * Scheduling: the kernels run one after the other on one L2 (its contents persist between them;
 * the L1s are invalidated at each launch). Each kernel's blocks take sm_count * blocks_per_sm
 * slots in launch order, slot j on SM j mod sm_count; a finished block's slot takes the next
 * block in launch order, so with blocks of equal length this is the hardware's wave order. The
 * resident blocks' streams are interleaved round-robin over the slots, one step at a time, where
 * a step is a maximal run of a block's accesses with the same `stage` value (one pipeline stage's
 * loads, or the final stores).
 *
 * Fails with the generator's status, IOB_EINVAL (a bad option or an address that is not a
 * multiple of the sector size), IOB_ENOMEM, or IOB_EIO (the din file or OPT's temporary file).
 * opts may be NULL (defaults). */
iob_status iob_sim_run(const iob_trace *trace, const iob_machine *m, const iob_sim_opts *opts,
                       iob_sim_result *res, iob_error *err);

/* Builds the trace of a config (iob_trace_build), takes blocks_per_sm from the config's
 * resources (iob_dataflow_check) unless opts sets it, replays it and frees it. IOB_ENOTSUP when
 * the algorithm has no trace generator or no dataflow model. */
iob_status iob_sim_layer(const iob_layer *layer, const iob_config *cfg, const iob_machine *m,
                         const iob_sim_opts *opts, iob_sim_result *res, iob_error *err);

/* The replay's figures in the model's record (SM<->L2 sectors and bytes, DRAM bytes with
 * dram_exact = 1); fields the simulator does not count (shared memory, FLOPs, time) are 0. */
void iob_sim_traffic(const iob_sim_result *res, iob_traffic *t);

/* "lru" / "opt"; iob_cache_policy_parse fails with IOB_EINVAL naming the value. */
const char *iob_cache_policy_name(iob_cache_policy p);
iob_status iob_cache_policy_parse(const char *text, iob_cache_policy *p, iob_error *err);

#ifdef __cplusplus
}
#endif

#endif
