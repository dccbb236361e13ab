/* sched_check.h - what the "no schedule beats the bound" tests share (tests/test_bound_sched_*.c):
 * a seeded generator of small random layers, replay of an operation sequence with OPT, and the
 * tightness statistics (traffic / bound) each test prints for the lead. Header-only, static. */
#ifndef IOB_TESTS_SCHED_CHECK_H
#define IOB_TESTS_SCHED_CHECK_H

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "iobound/bound.h"
#include "iobound/layer.h"
#include "sim/replay.h"
#include "sim/sched.h"

/* xorshift64*: the same sequence on every machine (rand() is not). */
typedef struct rng {
    uint64_t s;
} rng;

static inline uint64_t rng_next(rng *r)
{
    r->s ^= r->s >> 12;
    r->s ^= r->s << 25;
    r->s ^= r->s >> 27;
    return r->s * 2685821657736338717ULL;
}

/* uniform in [lo, hi] */
static inline int64_t rng_int(rng *r, int64_t lo, int64_t hi)
{
    return lo + (int64_t)(rng_next(r) % (uint64_t)(hi - lo + 1));
}

static inline void rng_perm(rng *r, const char *letters, char *out)
{
    size_t n = strlen(letters);
    memcpy(out, letters, n + 1);
    for (size_t i = n; i > 1; i--) {
        size_t j = (size_t)(rng_next(r) % i);
        char t = out[i - 1];
        out[i - 1] = out[j];
        out[j] = t;
    }
}

/* Shape limits of one random layer. */
typedef struct layer_gen {
    int64_t max_hw;            /* input sides in [2, max_hw] */
    int64_t max_rs;            /* filter sides in [1, max_rs] */
    int64_t max_stride, max_dil, max_pad;
    int winograd;              /* 1: square r in {3, 5}, stride 1, dilation 1 */
    uint64_t min_macs, max_macs; /* useful multiply-adds */
    int64_t max_cg, max_kg;    /* channels per group (0: 4) */
    int no_groups;             /* 1: groups = 1 */
} layer_gen;

/* A random finished layer within the limits (odd and even sides, asymmetric padding, groups). */
static inline iob_layer random_layer(rng *r, const layer_gen *g)
{
    for (;;) {
        iob_layer L;
        iob_layer_init(&L);
        snprintf(L.name, sizeof L.name, "rand");
        L.groups = !g->no_groups && rng_int(r, 0, 3) == 0 ? rng_int(r, 2, 3) : 1;
        L.n = rng_int(r, 1, 2);
        L.c = L.groups * rng_int(r, 1, g->max_cg ? g->max_cg : 4);
        L.k = L.groups * rng_int(r, 1, g->max_kg ? g->max_kg : 4);
        L.h = rng_int(r, 2, g->max_hw);
        L.w = rng_int(r, 0, 2) ? rng_int(r, 2, g->max_hw) : L.h;
        if (g->winograd) {
            L.r = L.s = rng_int(r, 0, 4) ? 3 : 5;
        } else {
            L.r = rng_int(r, 1, g->max_rs);
            L.s = rng_int(r, 0, 2) ? rng_int(r, 1, g->max_rs) : L.r;
            L.stride_h = rng_int(r, 1, g->max_stride);
            L.stride_w = rng_int(r, 0, 1) ? rng_int(r, 1, g->max_stride) : L.stride_h;
            L.dil_h = rng_int(r, 1, g->max_dil);
            L.dil_w = rng_int(r, 1, g->max_dil);
        }
        L.pad_top = rng_int(r, 0, g->max_pad);
        L.pad_bottom = rng_int(r, 0, 2) ? L.pad_top : rng_int(r, 0, g->max_pad);
        L.pad_left = rng_int(r, 0, g->max_pad);
        L.pad_right = rng_int(r, 0, 2) ? L.pad_left : rng_int(r, 0, g->max_pad);
        L.given = 0x7f;
        iob_layer_counts c;
        if (iob_layer_finish(&L, NULL) || iob_layer_counts_get(&L, &c, NULL))
            continue;
        if (c.useful_macs < g->min_macs || c.useful_macs > g->max_macs)
            continue;
        return L;
    }
}

/* A layer from a spec string; aborts the test program on a parse error (a bug in the test). */
static inline iob_layer parse_layer(const char *spec)
{
    iob_layer L;
    iob_error err = {0};
    if (iob_layer_parse(spec, &L, &err)) {
        fprintf(stderr, "layer '%s': %s\n", spec, err.msg);
        abort();
    }
    return L;
}

static inline iob_bound_opts opts_for(int64_t S)
{
    iob_bound_opts o = {.s_words = (double)S, .processors = 1, .elem_bytes = 4};
    return o;
}

/* Loads + stores of seq replayed with Belady's OPT in S words; fails the test on an error. */
static inline uint64_t replay_opt(const iob_opseq *seq, int64_t S)
{
    iob_replay_count cnt;
    iob_error err = {0};
    if (iob_replay_run(seq, S, IOB_REPLAY_OPT, &cnt, &err)) {
        fprintf(stderr, "replay failed: %s\n", err.msg);
        abort();
    }
    return cnt.loads + cnt.stores;
}

/* Loads + stores of a P-processor run of seq: processor i performs the operations
 * [cuts[i], cuts[i+1]) in order, from an empty fast memory of S words, with OPT, and stores every
 * output it wrote (a partial sum, when another processor also writes it; adding the partial sums
 * up is not counted, which can only lower the total). cuts[0] = 0, cuts[parts] = seq->nops. */
static inline uint64_t replay_parts_opt(const iob_opseq *seq, int64_t S, const size_t *cuts,
                                        int parts)
{
    uint64_t total = 0;
    for (int i = 0; i < parts; i++) {
        iob_opseq sub;
        iob_opseq_init(&sub);
        int32_t base;
        iob_error err = {0};
        if (iob_opseq_elems(&sub, seq->nelems, &base, &err))
            abort();
        for (int32_t e = 0; e < seq->nelems; e++)
            if (seq->final[e])
                iob_opseq_mark_final(&sub, e);
        for (size_t o = cuts[i]; o < cuts[i + 1]; o++)
            if (iob_opseq_push(&sub, seq->ops[o].out, seq->ops[o].in[0], seq->ops[o].in[1], &err))
                abort();
        total += replay_opt(&sub, S);
        iob_opseq_free(&sub);
    }
    return total;
}

/* Cuts of n operations into `parts` non-empty pieces: even (uneven = 0) or at random points. */
static inline void make_cuts(rng *r, size_t n, int parts, int uneven, size_t *cuts)
{
    cuts[0] = 0;
    cuts[parts] = n;
    for (int i = 1; i < parts; i++)
        cuts[i] = uneven ? (size_t)rng_int(r, 1, (int64_t)n - 1) : n * (size_t)i / (size_t)parts;
    for (int i = 1; i < parts; i++) /* sort (insertion) */
        for (int j = i; j > 1 && cuts[j] < cuts[j - 1]; j--) {
            size_t t = cuts[j];
            cuts[j] = cuts[j - 1];
            cuts[j - 1] = t;
        }
}

/* b with its P-processor numbers in the one-processor fields, for tight_add. */
static inline iob_bound as_gpu(const iob_bound *b)
{
    iob_bound g = *b;
    g.reuse = b->reuse_gpu;
    g.bound = b->bound_gpu;
    return g;
}

/* Distinct elements with ids in [lo, hi) that some operation of seq reads as an operand. */
static inline int64_t distinct_reads(const iob_opseq *seq, int32_t lo, int32_t hi)
{
    uint8_t *seen = calloc((size_t)(hi > lo ? hi - lo : 1), 1);
    int64_t n = 0;
    if (!seen)
        abort();
    for (size_t i = 0; i < seq->nops; i++)
        for (int j = 0; j < 2; j++) {
            int32_t e = seq->ops[i].in[j];
            if (e >= lo && e < hi && !seen[e - lo]) {
                seen[e - lo] = 1;
                n++;
            }
        }
    free(seen);
    return n;
}

/* A copy of b that leaves out `dead` elements the bound charges but no operation needs
 * (tests/test_bound_regressions.c, issues 1 and 2). composite = 0: they are part of the
 * compulsory term only (bound = max(compulsory, reuse)); composite = 1: of every term (a sum of
 * sub-computation bounds, each of which includes them). */
static inline iob_bound without_dead(const iob_bound *b, double dead, int composite)
{
    iob_bound r = *b;
    r.compulsory -= dead;
    if (composite) {
        r.reuse -= dead;
        r.bound -= dead;
    } else {
        r.bound = r.compulsory > r.reuse ? r.compulsory : r.reuse;
    }
    return r;
}

/* Ratios traffic / bound of one algorithm, the worst case, and the violations. */
typedef struct tightness {
    const char *algo;
    double *ratio;
    size_t n, cap;
    double min;                /* smallest ratio */
    double min_reuse;          /* smallest ratio where reuse >= 2 x compulsory */
    size_t n_reuse;
    char min_case[640];        /* the case with the smallest ratio */
    char min_reuse_case[640];  /* the same among the cases where the reuse term wins */
    size_t violations;
    char first_violation[640];
} tightness;

static inline void tight_add(tightness *t, double traffic, const iob_bound *b, const char *what)
{
    double ratio = traffic / b->bound;
    if (t->n == t->cap) {
        t->cap = t->cap ? 2 * t->cap : 256;
        t->ratio = realloc(t->ratio, t->cap * sizeof *t->ratio);
        if (!t->ratio)
            abort();
    }
    if (t->n == 0 || ratio < t->min) {
        t->min = ratio;
        snprintf(t->min_case, sizeof t->min_case, "%.480s: traffic %.0f, bound %.3f (reuse %.3f, "
                 "compulsory %.0f)", what, traffic, b->bound, b->reuse, b->compulsory);
    }
    t->ratio[t->n++] = ratio;
    if (b->reuse >= 2 * b->compulsory) { /* the reuse term clearly wins */
        if (!t->n_reuse || ratio < t->min_reuse) {
            t->min_reuse = ratio;
            snprintf(t->min_reuse_case, sizeof t->min_reuse_case, "%.480s: traffic %.0f, bound "
                     "%.3f (reuse %.3f, compulsory %.0f)", what, traffic, b->bound, b->reuse,
                     b->compulsory);
        }
        t->n_reuse++;
    }
    /* traffic is an integer and the bound a real lower bound: only rounding may separate them */
    if (traffic < b->bound * (1 - 1e-12)) {
        if (!t->violations++)
            snprintf(t->first_violation, sizeof t->first_violation, "%.480s: traffic %.0f < bound "
                     "%.6f (reuse %.6f, compulsory %.0f)", what, traffic, b->bound, b->reuse,
                     b->compulsory);
    }
}

static inline int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* One P-processor check: seq cut into `parts` pieces (even, or at random points), each replayed
 * from an empty fast memory of S words, against b's P-processor bound (b computed for P = parts;
 * `dead` weights the compulsory term holds and no operation needs, as in without_dead). Returns
 * 1 when the reuse term beats the compulsory one (the check exercises the reuse terms). */
static inline int tight_add_parts(tightness *t, rng *r, const iob_opseq *seq, int64_t S, int parts,
                                  int uneven, const iob_bound *b, double dead, const char *what)
{
    size_t cuts[65];
    if (parts > 64)
        abort();
    make_cuts(r, seq->nops, parts, uneven, cuts);
    double q = (double)replay_parts_opt(seq, S, cuts, parts);
    iob_bound bg = as_gpu(b);
    if (dead > 0)
        bg = without_dead(&bg, dead, 0);
    tight_add(t, q, &bg, what);
    return b->reuse_gpu > b->compulsory;
}

/* Prints the statistics (one block per algorithm) and frees them. Returns the violations. */
static inline size_t tight_report(tightness *t)
{
    qsort(t->ratio, t->n, sizeof *t->ratio, cmp_double);
    double med = t->n ? (t->n % 2 ? t->ratio[t->n / 2]
                                  : 0.5 * (t->ratio[t->n / 2 - 1] + t->ratio[t->n / 2]))
                      : NAN;
    printf("[tightness] %-18s checks %6zu  min %.4f  median %.4f  min(reuse>=2x compulsory, %zu) %.4f\n",
           t->algo, t->n, t->n ? t->min : NAN, med, t->n_reuse,
           t->n_reuse ? t->min_reuse : NAN);
    printf("[tightness] %-18s tightest: %s\n", t->algo, t->min_case);
    if (t->n_reuse)
        printf("[tightness] %-18s tightest where reuse >= 2x compulsory: %s\n", t->algo, t->min_reuse_case);
    if (t->violations)
        printf("[VIOLATION] %-18s %zu cases, first: %s\n", t->algo, t->violations,
               t->first_violation);
    free(t->ratio);
    size_t v = t->violations;
    memset(t, 0, sizeof *t);
    return v;
}

static inline void describe_layer(const iob_layer *L, char *buf, size_t size)
{
    iob_layer_format(L, buf, size);
}

#endif
