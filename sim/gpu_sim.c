/* gpu_sim.c - replays a config's trace on a GPU model: blocks on SMs in launch order, the
 * resident blocks' streams interleaved, an optional per-SM L1, one shared L2, and DRAM traffic
 * from the L2's fills and write-backs.
 *
 * Interleaving. A kernel's blocks occupy sm_count * blocks_per_sm slots; slot j sits on SM
 * j mod sm_count (the hardware hands blocks to SMs round-robin in launch order to first order);
 * when a block ends, its slot takes the next block in launch order (with equal blocks: waves).
 * The scheduler visits the slots round-robin and lets each emit one step: a maximal run of its
 * accesses with the same `stage` value (one pipeline stage's loads, or the final stores). This
 * models resident blocks progressing at the same rate; a step is the unit because a stage's loads
 * are issued together before the block waits on them (docs/model.md's pipeline).
 *
 * Buffering. Generators push a whole block (trace.h); to interleave, each slot's block stream is
 * generated into the slot's buffer first (8 bytes per access: the packed access plus a step-start
 * flag in bit 1). Memory: slots * the largest block stream * 8 bytes, reported in
 * iob_sim_result.max_block_accesses. Buffers are reused from block to block.
 *
 * Parallelism. The L2 is one shared state updated in stream order, so the replay itself is
 * sequential; what runs in parallel (OpenMP) is the generation of the blocks that enter their
 * slots together (a whole wave, when blocks are equal). Independent layers are the coarse grain
 * (cli/cmd_sim.c, bench/bench_sim_throughput.c run layers in parallel).
 *
 * OPT. Pass 1 replays the schedule (L1s included) and records the L2's access stream in an
 * iob_nextuse file; pass 2 replays it again, deterministically, and feeds the L2 with next-use
 * positions. The din file and the observer see pass 2 only.
 */
#include <omp.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/sim.h"

#define TRACE_SECTOR 32      /* trace.h: accesses are 32-byte sectors */
#define STEP_START 2u        /* bit 1 of a buffered access: the first access of a step */
#define BATCH 65536          /* accesses per hand-over to the L2, the observer or the din file */
#define DIN_BUF (1u << 20)

enum { PASS_ONE, PASS_OPT_RECORD, PASS_OPT_REPLAY };

typedef struct slot {
    uint64_t *buf;
    size_t len, cap, pos;
    int64_t block;
    int active;
    /* generation state */
    uint8_t stage;
    int started, nomem, misaligned;
    uint64_t bad_addr;
    iob_status st;
    iob_error err;
} slot;

typedef struct sim {
    const iob_sim_opts *o;
    int nsm, bps;
    iob_cache *l2;
    iob_cache **l1; /* nsm caches or NULL */
    int l2_line;
    int pass, emit;
    iob_nextuse *nu;
    uint64_t *fwd;  /* BATCH: the L1's misses and stores on their way to the L2 */
    size_t nfwd;
    uint64_t *next; /* BATCH: next-use positions (OPT) */
    uint64_t *obs;  /* BATCH: the observer's copy */
    char *din;
    size_t din_len;
    int din_failed;
    uint64_t accesses, l2_accesses, max_block;
    iob_error *err;
} sim;

static int gen_emit(void *ctx, const iob_access *a, size_t n)
{
    slot *s = ctx;
    if (s->len + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->len + n)
            cap *= 2;
        uint64_t *b = realloc(s->buf, cap * sizeof *b);
        if (!b) {
            s->nomem = 1;
            return 1;
        }
        s->buf = b;
        s->cap = cap;
    }
    uint64_t *out = s->buf + s->len;
    for (size_t i = 0; i < n; i++) {
        if (a[i].addr % TRACE_SECTOR) {
            s->misaligned = 1;
            s->bad_addr = a[i].addr;
            return 1;
        }
        uint64_t start = !s->started || a[i].stage != s->stage ? STEP_START : 0;
        s->started = 1;
        s->stage = a[i].stage;
        out[i] = a[i].addr | (a[i].write ? 1u : 0u) | start;
    }
    s->len += n;
    return 0;
}

static void gen_block(const iob_trace_kernel *k, slot *s)
{
    s->len = s->pos = 0;
    s->started = s->nomem = s->misaligned = 0;
    iob_error_clear(&s->err);
    iob_trace_sink sink = {gen_emit, s};
    s->st = k->block(k->state, s->block, &sink, &s->err);
    if (s->st == IOB_OK && s->nomem)
        s->st = iob_error_set(&s->err, IOB_ENOMEM, "out of memory for the stream of block %lld "
                              "of kernel %s", (long long)s->block, k->name);
    if (s->st == IOB_OK && s->misaligned)
        s->st = iob_error_set(&s->err, IOB_EINVAL, "kernel %s, block %lld: address 0x%llx is "
                              "not a multiple of the %d-byte sector", k->name,
                              (long long)s->block, (unsigned long long)s->bad_addr,
                              TRACE_SECTOR);
}

/* ---- the din file ---------------------------------------------------------------------- */

static void din_flush(sim *S)
{
    if (S->din_len && fwrite(S->din, 1, S->din_len, S->o->din) != S->din_len)
        S->din_failed = 1;
    S->din_len = 0;
}

static void din_write(sim *S, const uint64_t *ops, size_t n)
{
    static const char hex[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        if (S->din_len + 24 > DIN_BUF)
            din_flush(S);
        char *p = S->din + S->din_len;
        uint64_t a = ops[i] & ~(uint64_t)3;
        *p++ = (ops[i] & 1) ? '1' : '0';
        *p++ = ' ';
        char tmp[16];
        int k = 0;
        do {
            tmp[k++] = hex[a & 15];
            a >>= 4;
        } while (a);
        while (k)
            *p++ = tmp[--k];
        *p++ = '\n';
        S->din_len = (size_t)(p - S->din);
    }
}

/* ---- the memory side: L2 and OPT's passes ------------------------------------------------- */

static iob_status l2_feed(sim *S, const uint64_t *ops, size_t n)
{
    S->l2_accesses += n;
    if (S->pass == PASS_OPT_RECORD)
        return iob_nextuse_push(S->nu, ops, n, S->err);
    if (S->pass == PASS_OPT_REPLAY) {
        iob_status st = iob_nextuse_read(S->nu, S->next, n, S->err);
        if (st)
            return st;
        iob_cache_run_opt(S->l2, ops, S->next, n);
        return IOB_OK;
    }
    iob_cache_run(S->l2, ops, n);
    return IOB_OK;
}

/* One step of a block on SM sm: ops (with step flags) go to the outputs, the L1, the L2. */
static iob_status feed(sim *S, int sm, const uint64_t *ops, size_t n)
{
    iob_status st;
    for (size_t done = 0; done < n;) {
        size_t k = n - done < BATCH ? n - done : BATCH;
        const uint64_t *p = ops + done;
        S->accesses += k;
        if (S->emit && S->o->din)
            din_write(S, p, k);
        if (S->emit && S->o->observer) {
            for (size_t i = 0; i < k; i++)
                S->obs[i] = p[i] & ~(uint64_t)STEP_START;
            if (S->o->observer(S->o->observer_ctx, S->obs, k))
                return iob_error_set(S->err, IOB_EIO, "stopped by the stream observer");
        }
        if (!S->l1) {
            if ((st = l2_feed(S, p, k)))
                return st;
        } else {
            iob_cache *l1 = S->l1[sm];
            S->nfwd = 0;
            for (size_t i = 0; i < k; i++) {
                int w = (int)(p[i] & 1);
                if (!iob_cache_access(l1, p[i], w) || w)
                    S->fwd[S->nfwd++] = p[i];
            }
            if ((st = l2_feed(S, S->fwd, S->nfwd)))
                return st;
        }
        done += k;
    }
    return IOB_OK;
}

/* ---- the schedule ------------------------------------------------------------------------ */

static iob_status run_kernel(sim *S, const iob_trace_kernel *k, slot *slots, int *fill)
{
    if (k->blocks <= 0)
        return IOB_OK;
    if (S->l1)
        for (int i = 0; i < S->nsm; i++)
            iob_cache_invalidate(S->l1[i]);
    int64_t nslots64 = (int64_t)S->nsm * S->bps;
    int nslots = (int)(nslots64 < k->blocks ? nslots64 : k->blocks);
    for (int s = 0; s < nslots; s++)
        slots[s].active = 0;
    int64_t next = 0;
    int threads = S->o->threads > 0 ? S->o->threads : omp_get_max_threads();
    for (;;) {
        int nfill = 0;
        for (int s = 0; s < nslots && next < k->blocks; s++)
            if (!slots[s].active) {
                slots[s].block = next++;
                fill[nfill++] = s;
            }
#pragma omp parallel for schedule(dynamic, 1) num_threads(threads) if (nfill > 1)
        for (int i = 0; i < nfill; i++)
            gen_block(k, &slots[fill[i]]);
        for (int i = 0; i < nfill; i++) {
            slot *s = &slots[fill[i]];
            if (s->st) {
                if (S->err)
                    *S->err = s->err;
                return s->st;
            }
            s->active = s->len > 0;
            if (s->len > S->max_block)
                S->max_block = s->len;
        }
        int any = 0;
        for (int s = 0; s < nslots; s++) {
            slot *sl = &slots[s];
            if (!sl->active)
                continue;
            any = 1;
            size_t end = sl->pos + 1;
            while (end < sl->len && !(sl->buf[end] & STEP_START))
                end++;
            iob_status st = feed(S, s % S->nsm, sl->buf + sl->pos, end - sl->pos);
            if (st)
                return st;
            sl->pos = end;
            sl->active = end < sl->len;
        }
        if (!any && next >= k->blocks)
            return IOB_OK;
    }
}

static iob_status run_pass(sim *S, const iob_trace *t, slot *slots, int *fill)
{
    S->accesses = S->l2_accesses = 0;
    for (int i = 0; i < t->nkernels; i++) {
        iob_status st = run_kernel(S, &t->kernel[i], slots, fill);
        if (st)
            return st;
    }
    return IOB_OK;
}

void iob_sim_opts_init(iob_sim_opts *opts)
{
    memset(opts, 0, sizeof *opts);
    opts->l2_policy = IOB_CACHE_LRU;
}

static void add_stats(iob_cache_stats *a, const iob_cache_stats *b)
{
    a->read_hits += b->read_hits;
    a->read_misses += b->read_misses;
    a->write_hits += b->write_hits;
    a->write_misses += b->write_misses;
    a->fill_sectors += b->fill_sectors;
    a->writeback_sectors += b->writeback_sectors;
    a->flush_sectors += b->flush_sectors;
    a->evicted_lines += b->evicted_lines;
    a->dirty_evicted_lines += b->dirty_evicted_lines;
}

static double ratio(uint64_t a, uint64_t b)
{
    return b ? (double)a / (double)b : 0.0;
}

static void sim_free(sim *S, slot *slots, int nslots, int *fill)
{
    iob_cache_destroy(S->l2);
    if (S->l1)
        for (int i = 0; i < S->nsm; i++)
            iob_cache_destroy(S->l1[i]);
    free(S->l1);
    iob_nextuse_close(S->nu);
    free(S->fwd);
    free(S->next);
    free(S->obs);
    free(S->din);
    if (slots)
        for (int i = 0; i < nslots; i++)
            free(slots[i].buf);
    free(slots);
    free(fill);
}

iob_status iob_sim_run(const iob_trace *trace, const iob_machine *m, const iob_sim_opts *opts,
                       iob_sim_result *res, iob_error *err)
{
    iob_sim_opts defaults;
    if (!opts) {
        iob_sim_opts_init(&defaults);
        opts = &defaults;
    }
    memset(res, 0, sizeof *res);
    sim S;
    memset(&S, 0, sizeof S);
    S.o = opts;
    S.err = err;
    S.nsm = opts->sm_count > 0 ? opts->sm_count : m->sm_count;
    S.bps = opts->blocks_per_sm > 0 ? opts->blocks_per_sm : 1;
    if (S.nsm < 1 || S.nsm > 1 << 16 || S.bps > 1024 || (int64_t)S.nsm * S.bps > 1 << 20)
        return iob_error_set(err, IOB_EINVAL, "%d SMs x %d blocks per SM: out of range",
                             S.nsm, S.bps);
    if (trace->nkernels < 0 || trace->nkernels > IOB_TRACE_KERNELS_MAX)
        return iob_error_set(err, IOB_EINVAL, "trace with %d kernels", trace->nkernels);
    iob_cache_config l2c = {
        .capacity_bytes = opts->l2_bytes > 0 ? opts->l2_bytes : m->l2_bytes,
        .line_bytes = opts->l2_line_bytes > 0 ? opts->l2_line_bytes
                      : m->l2_line_bytes > 0 ? m->l2_line_bytes : 128,
        .sector_bytes = opts->sector_bytes > 0 ? opts->sector_bytes
                        : m->sector_bytes > 0 ? m->sector_bytes : TRACE_SECTOR,
        .ways = opts->l2_ways > 0 ? opts->l2_ways : 16,
        .policy = opts->l2_policy,
        .write = IOB_CACHE_WRITE_BACK,
    };
    iob_status st;
    if (l2c.sector_bytes < 4)
        return iob_error_set(err, IOB_EINVAL, "sector of %d bytes: the simulator needs at least 4",
                             l2c.sector_bytes);
    if ((st = iob_cache_config_check(&l2c, err))) {
        iob_error_prefix(err, "L2");
        return st;
    }
    iob_cache_config l1c = {
        .capacity_bytes = opts->l1_bytes,
        .line_bytes = opts->l1_line_bytes > 0 ? opts->l1_line_bytes : 128,
        .sector_bytes = l2c.sector_bytes,
        .ways = opts->l1_ways > 0 ? opts->l1_ways : 4,
        .policy = IOB_CACHE_LRU,
        .write = IOB_CACHE_WRITE_THROUGH,
    };
    if (opts->l1_bytes > 0 && (st = iob_cache_config_check(&l1c, err))) {
        iob_error_prefix(err, "L1");
        return st;
    }
    if (opts->l1_bytes < 0)
        return iob_error_set(err, IOB_EINVAL, "L1 of %lld bytes", (long long)opts->l1_bytes);

    int nslots = (int)((int64_t)S.nsm * S.bps);
    slot *slots = calloc((size_t)nslots, sizeof *slots);
    int *fill = calloc((size_t)nslots, sizeof *fill);
    S.fwd = malloc(BATCH * sizeof *S.fwd);
    S.next = malloc(BATCH * sizeof *S.next);
    S.obs = opts->observer ? malloc(BATCH * sizeof *S.obs) : NULL;
    S.din = opts->din ? malloc(DIN_BUF) : NULL;
    if (!slots || !fill || !S.fwd || !S.next || (opts->observer && !S.obs) ||
        (opts->din && !S.din)) {
        sim_free(&S, slots, nslots, fill);
        return iob_error_set(err, IOB_ENOMEM, "out of memory for the simulator");
    }
    if ((st = iob_cache_create(&l2c, &S.l2, err))) {
        sim_free(&S, slots, nslots, fill);
        return st;
    }
    if (opts->l1_bytes > 0) {
        S.l1 = calloc((size_t)S.nsm, sizeof *S.l1);
        if (!S.l1) {
            sim_free(&S, slots, nslots, fill);
            return iob_error_set(err, IOB_ENOMEM, "out of memory for the L1s");
        }
        for (int i = 0; i < S.nsm; i++)
            if ((st = iob_cache_create(&l1c, &S.l1[i], err))) {
                sim_free(&S, slots, nslots, fill);
                return st;
            }
    }

    if (opts->l2_policy == IOB_CACHE_OPT) {
        if ((st = iob_nextuse_open(l2c.line_bytes, opts->tmp_dir, &S.nu, err)))
            goto out;
        S.pass = PASS_OPT_RECORD;
        if ((st = run_pass(&S, trace, slots, fill)) || (st = iob_nextuse_finish(S.nu, err)))
            goto out;
        uint64_t recorded = S.l2_accesses;
        if (S.l1)
            for (int i = 0; i < S.nsm; i++)
                iob_cache_stats_reset(S.l1[i]);
        S.pass = PASS_OPT_REPLAY;
        S.emit = 1;
        if ((st = run_pass(&S, trace, slots, fill)))
            goto out;
        if (S.l2_accesses != recorded) {
            st = iob_error_set(err, IOB_EINVAL, "OPT: the trace gave %llu L2 accesses in pass 1 "
                               "and %llu in pass 2: it is not deterministic",
                               (unsigned long long)recorded,
                               (unsigned long long)S.l2_accesses);
            goto out;
        }
    } else {
        S.pass = PASS_ONE;
        S.emit = 1;
        if ((st = run_pass(&S, trace, slots, fill)))
            goto out;
    }
    if (S.din) {
        din_flush(&S);
        if (S.din_failed || fflush(opts->din) || ferror(opts->din)) {
            st = iob_error_set(err, IOB_EIO, "writing the din trace failed");
            goto out;
        }
    }

    iob_cache_flush(S.l2); /* every written sector reaches DRAM by the end of the run */
    res->l2 = iob_cache_stats_get(S.l2);
    if (S.l1)
        for (int i = 0; i < S.nsm; i++) {
            iob_cache_stats s1 = iob_cache_stats_get(S.l1[i]);
            add_stats(&res->l1, &s1);
        }
    res->kernels = trace->nkernels;
    for (int i = 0; i < trace->nkernels; i++)
        res->blocks += trace->kernel[i].blocks > 0 ? trace->kernel[i].blocks : 0;
    res->slots = nslots;
    res->accesses = S.accesses;
    res->l2_read_sectors = res->l2.read_hits + res->l2.read_misses;
    res->l2_write_sectors = res->l2.write_hits + res->l2.write_misses;
    res->l2_read_bytes = res->l2_read_sectors * TRACE_SECTOR;
    res->l2_write_bytes = res->l2_write_sectors * TRACE_SECTOR;
    res->l1_read_hit_rate = ratio(res->l1.read_hits, res->l1.read_hits + res->l1.read_misses);
    res->l2_read_hit_rate = ratio(res->l2.read_hits, res->l2_read_sectors);
    res->l2_hit_rate = ratio(res->l2.read_hits + res->l2.write_hits,
                             res->l2_read_sectors + res->l2_write_sectors);
    res->dram_read_bytes = res->l2.fill_sectors * (uint64_t)l2c.sector_bytes;
    res->dram_write_bytes =
        (res->l2.writeback_sectors + res->l2.flush_sectors) * (uint64_t)l2c.sector_bytes;
    res->dram_write_flush_bytes = res->l2.flush_sectors * (uint64_t)l2c.sector_bytes;
    res->max_block_accesses = S.max_block;
    res->l2_policy = l2c.policy;
    res->l2_bytes = l2c.capacity_bytes;
    res->l2_ways = l2c.ways;
    res->l2_sets = iob_cache_sets(S.l2);
    st = IOB_OK;
out:
    sim_free(&S, slots, nslots, fill);
    return st;
}

iob_status iob_sim_layer(const iob_layer *L, const iob_config *cfg, const iob_machine *m,
                         const iob_sim_opts *opts, iob_sim_result *res, iob_error *err)
{
    iob_trace trace;
    iob_status st = iob_trace_build(L, cfg, m, &trace, err);
    if (st)
        return st;
    iob_resources rs;
    memset(&rs, 0, sizeof rs);
    if ((st = iob_dataflow_check(L, cfg, m, &rs, err))) {
        iob_trace_free(&trace);
        return st;
    }
    iob_sim_opts o;
    if (opts)
        o = *opts;
    else
        iob_sim_opts_init(&o);
    if (o.blocks_per_sm <= 0)
        o.blocks_per_sm = rs.blocks_per_sm > 0 ? rs.blocks_per_sm : 1;
    st = iob_sim_run(&trace, m, &o, res, err);
    iob_trace_free(&trace);
    return st;
}

void iob_sim_traffic(const iob_sim_result *res, iob_traffic *t)
{
    memset(t, 0, sizeof *t);
    t->l2_read_sectors = res->l2_read_sectors;
    t->l2_write_sectors = res->l2_write_sectors;
    t->l2_read_bytes = res->l2_read_bytes;
    t->l2_write_bytes = res->l2_write_bytes;
    t->l2_read_requested_bytes = res->l2_read_bytes;
    t->dram_read_bytes = (double)res->dram_read_bytes;
    t->dram_write_bytes = (double)res->dram_write_bytes;
    t->dram_exact = 1;
}
