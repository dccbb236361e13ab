/* test_bound_sched_im2col.c - no schedule of im2col + GEMM beats iob_bound_im2col(): random small
 * layers (strides, dilations, padding, groups), a gather in a random loop order writing the
 * unfolded buffer (padding zeros included) and a GEMM over it in a random loop order and tiling,
 * each phase replayed on its own with Belady's OPT in S words (the phases share no fast memory);
 * the sum must be >= the bound, and each phase >= its own term. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include "sched_check.h"

#define LAYERS 200
#define SCHEDULES 2

static const int64_t sizes[] = {4, 16, 64, 200};
static const char *const gemm_orders[6] = {"mnk", "mkn", "nmk", "nkm", "kmn", "knm"};

static void test_im2col_schedules_never_beat_the_bound(void **state)
{
    (void)state;
    rng r = {0xd1b54a32d192ed03ULL};
    layer_gen g = {.max_hw = 8, .max_rs = 3, .max_stride = 3, .max_dil = 2, .max_pad = 2,
                   .min_macs = 40, .max_macs = 1500};
    tightness total = {.algo = "im2col+GEMM"}, gat = {.algo = "im2col gather"},
              gem = {.algo = "im2col GEMM phase"};
    for (int li = 0; li < LAYERS; li++) {
        iob_layer L = random_layer(&r, &g);
        char spec[256];
        describe_layer(&L, spec, sizeof spec);
        for (int sc = 0; sc < SCHEDULES; sc++) {
            iob_sched_im2col cfg;
            memset(&cfg, 0, sizeof cfg);
            rng_perm(&r, "ncpqrs", cfg.gather_order);
            snprintf(cfg.gemm.order, sizeof cfg.gemm.order, "%s", gemm_orders[(li + sc) % 6]);
            rng_perm(&r, "mnk", cfg.gemm.tile_order);
            uint64_t m, n, k, batch;
            iob_layer_gemm_shape(&L, &m, &n, &k, &batch);
            cfg.gemm.tile_m = rng_int(&r, 0, (int64_t)m);
            cfg.gemm.tile_n = rng_int(&r, 0, (int64_t)n);
            cfg.gemm.tile_k = rng_int(&r, 0, (int64_t)k);
            iob_opseq ph[2];
            iob_error err = {0};
            for (int p = 0; p < 2; p++) {
                iob_opseq_init(&ph[p]);
                if (iob_sched_im2col_build(&L, &cfg, p, &ph[p], &err))
                    fail_msg("%s: %s", spec, err.msg);
            }
            assert_int_equal(ph[1].macs, (size_t)(m * n * k * batch));
            for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                int64_t S = sizes[z];
                iob_bound_opts o = opts_for(S);
                iob_bound b, bg;
                if (iob_bound_im2col(&L, &o, &b, &err) ||
                    iob_bound_gemm(m, n, k, batch, &o, &bg, &err))
                    fail_msg("%s: %s", spec, err.msg);
                assert_string_equal(b.terms[0].name, "gather");
                double q0 = (double)replay_opt(&ph[0], S), q1 = (double)replay_opt(&ph[1], S);
                char what[480];
                snprintf(what, sizeof what, "%.300s gather=%s gemm=%s tiles=%s %lld,%lld,%lld S=%lld",
                         spec, cfg.gather_order, cfg.gemm.order, cfg.gemm.tile_order,
                         (long long)cfg.gemm.tile_m, (long long)cfg.gemm.tile_n,
                         (long long)cfg.gemm.tile_k, (long long)S);
                tight_add(&total, q0 + q1, &b, what);
                iob_bound bt = b; /* the gather's own term: its compulsory traffic */
                bt.bound = bt.compulsory = b.terms[0].bound;
                bt.reuse = 0;
                tight_add(&gat, q0, &bt, what);
                tight_add(&gem, q1, &bg, what);
            }
            for (int p = 0; p < 2; p++)
                iob_opseq_free(&ph[p]);
        }
    }
    size_t v = tight_report(&total) + tight_report(&gat) + tight_report(&gem);
    assert_int_equal(v, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_im2col_schedules_never_beat_the_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
