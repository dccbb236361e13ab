/* test_schedule_direct.c - the best explicit schedule of the tile family (iob_schedule_direct,
 * model/schedule_direct.c) against brute force on small layers: its traffic equals an
 * element-by-element count of the schedule it names (distinct in-image inputs per tile and
 * channel chunk, the filter slices, the outputs once), its tile fits S, no tile of the candidate
 * sets moves less, and it never moves less than the lower bound (it is a valid schedule on one
 * SM as much as on 132). Bad input gets an error, not a number. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sched_check.h"

/* The family's traffic for one tile, by brute force over the schedule's blocks and chunks. */
static double brute_words(const iob_layer *L, int64_t tk, int64_t tn, int64_t tp, int64_t tq,
                          int64_t tc)
{
    int64_t cg = L->c / L->groups, kg = L->k / L->groups;
    uint8_t *seen = malloc((size_t)(L->h * L->w));
    if (!seen)
        abort();
    double words = (double)(L->n * L->k * L->p * L->q); /* outputs, stored once */
    for (int64_t g = 0; g < L->groups; g++)
        for (int64_t k0 = 0; k0 < kg; k0 += tk)
            for (int64_t n0 = 0; n0 < L->n; n0 += tn)
                for (int64_t p0 = 0; p0 < L->p; p0 += tp)
                    for (int64_t q0 = 0; q0 < L->q; q0 += tq)
                        for (int64_t c0 = 0; c0 < cg; c0 += tc) {
                            int64_t nk = kg - k0 < tk ? kg - k0 : tk;
                            int64_t nc = cg - c0 < tc ? cg - c0 : tc;
                            int64_t nn = L->n - n0 < tn ? L->n - n0 : tn;
                            words += (double)(nk * nc * L->r * L->s); /* the filter slice */
                            /* the receptive field: the same positions for every image and
                             * channel of the chunk */
                            memset(seen, 0, (size_t)(L->h * L->w));
                            int64_t npos = 0;
                            for (int64_t p = p0; p < p0 + tp && p < L->p; p++)
                                for (int64_t q = q0; q < q0 + tq && q < L->q; q++)
                                    for (int64_t r = 0; r < L->r; r++)
                                        for (int64_t s = 0; s < L->s; s++) {
                                            int64_t y = p * L->stride_h - L->pad_top + r * L->dil_h;
                                            int64_t x = q * L->stride_w - L->pad_left + s * L->dil_w;
                                            if (y < 0 || y >= L->h || x < 0 || x >= L->w ||
                                                seen[y * L->w + x])
                                                continue;
                                            seen[y * L->w + x] = 1;
                                            npos++;
                                        }
                            words += (double)(npos * nn * nc);
                        }
    free(seen);
    return words;
}

static void fill_values(int64_t extent, int pow2, int64_t *v, int *n)
{
    *n = 0;
    if (pow2)
        for (int64_t x = 1; x < extent; x *= 2)
            v[(*n)++] = x;
    else
        for (int64_t x = 1; x <= 64 && x < extent; x++)
            v[(*n)++] = x;
    v[(*n)++] = extent;
}

static void test_against_brute_force(void **state)
{
    (void)state;
    rng r = {0x243f6a8885a308d3ULL};
    layer_gen g = {.max_hw = 9, .max_rs = 3, .max_stride = 3, .max_dil = 2, .max_pad = 2,
                   .min_macs = 30, .max_macs = 5000, .max_cg = 6, .max_kg = 6};
    static const double Ss[] = {12, 40, 150, 1000};
    int below_bound = 0, checked = 0;
    for (int li = 0; li < 120; li++) {
        iob_layer L = random_layer(&r, &g);
        double S = Ss[li % 4];
        iob_schedule sch;
        iob_error err = {0};
        iob_status st = iob_schedule_direct(&L, S, &sch, &err);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        if (st) { /* only when not even a 1x1x1x1 tile with one channel fits */
            double need = 1 + (double)(((L.r - 1) * L.dil_h + 1) * ((L.s - 1) * L.dil_w + 1)) +
                          (double)(L.r * L.s);
            if (need <= S)
                fail_msg("%s S=%g: %s", spec, S, err.msg);
            continue;
        }
        /* the count it gives is the count of the schedule it names */
        double brute = brute_words(&L, sch.tk, sch.tn, sch.tp, sch.tq, sch.tc);
        if (brute != sch.words || sch.input + sch.filter + sch.output != sch.words)
            fail_msg("%s S=%g tile %lldx%lldx%lldx%lld c%lld: %.0f words, brute force %.0f", spec,
                     S, (long long)sch.tk, (long long)sch.tn, (long long)sch.tp,
                     (long long)sch.tq, (long long)sch.tc, sch.words, brute);
        /* the tile fits */
        double ih = (double)((sch.tp - 1) * L.stride_h + (L.r - 1) * L.dil_h + 1);
        double iw = (double)((sch.tq - 1) * L.stride_w + (L.s - 1) * L.dil_w + 1);
        assert_true((double)(sch.tk * sch.tn * sch.tp * sch.tq) + (double)(sch.tc * sch.tn) * ih * iw +
                        (double)(sch.tk * sch.tc * L.r * L.s) <= S);
        /* no candidate tile that fits moves less (brute force over the same candidate sets) */
        int64_t tkv[80], tnv[80], tpv[80], tqv[80], tcv[80];
        int ntk, ntn, ntp, ntq, ntc;
        fill_values(L.k / L.groups, 1, tkv, &ntk);
        fill_values(L.n, 1, tnv, &ntn);
        fill_values(L.c / L.groups, 1, tcv, &ntc);
        fill_values(L.p, 0, tpv, &ntp);
        fill_values(L.q, 0, tqv, &ntq);
        for (int a = 0; a < ntk; a++)
            for (int b = 0; b < ntn; b++)
                for (int c = 0; c < ntp; c++)
                    for (int d = 0; d < ntq; d++)
                        for (int e = 0; e < ntc; e++) {
                            double h2 = (double)((tpv[c] - 1) * L.stride_h + (L.r - 1) * L.dil_h + 1);
                            double w2 = (double)((tqv[d] - 1) * L.stride_w + (L.s - 1) * L.dil_w + 1);
                            if ((double)(tkv[a] * tnv[b] * tpv[c] * tqv[d]) +
                                    (double)(tcv[e] * tnv[b]) * h2 * w2 +
                                    (double)(tkv[a] * tcv[e] * L.r * L.s) > S)
                                continue;
                            double w = brute_words(&L, tkv[a], tnv[b], tpv[c], tqv[d], tcv[e]);
                            if (w < sch.words)
                                fail_msg("%s S=%g: tile %lldx%lldx%lldx%lld c%lld moves %.0f < "
                                         "the best found %.0f", spec, S, (long long)tkv[a],
                                         (long long)tnv[b], (long long)tpv[c], (long long)tqv[d],
                                         (long long)tcv[e], w, sch.words);
                        }
        /* an achievable schedule never beats a lower bound, on one SM or on many */
        for (int P = 1; P <= 132; P += 131) {
            iob_bound b;
            iob_bound_opts o = {.s_words = S, .processors = P, .elem_bytes = 4};
            if (iob_bound_direct(&L, &o, &b, &err))
                fail_msg("%s: %s", spec, err.msg);
            /* the compulsory term counts weights of taps that only meet padding, which this
             * family loads anyway, so compare with everything */
            double lb = P == 1 ? b.bound : b.bound_gpu;
            below_bound += sch.words < lb * (1 - 1e-12);
            if (sch.words < lb * (1 - 1e-12))
                fail_msg("%s S=%g P=%d: the schedule moves %.0f < bound %.3f", spec, S, P,
                         sch.words, lb);
        }
        checked++;
    }
    assert_true(checked >= 80);
    assert_int_equal(below_bound, 0);
}

/* A known value: 1 image, 1 channel in and out, 4x4, 3x3 with padding 1, S large: one tile of
 * the whole output reads the 16 inputs and 9 weights once and stores 16 outputs. */
static void test_known_value(void **state)
{
    (void)state;
    iob_layer L = parse_layer("n=1,c=1,h=4,k=1,r=3,pad=1");
    iob_schedule sch;
    assert_int_equal(iob_schedule_direct(&L, 1000, &sch, NULL), IOB_OK);
    assert_true(sch.words == 16 + 9 + 16);
    assert_true(sch.tp == 4 && sch.tq == 4);
}

static void test_refusals(void **state)
{
    (void)state;
    iob_layer L = parse_layer("n=1,c=8,h=8,k=8,r=3,pad=1");
    iob_schedule sch;
    iob_error err = {0};
    assert_int_equal(iob_schedule_direct(&L, 2, &sch, &err), IOB_ERANGE);
    assert_non_null(strstr(err.msg, "at least 3"));
    /* a 1x1 tile needs 1 + 9 + 9 = 19 words */
    assert_int_equal(iob_schedule_direct(&L, 18, &sch, &err), IOB_ERANGE);
    assert_non_null(strstr(err.msg, "no tile"));
    assert_int_equal(iob_schedule_direct(&L, 19, &sch, &err), IOB_OK);
    iob_layer W = parse_layer("n=1,c=1,h=1,w=70000,k=1,r=1");
    assert_int_equal(iob_schedule_direct(&W, 1e6, &sch, &err), IOB_ERANGE);
    assert_non_null(strstr(err.msg, "65536"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_against_brute_force),
        cmocka_unit_test(test_known_value),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
