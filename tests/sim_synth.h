/* sim_synth.h - synthetic traces for the simulator's tests and benchmark (test-only helper;
 * the real generators are sim/trace_<algo>.c).
 *
 * synth_conv: a direct 3x3 convolution (stride 1, pad 1, NCHW, FP32) tiled like our direct
 * kernel: block (q tile fastest, then p tile, then (n, k tile)) computes tile_k x tile_p x tile_q
 * outputs; stage s loads, for tile_c input channels, the input rows p0-1 .. p0+tile_p (clipped)
 * and columns q0-1 .. q0+tile_q (clipped), then the tile_k x tile_c x 9 weights; the block ends
 * storing its outputs. Each stage's sectors are distinct (addresses increase within a tensor, so
 * dropping a sector equal to the previous one removes every repeat).
 *
 * synth_list: blocks given as explicit access lists (hand-made schedules).
 * synth_ops: a growable array of packed accesses (an iob_sim_observer that captures a stream).
 * synth_rng: xorshift64 (Marsaglia 2003), the tests' fixed-seed random numbers.
 */
#ifndef IOB_TESTS_SIM_SYNTH_H
#define IOB_TESTS_SIM_SYNTH_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/trace.h"

typedef struct synth_conv {
    int64_t n, c, h, w, k;
    int64_t tile_k, tile_p, tile_q, tile_c;
    uint64_t in_base, f_base, out_base;
} synth_conv;

static inline int64_t synth_cdiv(int64_t a, int64_t b)
{
    return (a + b - 1) / b;
}

static inline int64_t synth_conv_blocks(const synth_conv *s)
{
    return synth_cdiv(s->w, s->tile_q) * synth_cdiv(s->h, s->tile_p) * s->n *
           synth_cdiv(s->k, s->tile_k);
}

/* Places the tensors at 2 MiB-aligned addresses from 2 MiB, like iob_trace_layout_default. */
static inline void synth_conv_layout(synth_conv *s)
{
    uint64_t a = 2ull << 20, m = (2ull << 20) - 1;
    s->in_base = a;
    a = (a + (uint64_t)(s->n * s->c * s->h * s->w * 4) + m) & ~m;
    s->f_base = a;
    a = (a + (uint64_t)(s->k * s->c * 9 * 4) + m) & ~m;
    s->out_base = a;
}

typedef struct synth_emitter {
    iob_trace_sink *sink;
    iob_access buf[1024];
    size_t n;
    uint64_t last;
    int stop;
} synth_emitter;

static inline void synth_flush(synth_emitter *e)
{
    if (e->n && !e->stop)
        e->stop = e->sink->emit(e->sink->ctx, e->buf, e->n);
    e->n = 0;
}

/* Emits the sectors of bytes [lo, hi) of one row, skipping a repeat of the last sector. */
static inline void synth_range(synth_emitter *e, uint64_t lo, uint64_t hi, int write,
                               uint8_t stage)
{
    for (uint64_t sct = lo & ~31ull; sct < hi && !e->stop; sct += 32) {
        if (sct == e->last)
            continue;
        e->last = sct;
        e->buf[e->n++] = (iob_access){.addr = sct, .write = (uint8_t)write, .stage = stage};
        if (e->n == sizeof e->buf / sizeof e->buf[0])
            synth_flush(e);
    }
}

static inline iob_status synth_conv_block(const void *state, int64_t b, iob_trace_sink *sink,
                                          iob_error *err)
{
    const synth_conv *s = state;
    (void)err;
    int64_t bq = synth_cdiv(s->w, s->tile_q), bp = synth_cdiv(s->h, s->tile_p);
    int64_t bk = synth_cdiv(s->k, s->tile_k);
    int64_t q0 = (b % bq) * s->tile_q, p0 = (b / bq % bp) * s->tile_p;
    int64_t nk = b / (bq * bp), n = nk / bk, k0 = nk % bk * s->tile_k;
    int64_t k1 = k0 + s->tile_k < s->k ? k0 + s->tile_k : s->k;
    int64_t p1 = p0 + s->tile_p < s->h ? p0 + s->tile_p : s->h;
    int64_t q1 = q0 + s->tile_q < s->w ? q0 + s->tile_q : s->w;
    int64_t hlo = p0 - 1 < 0 ? 0 : p0 - 1, hhi = p1 + 1 > s->h ? s->h : p1 + 1;
    int64_t wlo = q0 - 1 < 0 ? 0 : q0 - 1, whi = q1 + 1 > s->w ? s->w : q1 + 1;
    synth_emitter e;
    e.sink = sink;
    e.n = 0;
    e.stop = 0;
    int stage = 0;
    for (int64_t c0 = 0; c0 < s->c && !e.stop; c0 += s->tile_c, stage++) {
        int64_t c1 = c0 + s->tile_c < s->c ? c0 + s->tile_c : s->c;
        uint8_t st = (uint8_t)(1 + stage % 255);
        e.last = UINT64_MAX;
        for (int64_t c = c0; c < c1; c++)
            for (int64_t h = hlo; h < hhi; h++) {
                uint64_t row = s->in_base + (uint64_t)(((n * s->c + c) * s->h + h) * s->w) * 4;
                synth_range(&e, row + (uint64_t)wlo * 4, row + (uint64_t)whi * 4, 0, st);
            }
        for (int64_t k = k0; k < k1; k++) {
            uint64_t f = s->f_base + (uint64_t)((k * s->c + c0) * 9) * 4;
            synth_range(&e, f, f + (uint64_t)((c1 - c0) * 9) * 4, 0, st);
        }
        synth_flush(&e);
    }
    e.last = UINT64_MAX;
    for (int64_t k = k0; k < k1; k++)
        for (int64_t p = p0; p < p1; p++) {
            uint64_t row = s->out_base + (uint64_t)(((n * s->k + k) * s->h + p) * s->w) * 4;
            synth_range(&e, row + (uint64_t)q0 * 4, row + (uint64_t)q1 * 4, 1, 0);
        }
    synth_flush(&e);
    return IOB_OK;
}

/* A one-kernel trace of a synth_conv (which must outlive the trace). */
static inline void synth_conv_trace(const synth_conv *s, iob_trace *t)
{
    memset(t, 0, sizeof *t);
    t->nkernels = 1;
    snprintf(t->kernel[0].name, sizeof t->kernel[0].name, "synth_conv");
    t->kernel[0].blocks = synth_conv_blocks(s);
    t->kernel[0].threads = 256;
    t->kernel[0].block = synth_conv_block;
    t->kernel[0].state = s;
    t->layout.input = s->in_base;
    t->layout.filter = s->f_base;
    t->layout.output = s->out_base;
}

/* Hand-made blocks: block b's accesses are acc[start[b] .. start[b+1]). */
typedef struct synth_list {
    const iob_access *acc;
    const size_t *start;
    int64_t blocks;
    iob_status fail_status; /* nonzero: block fail_block returns this */
    int64_t fail_block;
} synth_list;

static inline iob_status synth_list_block(const void *state, int64_t b, iob_trace_sink *sink,
                                          iob_error *err)
{
    const synth_list *l = state;
    if (l->fail_status && b == l->fail_block)
        return iob_error_set(err, l->fail_status, "synthetic failure in block %lld",
                             (long long)b);
    size_t n = l->start[b + 1] - l->start[b];
    if (n)
        sink->emit(sink->ctx, l->acc + l->start[b], n);
    return IOB_OK;
}

typedef struct synth_ops {
    uint64_t *ops;
    size_t n, cap;
} synth_ops;

/* Appends n packed accesses; returns nonzero when out of memory. */
static inline int synth_ops_append(synth_ops *s, const uint64_t *ops, size_t n)
{
    if (s->n + n > s->cap) {
        size_t cap = s->cap ? s->cap : 4096;
        while (cap < s->n + n)
            cap *= 2;
        uint64_t *p = realloc(s->ops, cap * sizeof *p);
        if (!p)
            return 1;
        s->ops = p;
        s->cap = cap;
    }
    memcpy(s->ops + s->n, ops, n * sizeof *ops);
    s->n += n;
    return 0;
}

/* An iob_sim_observer: ctx is a synth_ops. */
static inline int synth_ops_observer(void *ctx, const uint64_t *ops, size_t n)
{
    return synth_ops_append(ctx, ops, n);
}

static inline uint64_t synth_rng(uint64_t *state)
{
    uint64_t x = *state;
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    return *state = x;
}

#endif
