/* test_bound_sched_direct.c - no schedule of direct convolution beats iob_bound_direct(): random
 * small layers (stride 1-3, dilation 1-2, asymmetric padding, groups, odd and even sides) under
 * explicit loop orders and tilings, replayed with Belady's OPT in S words (sim/replay.h); every
 * count of loads + stores must be >= the one-processor bound. Prints the tightness it saw.
 *
 * Known issue 1 (tests/test_bound_regressions.c): the compulsory term counts every weight, also
 * those of filter taps that never touch a real input, which a schedule skipping padding taps never
 * loads. For layers with such taps the check leaves those weights out of the compulsory term (the
 * reuse term is checked unchanged) and counts the layers. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sched_check.h"

#define LAYERS 220
#define SCHEDULES 4

/* Six loop orders that cover output-, weight- and input-stationary nests. */
static const char *const orders[6] = {"nkcpqrs", "nkpqcrs", "npqkcrs",
                                      "ncrskpq", "kcrsnpq", "rscnkpq"};
static const int64_t sizes[] = {4, 8, 16, 48, 160};

static iob_sched_direct random_schedule(rng *r, const iob_layer *L, int which)
{
    iob_sched_direct s;
    memset(&s, 0, sizeof s);
    if (which < 6)
        snprintf(s.order, sizeof s.order, "%s", orders[which]);
    else
        rng_perm(r, "nkcpqrs", s.order);
    rng_perm(r, "kcpq", s.tile_order);
    if (rng_int(r, 0, 3) == 0) /* sometimes only some dimensions are tiled */
        s.tile_order[rng_int(r, 1, 3)] = '\0';
    s.tile_k = rng_int(r, 0, L->k);
    s.tile_c = rng_int(r, 0, L->c / L->groups);
    s.tile_p = rng_int(r, 0, L->p);
    s.tile_q = rng_int(r, 0, L->q);
    return s;
}

/* An output-stationary blocked schedule for S words: a tk x tp x tq block of outputs stays
 * resident while c, r, s sweep (order "ncrskpq" inside the tile loops over k, p, q), with the
 * largest block such that block + tk weights + tp*tq inputs fit. */
static iob_sched_direct blocked_schedule(const iob_layer *L, int64_t S)
{
    iob_sched_direct best = {"ncrskpq", "kpq", 1, 0, 1, 1};
    int64_t best_v = 0;
    for (int64_t tk = 1; tk <= L->k; tk++)
        for (int64_t tp = 1; tp <= L->p; tp++)
            for (int64_t tq = 1; tq <= L->q; tq++) {
                int64_t v = tk * tp * tq;
                if (v + tk + tp * tq <= S && v > best_v) {
                    best_v = v;
                    best.tile_k = tk;
                    best.tile_p = tp;
                    best.tile_q = tq;
                }
            }
    return best;
}

static void check(tightness *t, tightness *t_rho, const iob_layer *L, const char *spec, const iob_sched_direct *cfg,
                  const int64_t *S, size_t nS, int *dead_layers)
{
    iob_opseq seq;
    iob_opseq_init(&seq);
    iob_error err = {0};
    if (iob_sched_direct_build(L, cfg, &seq, &err))
        fail_msg("%s: %s", spec, err.msg);
    /* weights some operation reads (ids [0, K*C/G*R*S) come first) */
    int64_t nw = L->k * (L->c / L->groups) * L->r * L->s;
    int64_t dead = nw - distinct_reads(&seq, 0, (int32_t)nw);
    *dead_layers += dead > 0;
    for (size_t k = 0; k < nS; k++) {
        iob_bound b;
        iob_bound_opts o = opts_for(S[k]);
        if (iob_bound_direct(L, &o, &b, &err))
            fail_msg("%s: %s", spec, err.msg);
        /* the schedule performs exactly the operations the bound counts */
        assert_true((double)seq.macs == b.ops);
        char what[480];
        snprintf(what, sizeof what, "%.300s order=%s tiles=%s k%lld c%lld p%lld q%lld S=%lld", spec,
                 cfg->order, cfg->tile_order, (long long)cfg->tile_k, (long long)cfg->tile_c,
                 (long long)cfg->tile_p, (long long)cfg->tile_q, (long long)S[k]);
        iob_bound bc = dead ? without_dead(&b, (double)dead, 0) : b;
        double q = (double)replay_opt(&seq, S[k]);
        tight_add(t, q, &bc, what);
        if (t_rho && b.rho > 1) /* taps share inputs: the bound claims more reuse than a GEMM */
            tight_add(t_rho, q, &bc, what);
    }
    iob_opseq_free(&seq);
}

static void test_direct_schedules_never_beat_the_bound(void **state)
{
    (void)state;
    rng r = {0x9e3779b97f4a7c15ULL};
    layer_gen g = {.max_hw = 9, .max_rs = 3, .max_stride = 3, .max_dil = 2, .max_pad = 2,
                   .min_macs = 60, .max_macs = 3000};
    tightness t = {.algo = "direct"};
    int dead = 0;
    for (int li = 0; li < LAYERS; li++) {
        iob_layer L = random_layer(&r, &g);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        for (int si = 0; si < SCHEDULES; si++) {
            iob_sched_direct cfg = random_schedule(&r, &L, si < 3 ? (li * 3 + si) % 6 : 6);
            check(&t, NULL, &L, spec, &cfg, sizes, sizeof sizes / sizeof sizes[0], &dead);
        }
    }
    assert_true(t.n >= 200 * SCHEDULES);
    printf("[known issue 1] %d of %d schedules run layers with filter taps on padding only: "
           "their weights are left out of the compulsory term\n", dead, LAYERS * SCHEDULES);
    /* layers with more channels and a small S, where the reuse term wins: random schedules and
     * the blocked one */
    layer_gen heavy = {.max_hw = 8, .max_rs = 3, .max_stride = 2, .max_dil = 2, .max_pad = 1,
                       .min_macs = 2000, .max_macs = 6000, .max_cg = 10, .max_kg = 10,
                       .no_groups = 1};
    static const int64_t small[] = {4, 8, 16};
    tightness th = {.algo = "direct (reuse-heavy)"}, tr = {.algo = "  of which rho > 1"};
    for (int li = 0; li < 40; li++) {
        iob_layer L = random_layer(&r, &heavy);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        for (int si = 0; si < 2; si++) {
            iob_sched_direct cfg = random_schedule(&r, &L, (li + si) % 7);
            check(&th, &tr, &L, spec, &cfg, small, 3, &dead);
        }
        for (size_t k = 0; k < 3; k++) {
            iob_sched_direct cfg = blocked_schedule(&L, small[k]);
            check(&th, &tr, &L, spec, &cfg, &small[k], 1, &dead);
        }
    }
    size_t v = tight_report(&t) + tight_report(&th) + tight_report(&tr);
    assert_int_equal(v, 0);
}

/* P processors (docs/bounds.md, Theorems 1 and 1b): a schedule cut into P pieces, each replayed
 * from an empty fast memory, never moves less in total than bound_gpu for P. Small S and many
 * pieces make every processor's share small, where the cold-start term is the one that binds. */
static void test_parallel_schedules_never_beat_the_gpu_bound(void **state)
{
    (void)state;
    rng r = {0x5851f42d4c957f2dULL};
    layer_gen g = {.max_hw = 8, .max_rs = 3, .max_stride = 2, .max_dil = 2, .max_pad = 1,
                   .min_macs = 800, .max_macs = 6000, .max_cg = 8, .max_kg = 8};
    static const int64_t S[] = {4, 8, 16, 48};
    static const int parts[] = {2, 4, 16, 64};
    tightness t = {.algo = "direct, P procs"};
    int reuse_wins = 0;
    for (int li = 0; li < 60; li++) {
        iob_layer L = random_layer(&r, &g);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        iob_sched_direct cfg = li % 3 == 2 ? blocked_schedule(&L, S[li % 4])
                                           : random_schedule(&r, &L, li % 7);
        iob_opseq seq;
        iob_opseq_init(&seq);
        iob_error err = {0};
        if (iob_sched_direct_build(&L, &cfg, &seq, &err))
            fail_msg("%s: %s", spec, err.msg);
        int64_t nw = L.k * (L.c / L.groups) * L.r * L.s;
        int64_t dead = nw - distinct_reads(&seq, 0, (int32_t)nw);
        for (size_t si = 0; si < 4; si++)
            for (size_t pi = 0; pi < 4; pi++)
                for (int uneven = 0; uneven < 2; uneven++) {
                    iob_bound b;
                    iob_bound_opts o = opts_for(S[si]);
                    o.processors = parts[pi];
                    if (iob_bound_direct(&L, &o, &b, &err))
                        fail_msg("%s: %s", spec, err.msg);
                    char what[480];
                    snprintf(what, sizeof what, "%.300s order=%s S=%lld P=%d %s", spec, cfg.order,
                             (long long)S[si], parts[pi], uneven ? "random cuts" : "even cuts");
                    reuse_wins += tight_add_parts(&t, &r, &seq, S[si], parts[pi], uneven, &b,
                                                  (double)dead, what);
                }
        iob_opseq_free(&seq);
    }
    printf("[parallel] the P-processor reuse term beats the compulsory one in %d of %zu checks\n",
           reuse_wins, t.n);
    assert_true(reuse_wins > (int)t.n / 4); /* the check exercises the reuse terms */
    assert_int_equal(tight_report(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_direct_schedules_never_beat_the_bound),
        cmocka_unit_test(test_parallel_schedules_never_beat_the_gpu_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
