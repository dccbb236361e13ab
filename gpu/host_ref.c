/* host_ref.c - FP64 CPU reference convolution (full or sampled), the seeded generator of inputs
 * and the error metric (definitions and the rounding bound behind them: host_ref.h).
 *
 *   y[n][k][p][q] = sum_{c'<C/G, r<R, s<S} x[n][g*C/G + c'][p*Sh - Pt + r*Dh][q*Sw - Pl + s*Dw]
 *                                           * w[k][c'][r][s],      g = k / (K/G)
 *
 * with taps outside the input (padding) contributing nothing.
 */
#include "gpu/host_ref.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* SplitMix64's finaliser (Steele, Lea, Flood, "Fast splittable pseudorandom number generators",
 * OOPSLA 2014): a bijective mix with full avalanche, so hash(seed, stream, i) is a good
 * counter-based generator. */
static uint64_t mix64(uint64_t z)
{
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
    return z ^ (z >> 31);
}

static uint64_t stream_base(uint64_t seed, uint32_t stream)
{
    return mix64(seed * 0x9e3779b97f4a7c15ULL + stream);
}

void iob_ref_fill(float *buf, size_t n, uint64_t seed, uint32_t stream)
{
    uint64_t base = stream_base(seed, stream);
    long long nn = (long long)n;
#pragma omp parallel for schedule(static)
    for (long long i = 0; i < nn; i++) {
        uint64_t m = mix64(base + 0x9e3779b97f4a7c15ULL * (uint64_t)i) >> 40; /* 24 bits */
        /* (2m + 1 - 2^24) / 2^24: odd numerator, |value| < 1, exact in FP32 */
        buf[i] = (float)((double)(int64_t)(2 * m + 1 - (1ULL << 24)) / 16777216.0);
    }
}

double iob_ref_output(const iob_layer *L, const float *x, const float *w, int64_t n, int64_t k,
                      int64_t p, int64_t q, double *abs_sum)
{
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    int64_t g = k / kg;
    double sum = 0, asum = 0;
    for (int64_t c = 0; c < cg; c++) {
        const float *xc = x + ((n * L->c + g * cg + c) * L->h) * L->w;
        const float *wc = w + ((k * cg + c) * L->r) * L->s;
        for (int64_t r = 0; r < L->r; r++) {
            int64_t ih = p * L->stride_h - L->pad_top + r * L->dil_h;
            if (ih < 0 || ih >= L->h)
                continue;
            for (int64_t s = 0; s < L->s; s++) {
                int64_t iw = q * L->stride_w - L->pad_left + s * L->dil_w;
                if (iw < 0 || iw >= L->w)
                    continue;
                double t = (double)xc[ih * L->w + iw] * (double)wc[r * L->s + s];
                sum += t;
                asum += fabs(t);
            }
        }
    }
    if (abs_sum)
        *abs_sum = asum;
    return sum;
}

static int64_t output_elems(const iob_layer *L)
{
    return L->n * L->k * L->p * L->q;
}

int64_t iob_ref_samples_for(const iob_layer *L, int64_t requested)
{
    int64_t out = output_elems(L);
    if (requested > 0)
        return requested >= out ? 0 : requested;
    iob_layer_counts c;
    if (iob_layer_counts_get(L, &c, NULL) == IOB_OK && c.macs <= IOB_REF_FULL_MACS)
        return 0;
    return IOB_REF_SAMPLES >= out ? 0 : IOB_REF_SAMPLES;
}

static int cmp_i64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
    return (x > y) - (x < y);
}

/* `count` distinct indices in [0, total), ascending, including 0 and total-1 (count >= 2,
 * count < total). Drawn with the generator's hash, duplicates redrawn. */
static void draw_indices(int64_t *idx, int64_t count, int64_t total, uint64_t seed)
{
    uint64_t base = stream_base(seed, 3), ctr = 0;
    idx[0] = 0;
    idx[1] = total - 1;
    int64_t have = 2;
    while (have < count) {
        /* draw the missing ones, then sort and drop duplicates; a few rounds suffice because
         * count < total */
        for (int64_t i = have; i < count; i++)
            idx[i] = (int64_t)(mix64(base + 0x9e3779b97f4a7c15ULL * ctr++) % (uint64_t)total);
        qsort(idx, (size_t)count, sizeof *idx, cmp_i64);
        int64_t u = 1;
        for (int64_t i = 1; i < count; i++)
            if (idx[i] != idx[u - 1])
                idx[u++] = idx[i];
        have = u;
    }
}

iob_status iob_ref_compute(const iob_layer *L, const float *x, const float *w, int64_t samples,
                           uint64_t seed, iob_ref *ref, iob_error *err)
{
    memset(ref, 0, sizeof *ref);
    int64_t total = output_elems(L);
    if (samples > 0 && samples < 2)
        samples = 2;
    int sampled = samples > 0 && samples < total;
    int64_t count = sampled ? samples : total;
    ref->value = malloc((size_t)count * sizeof *ref->value);
    ref->abs_sum = malloc((size_t)count * sizeof *ref->abs_sum);
    if (sampled)
        ref->index = malloc((size_t)count * sizeof *ref->index);
    if (!ref->value || !ref->abs_sum || (sampled && !ref->index)) {
        iob_ref_free(ref);
        return iob_error_set(err, IOB_ENOMEM, "no host memory for the reference of %lld outputs",
                             (long long)count);
    }
    ref->count = count;
    if (sampled)
        draw_indices(ref->index, count, total, seed);
    const int64_t P = L->p, Q = L->q, K = L->k;
#pragma omp parallel for schedule(dynamic, 256)
    for (int64_t i = 0; i < count; i++) {
        int64_t f = ref->index ? ref->index[i] : i;
        int64_t q = f % Q, t = f / Q;
        int64_t p = t % P;
        t /= P;
        int64_t k = t % K, n = t / K;
        ref->value[i] = iob_ref_output(L, x, w, n, k, p, q, &ref->abs_sum[i]);
    }
    return IOB_OK;
}

void iob_ref_free(iob_ref *ref)
{
    free(ref->index);
    free(ref->value);
    free(ref->abs_sum);
    memset(ref, 0, sizeof *ref);
}

double iob_ref_rel_err(double got, double want, double abs_sum)
{
    double d = fabs(got - want);
    if (isnan(d))
        return INFINITY;
    return d / (abs_sum > IOB_REF_EPS ? abs_sum : IOB_REF_EPS);
}

static uint32_t bits_of(float v)
{
    uint32_t u;
    memcpy(&u, &v, sizeof u);
    return u;
}

/* The reference's elements against y (all of the output) or vals (vals[i] = y[index[i]]). */
static void compare(const iob_ref *ref, const float *y, const float *vals, int64_t y_elems,
                    iob_check *chk)
{
    chk->checked = ref->count;
    for (int64_t i = 0; i < ref->count; i++) {
        int64_t f = ref->index ? ref->index[i] : i;
        if (f >= y_elems)
            continue;
        float got = vals ? vals[i] : y[f];
        double e = iob_ref_rel_err(got, ref->value[i], ref->abs_sum[i]);
        if (chk->worst < 0 || e > chk->max_rel_err) {
            chk->max_rel_err = e;
            chk->worst = f;
            chk->worst_got = got;
            chk->worst_want = ref->value[i];
        }
    }
}

void iob_ref_check(const iob_ref *ref, const float *y, int64_t y_elems, iob_check *chk)
{
    memset(chk, 0, sizeof *chk);
    chk->worst = chk->first_unwritten = chk->first_nonfinite = -1;
    int64_t unwritten = 0, nonfinite = 0;
    int64_t first_u = y_elems, first_n = y_elems;
#pragma omp parallel for reduction(+ : unwritten, nonfinite) reduction(min : first_u, first_n)
    for (int64_t i = 0; i < y_elems; i++) {
        if (bits_of(y[i]) == IOB_POISON_BITS) {
            unwritten++;
            if (i < first_u)
                first_u = i;
        } else if (!isfinite(y[i])) {
            nonfinite++;
            if (i < first_n)
                first_n = i;
        }
    }
    chk->unwritten = unwritten;
    chk->nonfinite = nonfinite;
    chk->first_unwritten = unwritten ? first_u : -1;
    chk->first_nonfinite = nonfinite ? first_n : -1;
    compare(ref, y, NULL, y_elems, chk);
}

void iob_ref_check_gathered(const iob_ref *ref, const float *vals, iob_check *chk)
{
    chk->worst = -1;
    chk->max_rel_err = 0;
    compare(ref, NULL, vals, INT64_MAX, chk);
}

double iob_ref_compare(const iob_ref *ref, const float *a, const float *b)
{
    double worst = 0;
    for (int64_t i = 0; i < ref->count; i++) {
        int64_t f = ref->index ? ref->index[i] : i;
        double e = iob_ref_rel_err(a[f], b[f], ref->abs_sum[i]);
        if (e > worst)
            worst = e;
    }
    return worst;
}

static void position(const iob_layer *L, int64_t f, char *buf, size_t size)
{
    int64_t q = f % L->q, t = f / L->q;
    int64_t p = t % L->p;
    t /= L->p;
    snprintf(buf, size, "(n=%lld,k=%lld,p=%lld,q=%lld)", (long long)(t / L->k),
             (long long)(t % L->k), (long long)p, (long long)q);
}

iob_status iob_ref_verdict(const iob_layer *L, const iob_check *chk, double tolerance,
                           const char *what, iob_error *err)
{
    char pos[96];
    if (chk->unwritten) {
        position(L, chk->first_unwritten, pos, sizeof pos);
        return iob_error_set(err, IOB_ECHECK, "%s: %lld output elements not written (first at %s)",
                             what, (long long)chk->unwritten, pos);
    }
    if (chk->nonfinite) {
        position(L, chk->first_nonfinite, pos, sizeof pos);
        return iob_error_set(err, IOB_ECHECK, "%s: %lld output elements are NaN or infinite "
                             "(first at %s)", what, (long long)chk->nonfinite, pos);
    }
    if (chk->worst >= 0 && !(chk->max_rel_err <= tolerance)) {
        position(L, chk->worst, pos, sizeof pos);
        return iob_error_set(err, IOB_ECHECK, "%s: relative error %.3g > tolerance %.3g at %s: got "
                             "%.9g, FP64 reference %.9g", what, chk->max_rel_err, tolerance, pos,
                             chk->worst_got, chk->worst_want);
    }
    return IOB_OK;
}
