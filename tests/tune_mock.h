/* tune_mock.h - a known landscape for the tuner's tests: a candidate source and a measurer whose
 * every answer is set by the test, with counters of what the tuner asked. Header-only, included
 * by tests/test_tune_*.c. Config i of a landscape is told apart by tile_k = i + 1. */
#ifndef IOB_TESTS_TUNE_MOCK_H
#define IOB_TESTS_TUNE_MOCK_H

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/tune.h"

#define MOCK_MAX 4096

typedef struct mock_entry {
    iob_config cfg;
    double pred_s;      /* predicted time; < 0: predict fails */
    double pred_bytes;  /* predicted SM<->L2 bytes */
    double time_ms;     /* measured time */
    iob_status status;  /* measured status */
} mock_entry;

typedef struct mock_land {
    mock_entry e[MOCK_MAX];
    size_t n;
    double bound[IOB_ALGO_COUNT];    /* bytes; <= 0: the bound answers IOB_ENOTSUP */
    iob_status enum_status[IOB_ALGO_COUNT]; /* what enumerate answers (IOB_OK: the configs) */
    int bound_calls, predict_calls;
    int measure_calls;
    size_t order[MOCK_MAX];          /* entry index of each measure call, in order */
    int broken_after;                /* measure fails outright from this call on (0: never) */
    double clock, clock_step;        /* simulated clock, advanced by each measurement */
} mock_land;

static inline void mock_init(mock_land *m)
{
    memset(m, 0, sizeof *m);
    for (int a = 0; a < IOB_ALGO_COUNT; a++)
        m->bound[a] = 100;
}

/* Adds a config of algo with its prediction and its measured outcome; returns its index. */
static inline size_t mock_add(mock_land *m, iob_algo algo, double pred_s, double pred_bytes,
                              double time_ms, iob_status status)
{
    size_t i = m->n++;
    mock_entry *e = &m->e[i];
    memset(e, 0, sizeof *e);
    e->cfg.algo = algo;
    e->cfg.tile_k = (int)i + 1;
    e->cfg.stages = 1;
    e->cfg.split_c = 1;
    e->pred_s = pred_s;
    e->pred_bytes = pred_bytes;
    e->time_ms = time_ms;
    e->status = status;
    return i;
}

static inline size_t mock_find(const mock_land *m, const iob_config *cfg)
{
    size_t i = (size_t)cfg->tile_k - 1;
    return i < m->n && iob_config_equal(&m->e[i].cfg, cfg) ? i : (size_t)-1;
}

static inline iob_status mock_enumerate(void *ctx, const iob_layer *L, iob_algo algo,
                                        const iob_machine *mach, iob_config **out,
                                        size_t *count, iob_error *err)
{
    (void)L, (void)mach;
    mock_land *m = ctx;
    *out = NULL;
    *count = 0;
    if (m->enum_status[algo])
        return iob_error_set(err, m->enum_status[algo], "mock: %s refused",
                             iob_algo_name(algo));
    *out = malloc((m->n + 1) * sizeof **out);
    if (!*out)
        return iob_error_set(err, IOB_ENOMEM, "mock: out of memory");
    for (size_t i = 0; i < m->n; i++)
        if (m->e[i].cfg.algo == algo)
            (*out)[(*count)++] = m->e[i].cfg;
    return IOB_OK;
}

static inline iob_status mock_predict(void *ctx, const iob_layer *L, const iob_config *cfg,
                                      const iob_machine *mach, iob_traffic *t, iob_error *err)
{
    (void)L, (void)mach;
    mock_land *m = ctx;
    m->predict_calls++;
    size_t i = mock_find(m, cfg);
    if (i == (size_t)-1 || m->e[i].pred_s < 0)
        return iob_error_set(err, IOB_EINFEASIBLE, "mock: no prediction");
    memset(t, 0, sizeof *t);
    t->time_s = m->e[i].pred_s;
    /* split the bytes over read and write so that the tuner must add both */
    t->l2_read_bytes = (uint64_t)(m->e[i].pred_bytes * 0.75);
    t->l2_write_bytes = (uint64_t)m->e[i].pred_bytes - t->l2_read_bytes;
    return IOB_OK;
}

static inline iob_status mock_bound(void *ctx, const iob_layer *L, const iob_config *cfg,
                                    const iob_machine *mach, double *bytes, iob_error *err)
{
    (void)L, (void)mach;
    mock_land *m = ctx;
    m->bound_calls++;
    double b = m->bound[cfg->algo];
    if (cfg->algo == IOB_ALGO_WINOGRAD && cfg->wino_m == 4)
        b *= 2; /* a second Winograd variant with its own bound */
    if (b <= 0)
        return iob_error_set(err, IOB_ENOTSUP, "mock: no bound");
    *bytes = b;
    return IOB_OK;
}

static inline iob_tune_source mock_source(mock_land *m)
{
    iob_tune_source s = {mock_enumerate, mock_predict, mock_bound, m};
    return s;
}

static inline iob_status mock_measure(void *ctx, const iob_layer *L, const iob_config *cfg,
                                      iob_tune_meas *out, iob_error *err)
{
    (void)L;
    mock_land *m = ctx;
    if (m->broken_after && m->measure_calls + 1 >= m->broken_after)
        return iob_error_set(err, IOB_EGPU, "mock: the GPU is gone");
    size_t i = mock_find(m, cfg);
    if (i == (size_t)-1)
        return iob_error_set(err, IOB_EINVAL, "mock: unknown config");
    m->order[m->measure_calls++] = i;
    m->clock += m->clock_step;
    out->status = m->e[i].status;
    out->time_ms = m->e[i].status == IOB_OK ? m->e[i].time_ms : NAN;
    out->compile_ms = 10;
    snprintf(out->message, sizeof out->message, "%s",
             m->e[i].status ? "mock: wrong output" : "");
    return IOB_OK;
}

static inline iob_status mock_baseline(void *ctx, const iob_layer *L, iob_tune_baseline *out,
                                       iob_error *err)
{
    (void)ctx, (void)L, (void)err;
    memset(out, 0, sizeof *out);
    out->fp32_ms = 2.0;
    out->tf32_ms = 1.0;
    snprintf(out->fp32_algo, sizeof out->fp32_algo, "IMPLICIT_GEMM");
    snprintf(out->tf32_algo, sizeof out->tf32_algo, "IMPLICIT_GEMM");
    return IOB_OK;
}

static inline iob_measurer mock_measurer(mock_land *m)
{
    iob_measurer r = {mock_measure, mock_baseline, m};
    return r;
}

static inline double mock_clock(void *ctx)
{
    return ((mock_land *)ctx)->clock;
}

/* A small real layer (the mock ignores it; the tuner formats and passes it around). */
static inline iob_layer mock_layer(void)
{
    iob_layer L;
    iob_layer_parse("name=mock,c=64,h=56,k=64,r=3,pad=1", &L, NULL);
    return L;
}

#endif
