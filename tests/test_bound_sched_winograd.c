/* test_bound_sched_winograd.c - no schedule of Winograd F(m x m, r x r) beats
 * iob_bound_winograd(), fused or stored, on random small layers (3x3 and 5x5, padding, groups,
 * odd and even sides, partial edge tiles):
 *   - fused: per tile block the input transform into V, the EWMM accumulating M over channels
 *     and the output transform into Y, in two loop structures with random block sizes; one
 *     sequence replayed with Belady's OPT in S words;
 *   - stored: the four phases (filter, input transform, EWMM, output transform) each replayed on
 *     its own; the sum must be >= the bound, and each phase >= its own term.
 * The schedules perform exactly the EWMM products model/winograd.c counts (asserted).
 *
 * Known issue 2 (tests/test_bound_regressions.c): the stored bound charges the output transform
 * every M, but the M entries that only feed cropped outputs of edge tiles are never read. The
 * check leaves those (counted from the phase's operations) out of the output term and the sum. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sched_check.h"

#define LAYERS 200

static const int64_t sizes[] = {4, 12, 40, 150};
static const char *const gemm_orders[6] = {"mnk", "mkn", "nmk", "nkm", "kmn", "knm"};
static const char *const phase_names[4] = {"filter transform", "input transform", "EWMM",
                                           "output transform"};

static void test_winograd_schedules_never_beat_the_bound(void **state)
{
    (void)state;
    rng r = {0x853c49e6748fea9bULL};
    layer_gen g = {.max_hw = 10, .max_pad = 2, .winograd = 1, .min_macs = 40, .max_macs = 3000};
    tightness fused = {.algo = "Winograd fused"}, stored = {.algo = "Winograd stored"};
    int dead_layers = 0;
    tightness phase[4] = {{.algo = "stored: filter"}, {.algo = "stored: input"},
                          {.algo = "stored: EWMM"}, {.algo = "stored: output"}};
    for (int li = 0; li < LAYERS; li++) {
        iob_layer L = random_layer(&r, &g);
        int m = L.r == 5 ? 2 * (int)rng_int(&r, 1, 2) : 2 * (int)rng_int(&r, 1, 3);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        int64_t th = (L.p + m - 1) / m, tw = (L.q + m - 1) / m, alpha = m + L.r - 1;
        iob_error err = {0};
        /* fused: both loop structures, random tile and k blocks */
        for (int ko = 0; ko < 2; ko++) {
            iob_sched_winograd cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.m = m;
            cfg.k_outer = ko;
            cfg.tile_block = rng_int(&r, 1, L.n * th * tw);
            cfg.k_block = rng_int(&r, 1, L.k);
            iob_opseq seq;
            iob_opseq_init(&seq);
            if (iob_sched_winograd_fused(&L, &cfg, &seq, &err))
                fail_msg("%s: %s", spec, err.msg);
            for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                iob_bound b;
                iob_bound_opts o = opts_for(sizes[z]);
                if (iob_bound_winograd(&L, m, 1, &o, &b, &err))
                    fail_msg("%s: %s", spec, err.msg);
                assert_true(b.applicable);
                assert_true((double)seq.macs == b.ops); /* the products the bound counts */
                char what[480];
                snprintf(what, sizeof what, "%.300s F(%d,%lld) fused k_outer=%d tile_block=%lld "
                         "k_block=%lld S=%lld", spec, m, (long long)L.r, ko,
                         (long long)cfg.tile_block, (long long)cfg.k_block, (long long)sizes[z]);
                tight_add(&fused, (double)replay_opt(&seq, sizes[z]), &b, what);
            }
            iob_opseq_free(&seq);
        }
        /* stored: one random EWMM schedule */
        iob_sched_winograd cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.m = m;
        snprintf(cfg.gemm.order, sizeof cfg.gemm.order, "%s", gemm_orders[li % 6]);
        rng_perm(&r, "mnk", cfg.gemm.tile_order);
        uint64_t gm = (uint64_t)(L.k / L.groups), gn = (uint64_t)(L.n * th * tw),
                 gk = (uint64_t)(L.c / L.groups), gb = (uint64_t)(alpha * alpha * L.groups);
        cfg.gemm.tile_m = rng_int(&r, 0, (int64_t)gm);
        cfg.gemm.tile_n = rng_int(&r, 0, (int64_t)gn);
        cfg.gemm.tile_k = rng_int(&r, 0, (int64_t)gk);
        iob_opseq ph[4];
        for (int p = 0; p < 4; p++) {
            iob_opseq_init(&ph[p]);
            if (iob_sched_winograd_stored(&L, &cfg, p, &ph[p], &err))
                fail_msg("%s: phase %d: %s", spec, p, err.msg);
        }
        assert_int_equal(ph[2].macs, (size_t)(gm * gn * gk * gb)); /* every EWMM product */
        /* M entries the output transform never reads (phase 3 reserves M first) */
        int64_t nm = L.n * L.k * th * tw * alpha * alpha;
        double dead = (double)(nm - distinct_reads(&ph[3], 0, (int32_t)nm));
        dead_layers += dead > 0;
        for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
            iob_bound b, bg;
            iob_bound_opts o = opts_for(sizes[z]);
            if (iob_bound_winograd(&L, m, 0, &o, &b, &err) ||
                iob_bound_gemm(gm, gn, gk, gb, &o, &bg, &err))
                fail_msg("%s: %s", spec, err.msg);
            double q[4], sum = 0;
            for (int p = 0; p < 4; p++)
                sum += q[p] = (double)replay_opt(&ph[p], sizes[z]);
            char what[480];
            snprintf(what, sizeof what, "%.300s F(%d,%lld) stored gemm=%s tiles=%s %lld,%lld,%lld "
                     "S=%lld", spec, m, (long long)L.r, cfg.gemm.order, cfg.gemm.tile_order,
                     (long long)cfg.gemm.tile_m, (long long)cfg.gemm.tile_n,
                     (long long)cfg.gemm.tile_k, (long long)sizes[z]);
            iob_bound bd = without_dead(&b, dead, 1);
            tight_add(&stored, sum, &bd, what);
            for (int p = 0; p < 4; p++) {
                assert_string_equal(b.terms[p].name, phase_names[p]);
                iob_bound bt = b; /* the phase's own term */
                if (p == 2) {
                    bt = bg; /* the EWMM's one-processor GEMM bound */
                } else {
                    bt.bound = bt.compulsory = b.terms[p].bound - (p == 3 ? dead : 0);
                    bt.reuse = 0;
                }
                tight_add(&phase[p], q[p], &bt, what);
            }
        }
        for (int p = 0; p < 4; p++)
            iob_opseq_free(&ph[p]);
    }
    /* fused, layers with more channels and a small S, where the reuse term wins */
    layer_gen heavy = {.max_hw = 9, .max_pad = 1, .winograd = 1, .min_macs = 3000,
                       .max_macs = 12000, .max_cg = 10, .max_kg = 10, .no_groups = 1};
    static const int64_t small[] = {4, 8, 16};
    tightness fh = {.algo = "fused (reuse-heavy)"}, sh = {.algo = "stored (reuse-heavy)"};
    for (int li = 0; li < 30; li++) {
        iob_layer L = random_layer(&r, &heavy);
        if (L.r != 3)
            continue;
        int m = 2 * (int)rng_int(&r, 1, 2);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        int64_t tiles = L.n * ((L.p + m - 1) / m) * ((L.q + m - 1) / m);
        for (int ko = 0; ko < 2; ko++) {
            iob_sched_winograd cfg;
            memset(&cfg, 0, sizeof cfg);
            cfg.m = m;
            cfg.k_outer = ko;
            cfg.tile_block = rng_int(&r, 1, tiles < 4 ? tiles : 4);
            cfg.k_block = rng_int(&r, 1, 3);
            iob_opseq seq;
            iob_opseq_init(&seq);
            iob_error err = {0};
            if (iob_sched_winograd_fused(&L, &cfg, &seq, &err))
                fail_msg("%s: %s", spec, err.msg);
            for (size_t z = 0; z < 3; z++) {
                iob_bound b;
                iob_bound_opts o = opts_for(small[z]);
                if (iob_bound_winograd(&L, m, 1, &o, &b, &err))
                    fail_msg("%s: %s", spec, err.msg);
                assert_true((double)seq.macs == b.ops);
                char what[480];
                snprintf(what, sizeof what, "%.300s F(%d,3) fused k_outer=%d tile_block=%lld "
                         "k_block=%lld S=%lld", spec, m, ko, (long long)cfg.tile_block,
                         (long long)cfg.k_block, (long long)small[z]);
                tight_add(&fh, (double)replay_opt(&seq, small[z]), &b, what);
            }
            iob_opseq_free(&seq);
        }
        /* stored, with the EWMM in a random order and tiling */
        iob_sched_winograd cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.m = m;
        rng_perm(&r, "mnk", cfg.gemm.order);
        rng_perm(&r, "mnk", cfg.gemm.tile_order);
        cfg.gemm.tile_m = rng_int(&r, 1, 4);
        cfg.gemm.tile_n = rng_int(&r, 1, 4);
        cfg.gemm.tile_k = rng_int(&r, 0, 4);
        iob_opseq ph[4];
        iob_error err = {0};
        for (int p = 0; p < 4; p++) {
            iob_opseq_init(&ph[p]);
            if (iob_sched_winograd_stored(&L, &cfg, p, &ph[p], &err))
                fail_msg("%s: %s", spec, err.msg);
        }
        int64_t nm = L.n * L.k * tiles * (m + 2) * (m + 2);
        double dead = (double)(nm - distinct_reads(&ph[3], 0, (int32_t)nm));
        for (size_t z = 0; z < 3; z++) {
            iob_bound b;
            iob_bound_opts o = opts_for(small[z]);
            if (iob_bound_winograd(&L, m, 0, &o, &b, &err))
                fail_msg("%s: %s", spec, err.msg);
            double sum = 0;
            for (int p = 0; p < 4; p++)
                sum += (double)replay_opt(&ph[p], small[z]);
            char what[480];
            snprintf(what, sizeof what, "%.300s F(%d,3) stored gemm=%s tiles=%s %lld,%lld,%lld "
                     "S=%lld", spec, m, cfg.gemm.order, cfg.gemm.tile_order,
                     (long long)cfg.gemm.tile_m, (long long)cfg.gemm.tile_n,
                     (long long)cfg.gemm.tile_k, (long long)small[z]);
            iob_bound bd = without_dead(&b, dead, 1);
            tight_add(&sh, sum, &bd, what);
        }
        for (int p = 0; p < 4; p++)
            iob_opseq_free(&ph[p]);
    }
    printf("[known issue 2] %d of %d layers have M entries only cropped outputs use: left out "
           "of the stored bound's output term\n", dead_layers, LAYERS);
    size_t v = tight_report(&fused) + tight_report(&fh) + tight_report(&stored) +
               tight_report(&sh);
    for (int p = 0; p < 4; p++)
        v += tight_report(&phase[p]);
    assert_int_equal(v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_winograd_schedules_never_beat_the_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
