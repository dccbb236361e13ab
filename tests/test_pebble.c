/* test_pebble.c - the segment-bound engine: U(X) against brute force, and the theorem's value on
 * problems whose answer is known in closed form. */
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#include <cmocka.h>

#include "model/pebble.h"

static double urand(double lo, double hi) { return lo + (hi - lo) * (rand() / (double)RAND_MAX); }

/* The best F over a grid of (a, b) with c taking the rest of the budget (every constraint is
 * non-decreasing in each variable below its cap, so the optimum spends the budget or hits caps). */
static double brute_max(const iob_pebble *pb, double X, int n)
{
    double best = 0;
    double amax = pb->cap[0] > 0 && pb->cap[0] < X ? pb->cap[0] : X;
    for (int i = 0; i <= n; i++) {
        double a = amax * i / n;
        double bmax = X - a;
        if (pb->cap[1] > 0 && pb->cap[1] < bmax)
            bmax = pb->cap[1];
        for (int j = 0; j <= n; j++) {
            double b = bmax * j / n;
            double c = X - a - b;
            if (pb->cap[2] > 0 && pb->cap[2] < c)
                c = pb->cap[2];
            if (c < 0)
                c = 0;
            double f = sqrt(pb->rho * a * b * c);
            double xs[3] = {a, b, c};
            for (int v = 0; v < 3; v++)
                if (pb->fan[v] > 0 && pb->fan[v] * xs[v] < f)
                    f = pb->fan[v] * xs[v];
            if (f > pb->ops)
                f = pb->ops;
            if (f > best)
                best = f;
        }
    }
    return best;
}

static void test_max_ops_is_an_upper_bound_and_tight(void **state)
{
    (void)state;
    srand(7);
    int binding = 0;
    for (int it = 0; it < 400; it++) {
        iob_pebble pb = {0};
        pb.rho = floor(urand(1, 50));
        pb.ops = it % 7 == 0 ? urand(10, 1e4) : 1e30;
        for (int v = 0; v < 3; v++) {
            pb.cap[v] = rand() % 3 ? urand(1, 2000) : 0;
            pb.fan[v] = rand() % 3 ? urand(1, 300) : 0;
        }
        double X = urand(3, 3000);
        double U = iob_pebble_max_ops(&pb, X);
        double B = brute_max(&pb, X, 400);
        /* validity: no feasible point exceeds U */
        if (B > U * (1 + 1e-9))
            fail_msg("U=%.17g below a feasible point %.17g (X=%g rho=%g)", U, B, X, pb.rho);
        /* tightness: the grid gets within its resolution of U */
        if (U > B * 1.03 + 1e-9)
            fail_msg("U=%.17g far above the grid's best %.17g (X=%g rho=%g caps %g %g %g fans "
                     "%g %g %g ops %g)", U, B, X, pb.rho, pb.cap[0], pb.cap[1], pb.cap[2],
                     pb.fan[0], pb.fan[1], pb.fan[2], pb.ops);
        double free_opt = sqrt(pb.rho) * pow(X / 3, 1.5);
        binding += U < free_opt * (1 - 1e-6);
    }
    assert_true(binding > 100); /* the constrained paths were exercised, not only a = b = c */
}

static void test_max_ops_unconstrained(void **state)
{
    (void)state;
    iob_pebble pb = {.ops = 1e30, .rho = 9};
    /* AM-GM: a = b = c = X/3 */
    assert_float_equal(iob_pebble_max_ops(&pb, 300), 3 * pow(100, 1.5), 1e-6);
    /* a cap on C: c = 50, a = b = 125: sqrt(9 * 125 * 125 * 50) */
    pb.cap[2] = 50;
    assert_float_equal(iob_pebble_max_ops(&pb, 300), sqrt(9.0 * 125 * 125 * 50), 1e-3);
    /* a fan on C of 10: F <= 10 c; the optimum balances sqrt(9 a b c) = 10 c with a = b:
     * 3 a sqrt(c) = 10 c -> a = 10 sqrt(c) / 3, 2a + c = 300 */
    iob_pebble pf = {.ops = 1e30, .rho = 9, .fan = {0, 0, 10}};
    double c = 0, lo = 0, hi = 300;
    for (int i = 0; i < 200; i++) {
        c = 0.5 * (lo + hi);
        if (2 * 10 * sqrt(c) / 3 + c > 300)
            hi = c;
        else
            lo = c;
    }
    assert_float_equal(iob_pebble_max_ops(&pf, 300), 10 * c, 1e-6 * 10 * c);
}

static void test_bound_gemm_anchor(void **state)
{
    (void)state;
    /* C = A B with m = n = k = 2048, S = 4096 words: the leading term 2mnk/sqrt(S). The
     * one-processor bound t * ceil((F - U(t)) / U(S+t)) is at most 2F/sqrt(S) plus one segment
     * of t ~ 2S loads (the ceil), and at t = 2S at least 2F/sqrt(S) - 2S (Smith et al.'s form). */
    double m = 2048, S = 4096, ops = m * m * m;
    iob_pebble pb = {.ops = ops, .rho = 1, .cap = {m * m, m * m, m * m}, .fan = {m, m, m}};
    iob_pebble_result r = iob_pebble_bound(&pb, S, 1);
    double lead = 2 * ops / sqrt(S);
    assert_float_equal(r.leading, lead, 1e-6 * lead);
    assert_true(r.one <= lead + 3 * S);
    assert_true(r.one >= lead - 2 * S);
    /* P processors: never above one processor, and off by about P * t */
    iob_pebble_result rp = iob_pebble_bound(&pb, S, 100);
    assert_true(rp.gpu <= r.one + 1e-6 * lead);
    assert_true(rp.gpu >= lead - 100 * 3 * S);
}

static void test_bound_small_problem_is_zero_or_small(void **state)
{
    (void)state;
    /* Everything fits: 8 operations, S = 100. The bound may not exceed the loads that
     * one segment with an empty fast memory needs, which is tiny. */
    iob_pebble pb = {.ops = 8, .rho = 1, .cap = {4, 4, 4}, .fan = {2, 2, 2}};
    iob_pebble_result r = iob_pebble_bound(&pb, 100, 1);
    assert_true(r.one <= 12); /* the compulsory traffic of this GEMM is 12 */
}

/* s(x) by brute force: the least a + b + c on a log grid of (a, b), c the least that meets the
 * product and its fan floor. A grid minimum is never below the true minimum. */
static double brute_footprint(const iob_pebble *pb, double x)
{
    double lo[3], need = x * x / pb->rho, best = HUGE_VAL;
    for (int v = 0; v < 3; v++)
        lo[v] = pb->fan[v] > 0 ? x / pb->fan[v] : 0;
    double level = cbrt(need);
    for (int i = 0; i <= 300; i++) {
        double a = fmax(lo[0], level * pow(10, -2 + 4.0 * i / 300));
        for (int j = 0; j <= 300; j++) {
            double b = fmax(lo[1], level * pow(10, -2 + 4.0 * j / 300));
            double c = fmax(lo[2], need / (a * b));
            if (a + b + c < best)
                best = a + b + c;
        }
    }
    return best;
}

/* Theorem 1b: iob_pebble_cold_bound = ops * inf_x psi(x) / x. Against a scan of x with the
 * footprint by brute force: the engine is never above the scan's minimum (it brackets the infimum
 * from below) and within 1% of it (the grids' resolution). */
static void test_cold_bound_against_a_scan(void **state)
{
    (void)state;
    srand(7);
    for (int trial = 0; trial < 12; trial++) {
        double S = trial < 4 ? 64 : urand(16, 5000);
        iob_pebble pb = {.ops = floor(urand(1e4, 1e9)), .rho = trial % 3 ? floor(urand(1, 10)) : 1};
        for (int v = 0; v < 3; v++)
            pb.fan[v] = trial < 4 ? 0 : floor(urand(2, 3000)); /* first four: no fans, s = 3 (x^2/rho)^(1/3) */
        double engine = iob_pebble_cold_bound(&pb, S);
        double ts[17], a[17], u1[17];
        for (int j = 0; j < 17; j++) {
            ts[j] = fmax(1, floor(S * pow(2, 0.5 * (j - 8)) + 0.5));
            a[j] = ts[j] / iob_pebble_max_ops(&pb, S + ts[j]);
            u1[j] = iob_pebble_max_ops(&pb, ts[j]);
        }
        double scan = HUGE_VAL;
        for (int i = 0; i <= 1500; i++) {
            double x = pow(pb.ops, i / 1500.0), g = 0;
            for (int j = 0; j < 17; j++)
                g = fmax(g, a[j] * (1 - u1[j] / x));
            double f = brute_footprint(&pb, x) / x;
            if (trial < 4)
                assert_float_equal(f, 3 * pow(x * pb.rho, -1.0 / 3), 1e-3 * f);
            scan = fmin(scan, fmax(f, g) * pb.ops);
        }
        if (!(engine <= scan * (1 + 1e-9) && engine >= 0.99 * scan))
            fail_msg("trial %d: ops %.0f rho %.0f fans %.0f %.0f %.0f S %.0f: engine %.6g, scan %.6g",
                     trial, pb.ops, pb.rho, pb.fan[0], pb.fan[1], pb.fan[2], S, engine, scan);
    }
    /* One processor doing everything never needs more than its footprint: at P = 1 the cold term
     * is at most the one-processor bound or the footprint of all operations (< compulsory). */
    iob_pebble pb = {.ops = 1e6, .rho = 1, .cap = {1e4, 1e4, 1e4}, .fan = {100, 100, 100}};
    assert_true(iob_pebble_cold_bound(&pb, 1e9) <= 3e4 + 1e-6);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_max_ops_is_an_upper_bound_and_tight),
        cmocka_unit_test(test_max_ops_unconstrained),
        cmocka_unit_test(test_bound_gemm_anchor),
        cmocka_unit_test(test_bound_small_problem_is_zero_or_small),
        cmocka_unit_test(test_cold_bound_against_a_scan),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
