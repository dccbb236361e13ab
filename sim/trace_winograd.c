/* trace_winograd.c - the global-memory access stream of the fused Winograd kernel
 * (gpu/kernels/winograd.cu) and of its split-sum kernel, block by block, in the kernels' own loop
 * order (docs/model.md, "Winograd").
 *
 * Brute force: every element the kernel's loops touch is visited, in the order the loops visit it,
 * and turned into its 32-byte sector; a stage's loads are deduplicated within the stage (first
 * touch order), a block's stores within the block. Nothing here uses the closed form of
 * model/winograd.c; only the geometry (grid, tiles, workspace layout) comes from
 * iob_wino_geom_make(), which the kernel checks against its own macros.
 *
 * Stage numbers: a block's chunk i (in its split) is stage 1 + i mod 255; stores are stage 0.
 * The prep kernel (filter transform) runs once per layer outside the timed run and is not traced.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "model/checked.h"
#include "model/winograd_dataflow.h"
#include "sim/trace_algo.h"

typedef struct wino_trace_state {
    iob_layer L;
    iob_config c;
    iob_wino_geom g;
    iob_trace_layout lay;
    int64_t set_cap; /* entries of the per-call dedup table (a power of two) */
} wino_trace_state;

/* Per-call scratch: an open-addressing set of sector addresses cleared by an epoch counter, and
 * the batch of accesses being built. */
typedef struct wino_scratch {
    uint64_t *key;
    uint32_t *stamp;
    uint32_t epoch;
    int64_t mask;
    uint64_t last; /* the previous element's sector (most elements repeat it) */
    iob_access *buf;
    size_t n, cap;
} wino_scratch;

static iob_status scratch_init(wino_scratch *s, int64_t cap, iob_error *err)
{
    memset(s, 0, sizeof *s);
    s->key = malloc((size_t)cap * sizeof *s->key);
    s->stamp = calloc((size_t)cap, sizeof *s->stamp);
    s->cap = (size_t)cap;
    s->buf = malloc(s->cap * sizeof *s->buf);
    if (!s->key || !s->stamp || !s->buf) {
        free(s->key);
        free(s->stamp);
        free(s->buf);
        return iob_error_set(err, IOB_ENOMEM, "out of memory for a Winograd trace block");
    }
    s->mask = cap - 1;
    return IOB_OK;
}

static void scratch_free(wino_scratch *s)
{
    free(s->key);
    free(s->stamp);
    free(s->buf);
}

/* Starts a new deduplication scope (a stage's loads or a block's stores). */
static void scope_begin(wino_scratch *s)
{
    s->epoch++;
    s->last = UINT64_MAX;
    s->n = 0;
}

/* Records the element at byte address addr unless its sector is already in the scope. */
static void touch(wino_scratch *s, uint64_t addr, uint8_t write, uint8_t stage)
{
    uint64_t sec = addr & ~31ull;
    if (sec == s->last)
        return;
    s->last = sec;
    int64_t h = (int64_t)((sec >> 5) * 0x9E3779B97F4A7C15ull >> 20) & s->mask;
    while (s->stamp[h] == s->epoch) {
        if (s->key[h] == sec)
            return;
        h = (h + 1) & s->mask;
    }
    s->stamp[h] = s->epoch;
    s->key[h] = sec;
    s->buf[s->n++] = (iob_access){.addr = sec, .write = write, .stage = stage};
}

static int flush(wino_scratch *s, iob_trace_sink *sink)
{
    int stop = s->n ? sink->emit(sink->ctx, s->buf, s->n) : 0;
    s->n = 0;
    return stop;
}

static iob_status fused_block(const void *state, int64_t b, iob_trace_sink *sink, iob_error *err)
{
    const wino_trace_state *S = state;
    const iob_layer *L = &S->L;
    const iob_config *c = &S->c;
    const iob_wino_geom *g = &S->g;
    wino_scratch s;
    iob_status st = scratch_init(&s, S->set_cap, err);
    if (st)
        return st;
    /* block indices: x fastest, then y, then z (docs/model.md) */
    int64_t bx = b % g->grid[0], by = b / g->grid[0] % g->grid[1];
    int64_t bz = b / ((int64_t)g->grid[0] * g->grid[1]);
    int64_t bq = bx % g->nbq, bp = bx / g->nbq, kb = by % g->kb, grp = by / g->kb;
    int64_t sc = bz % c->split_c, n = bz / c->split_c;
    int64_t ch0 = sc * g->jps, nch = iob_min64(g->nch - ch0, g->jps);
    int64_t h0 = bp * c->tile_p - L->pad_top, w0 = bq * c->tile_q - L->pad_left;
    int stop = 0;
    for (int64_t j = 0; j < nch && !stop; j++) {
        uint8_t stage = (uint8_t)(1 + j % 255);
        int64_t jc = ch0 + j;
        scope_begin(&s);
        /* the U slice of (grp, kb, jc): 16-byte copies in order, i.e. its elements in order */
        uint64_t ubase =
            S->lay.work[0] + 4 * (uint64_t)(((grp * g->kb + kb) * g->nch + jc) * g->uf);
        for (int64_t e = 0; e < g->uf; e++)
            touch(&s, ubase + 4 * (uint64_t)e, 0, stage);
        /* the patch: rounds of `threads` positions, each round channel by channel; only real
         * elements are read */
        int64_t npos = (int64_t)g->ph * g->pw;
        for (int64_t r0 = 0; r0 < npos; r0 += g->threads)
            for (int64_t cc = 0; cc < c->tile_c; cc++) {
                int64_t cin = jc * c->tile_c + cc;
                if (cin >= g->cg)
                    continue;
                for (int64_t rc = r0; rc < iob_min64(npos, r0 + g->threads); rc++) {
                    int64_t h = h0 + rc / g->pw, w = w0 + rc % g->pw;
                    if (h < 0 || h >= L->h || w < 0 || w >= L->w)
                        continue;
                    uint64_t idx = (uint64_t)(((n * L->c + grp * g->cg + cin) * L->h + h) *
                                                  L->w + w);
                    touch(&s, S->lay.input + 4 * idx, 0, stage);
                }
            }
        stop = flush(&s, sink);
    }
    if (!stop) {
        /* stores: rounds of kr channels x br tile-row bands, each round's staged rows in order */
        scope_begin(&s);
        uint64_t base = c->split_c > 1 ? S->lay.work[1] + 4 * (uint64_t)(sc * g->e_pad)
                                       : S->lay.output;
        int64_t rowlen = (int64_t)g->br * g->m * c->tile_q;
        for (int64_t kr0 = 0; kr0 < c->tile_k; kr0 += g->kr)
            for (int64_t br0 = 0; br0 < g->tp; br0 += g->br)
                for (int64_t e = 0; e < g->kr * rowlen; e++) {
                    int64_t kl = e / rowlen, rr = e % rowlen;
                    int64_t k = kb * c->tile_k + kr0 + kl;
                    int64_t p = bp * c->tile_p + br0 * g->m + rr / c->tile_q;
                    int64_t q = bq * c->tile_q + rr % c->tile_q;
                    if (kr0 + kl >= c->tile_k || br0 * g->m + rr / c->tile_q >= c->tile_p ||
                        k >= g->kg || p >= L->p || q >= L->q)
                        continue;
                    uint64_t idx = (uint64_t)(((n * L->k + grp * g->kg + k) * L->p + p) * L->q + q);
                    touch(&s, base + 4 * idx, 1, 0);
                }
        flush(&s, sink);
    }
    scratch_free(&s);
    return IOB_OK;
}

static iob_status sum_block(const void *state, int64_t b, iob_trace_sink *sink, iob_error *err)
{
    const wino_trace_state *S = state;
    const iob_wino_geom *g = &S->g;
    wino_scratch s;
    iob_status st = scratch_init(&s, S->set_cap, err);
    if (st)
        return st;
    int64_t e0 = b * IOB_WINO_AUX_THREADS, e1 = iob_min64(g->e_out, e0 + IOB_WINO_AUX_THREADS);
    scope_begin(&s);
    for (int64_t sp = 0; sp < S->c.split_c; sp++) /* part[s][e], s ascending */
        for (int64_t e = e0; e < e1; e++)
            touch(&s, S->lay.work[1] + 4 * (uint64_t)(sp * g->e_pad + e), 0, 1);
    int stop = flush(&s, sink);
    if (!stop) {
        scope_begin(&s);
        for (int64_t e = e0; e < e1; e++)
            touch(&s, S->lay.output + 4 * (uint64_t)e, 1, 0);
        flush(&s, sink);
    }
    scratch_free(&s);
    return IOB_OK;
}

static iob_status build(const iob_layer *L, const iob_config *c, const iob_machine *m,
                        const iob_resources *res, iob_trace *trace, iob_error *err)
{
    (void)m;
    wino_trace_state *S = calloc(1, sizeof *S);
    if (!S)
        return iob_error_set(err, IOB_ENOMEM, "out of memory for a Winograd trace");
    iob_status st = iob_wino_geom_make(L, c, &S->g, err);
    if (st) {
        free(S);
        return st;
    }
    S->L = *L;
    S->c = *c;
    S->lay = trace->layout;
    /* the split partials follow U in the one workspace (iob_trace_layout_default places work[1]
     * past all of it, 2 MiB aligned) */
    int64_t most = S->g.uf + (int64_t)c->tile_c * S->g.ph * S->g.pw;
    int64_t outs = (int64_t)c->tile_k * c->tile_p * c->tile_q;
    if (outs > most)
        most = outs;
    if ((int64_t)c->split_c * IOB_WINO_AUX_THREADS > most)
        most = (int64_t)c->split_c * IOB_WINO_AUX_THREADS;
    S->set_cap = 64;
    while (S->set_cap < 2 * most)
        S->set_cap *= 2;
    trace->owned[0] = S;
    trace->nkernels = 1;
    iob_trace_kernel *k = &trace->kernel[0];
    snprintf(k->name, sizeof k->name, "iob_winograd_fused");
    k->blocks = S->g.blocks;
    k->threads = S->g.threads;
    k->smem_bytes = res ? res->smem_bytes : S->g.smem_bytes;
    k->block = fused_block;
    k->state = S;
    if (c->split_c > 1) {
        trace->nkernels = 2;
        k = &trace->kernel[1];
        snprintf(k->name, sizeof k->name, "iob_winograd_sum");
        k->blocks = S->g.sum_blocks;
        k->threads = IOB_WINO_AUX_THREADS;
        k->smem_bytes = 0;
        k->block = sum_block;
        k->state = S;
    }
    return IOB_OK;
}

const iob_trace_builder iob_trace_winograd = {IOB_ALGO_WINOGRAD, build};
