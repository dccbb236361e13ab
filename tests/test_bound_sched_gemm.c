/* test_bound_sched_gemm.c - no schedule of C (m x n) += A (m x k) B (k x n) beats
 * iob_bound_gemm(): random odd and even sizes, all six loop orders, random tilings, replayed with
 * Belady's OPT in S words; loads + stores >= the one-processor bound. Also checks a schedule
 * the bound should describe well (square output tiles that fit) to show how tight it is, and
 * schedules cut over P processors against the P-processor bound. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sched_check.h"

#define SHAPES 220
#define SCHEDULES 4

static const char *const orders[6] = {"mnk", "mkn", "nmk", "nkm", "kmn", "knm"};
static const int64_t sizes[] = {3, 8, 16, 40, 100, 300};

/* A schedule with a loop order of the six and random tile sizes (0: untiled). */
static iob_sched_gemm random_gemm_schedule(rng *r, int64_t m, int64_t n, int64_t k, int order)
{
    iob_sched_gemm cfg;
    memset(&cfg, 0, sizeof cfg);
    snprintf(cfg.order, sizeof cfg.order, "%s", orders[order % 6]);
    rng_perm(r, "mnk", cfg.tile_order);
    cfg.tile_m = rng_int(r, 0, m);
    cfg.tile_n = rng_int(r, 0, n);
    cfg.tile_k = rng_int(r, 0, k);
    return cfg;
}

static void test_gemm_schedules_never_beat_the_bound(void **state)
{
    (void)state;
    rng r = {0x2545f4914f6cdd1dULL};
    tightness t = {.algo = "GEMM"};
    for (int si = 0; si < SHAPES; si++) {
        int64_t m, n, k;
        do {
            m = rng_int(&r, 1, 24);
            n = rng_int(&r, 1, 24);
            k = rng_int(&r, 1, 24);
        } while (m * n * k > 4000 || m * n * k < 30);
        for (int sc = 0; sc < SCHEDULES; sc++) {
            iob_sched_gemm cfg = random_gemm_schedule(&r, m, n, k, si + sc);
            iob_opseq seq;
            iob_opseq_init(&seq);
            iob_error err = {0};
            if (iob_sched_gemm_build(m, n, k, &cfg, &seq, &err))
                fail_msg("%s", err.msg);
            assert_int_equal(seq.macs, (size_t)(m * n * k));
            for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                iob_bound b;
                iob_bound_opts o = opts_for(sizes[z]);
                if (iob_bound_gemm((uint64_t)m, (uint64_t)n, (uint64_t)k, 1, &o, &b, &err))
                    fail_msg("%s", err.msg);
                char what[200];
                snprintf(what, sizeof what, "m=%lld n=%lld k=%lld order=%s tiles=%s %lld,%lld,%lld "
                         "S=%lld", (long long)m, (long long)n, (long long)k, cfg.order,
                         cfg.tile_order, (long long)cfg.tile_m, (long long)cfg.tile_n,
                         (long long)cfg.tile_k, (long long)sizes[z]);
                tight_add(&t, (double)replay_opt(&seq, sizes[z]), &b, what);
            }
            iob_opseq_free(&seq);
        }
    }
    /* The schedule the leading term 2mnk/sqrt(S) describes: a b x b block of C resident,
     * k outermost inside the block (an outer product per step), b*b + 2b <= S. */
    static const int64_t good[][4] = {{24, 24, 24, 16}, {30, 30, 12, 40}, {32, 32, 8, 102},
                                      {33, 27, 9, 35}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        int64_t m = good[i][0], n = good[i][1], k = good[i][2], S = good[i][3];
        int64_t bs = (int64_t)floor(sqrt((double)S + 1) - 1); /* b^2 + 2b <= S */
        iob_sched_gemm cfg = {"kmn", "mn", bs, bs, 0};
        iob_opseq seq;
        iob_opseq_init(&seq);
        iob_error err = {0};
        if (iob_sched_gemm_build(m, n, k, &cfg, &seq, &err))
            fail_msg("%s", err.msg);
        iob_bound b;
        iob_bound_opts o = opts_for(S);
        if (iob_bound_gemm((uint64_t)m, (uint64_t)n, (uint64_t)k, 1, &o, &b, &err))
            fail_msg("%s", err.msg);
        char what[200];
        snprintf(what, sizeof what, "m=%lld n=%lld k=%lld blocked %lldx%lld S=%lld", (long long)m,
                 (long long)n, (long long)k, (long long)bs, (long long)bs, (long long)S);
        tight_add(&t, (double)replay_opt(&seq, S), &b, what);
        iob_opseq_free(&seq);
    }
    assert_true(t.n >= 200 * SCHEDULES);
    size_t v = tight_report(&t);
    assert_int_equal(v, 0);
}

/* P processors: a schedule cut into P pieces, each replayed from an empty fast memory, never
 * moves less in total than bound_gpu for P (docs/bounds.md, Theorems 1 and 1b). */
static void test_parallel_gemm_schedules_never_beat_the_gpu_bound(void **state)
{
    (void)state;
    rng r = {0x94d049bb133111ebULL};
    static const int64_t S[] = {3, 8, 16, 40};
    static const int parts[] = {2, 4, 16, 64};
    tightness t = {.algo = "GEMM, P procs"};
    int reuse_wins = 0;
    for (int si = 0; si < 60; si++) {
        int64_t m, n, k;
        do {
            m = rng_int(&r, 1, 24);
            n = rng_int(&r, 1, 24);
            k = rng_int(&r, 1, 24);
        } while (m * n * k > 4000 || m * n * k < 200);
        iob_sched_gemm cfg;
        if (si % 3 == 2) { /* output blocks resident, k innermost per block: the parallel classic */
            int64_t bs = (int64_t)floor(sqrt((double)S[si % 4] + 1) - 1);
            cfg = (iob_sched_gemm){"kmn", "mn", bs > 0 ? bs : 1, bs > 0 ? bs : 1, 0};
        } else {
            cfg = random_gemm_schedule(&r, m, n, k, si);
        }
        iob_opseq seq;
        iob_opseq_init(&seq);
        iob_error err = {0};
        if (iob_sched_gemm_build(m, n, k, &cfg, &seq, &err))
            fail_msg("%s", err.msg);
        for (size_t z = 0; z < 4; z++)
            for (size_t pi = 0; pi < 4; pi++)
                for (int uneven = 0; uneven < 2; uneven++) {
                    iob_bound b;
                    iob_bound_opts o = opts_for(S[z]);
                    o.processors = parts[pi];
                    if (iob_bound_gemm((uint64_t)m, (uint64_t)n, (uint64_t)k, 1, &o, &b, &err))
                        fail_msg("%s", err.msg);
                    char what[200];
                    snprintf(what, sizeof what, "m=%lld n=%lld k=%lld order=%s S=%lld P=%d %s",
                             (long long)m, (long long)n, (long long)k, cfg.order, (long long)S[z],
                             parts[pi], uneven ? "random cuts" : "even cuts");
                    reuse_wins += tight_add_parts(&t, &r, &seq, S[z], parts[pi], uneven, &b, 0,
                                                  what);
                }
        iob_opseq_free(&seq);
    }
    printf("[parallel] the P-processor reuse term beats the compulsory one in %d of %zu checks\n",
           reuse_wins, t.n);
    assert_true(reuse_wins > (int)t.n / 4);
    assert_int_equal(tight_report(&t), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_gemm_schedules_never_beat_the_bound),
        cmocka_unit_test(test_parallel_gemm_schedules_never_beat_the_gpu_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
