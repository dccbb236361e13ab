/* pebble.c - the segment bound of the red-blue pebble game (Hong and Kung 1981, in the form of
 * Smith et al. 2019 with the segment length t free), for three-operand computations.
 *
 * Theorem (docs/bounds.md, Theorem 1). Cut a schedule after every t-th load, counting a fresh
 * accumulator chain start as a load. A segment touches at most S + t distinct operand elements
 * (the first, which starts with an empty fast memory, at most t), so it performs at most
 * U(S + t) operations (the first U(t)); all segments but the last hold t loads. Hence
 *     Q >= t * ceil((ops - U(t)) / U(S + t))  for one processor, and
 *     Q >= t * (ops - P U(t)) / U(S + t)      summed over P processors,
 * because every fresh chain start of an accumulator that a processor must hand on is paid by a
 * store (Lemma 4). With t = S this is Hong and Kung's Q >= S * (P(2S) - 1).
 *
 * U(X) (iob_pebble_max_ops) is the exact maximum of
 *     max F  s.t.  F^2 <= rho*a*b*c,  F <= fan_x * x,  x <= cap_x (x in a, b, c),
 *                  a + b + c <= X,  F <= ops.
 * For a fixed F the constraints are a box lo_x = F/fan_x <= x <= cap_x plus a budget, and the
 * product a*b*c is largest at the water-filling point x = clamp(lambda, lo_x, cap_x); feasibility
 * is monotone in F, so F is found by bisection and the upper end of the bracket is returned
 * (an over-estimate of U can only make the bound smaller, never wrong).
 */
#include "model/pebble.h"

#include <math.h>

#define BIG HUGE_VAL

static double lo_of(const iob_pebble *pb, int v, double F)
{
    return pb->fan[v] > 0 ? F / pb->fan[v] : 0.0;
}

static double hi_of(const iob_pebble *pb, int v)
{
    return pb->cap[v] > 0 ? pb->cap[v] : BIG;
}

/* Sum of clamp(lambda, lo_v, hi_v). */
static double level_sum(const double lo[3], const double hi[3], double lambda)
{
    double s = 0;
    for (int v = 0; v < 3; v++)
        s += lambda < lo[v] ? lo[v] : (lambda > hi[v] ? hi[v] : lambda);
    return s;
}

/* Largest product a*b*c with lo <= x <= hi and a+b+c <= X (lo feasible: sum(lo) <= X). */
static double max_product(const double lo[3], const double hi[3], double X)
{
    double hisum = hi[0] + hi[1] + hi[2];
    double target = hisum < X ? hisum : X;
    /* g(lambda) = level_sum is piecewise linear and non-decreasing with breakpoints at the finite
     * lo and hi values; find the piece that reaches target and interpolate on it. */
    double bp[7];
    int nb = 0;
    bp[nb++] = 0;
    for (int v = 0; v < 3; v++) {
        bp[nb++] = lo[v];
        if (hi[v] < BIG)
            bp[nb++] = hi[v];
    }
    for (int i = 1; i < nb; i++) /* insertion sort of at most 7 values */
        for (int j = i; j > 0 && bp[j - 1] > bp[j]; j--) {
            double tmp = bp[j];
            bp[j] = bp[j - 1];
            bp[j - 1] = tmp;
        }
    double lambda = bp[nb - 1];
    double g_prev = level_sum(lo, hi, bp[0]);
    if (g_prev >= target) {
        lambda = bp[0];
    } else {
        int found = 0;
        for (int i = 1; i < nb; i++) {
            double g = level_sum(lo, hi, bp[i]);
            if (g >= target) {
                double span = g - g_prev;
                lambda = span > 0 ? bp[i - 1] + (bp[i] - bp[i - 1]) * (target - g_prev) / span
                                  : bp[i];
                found = 1;
                break;
            }
            g_prev = g;
        }
        if (!found) { /* past the last breakpoint: slope = variables still free above it */
            int free_vars = 0;
            for (int v = 0; v < 3; v++)
                if (hi[v] >= BIG)
                    free_vars++;
            lambda = free_vars ? bp[nb - 1] + (target - g_prev) / free_vars : bp[nb - 1];
        }
    }
    double prod = 1;
    for (int v = 0; v < 3; v++) {
        double x = lambda < lo[v] ? lo[v] : (lambda > hi[v] ? hi[v] : lambda);
        prod *= x;
    }
    return prod;
}

static int feasible(const iob_pebble *pb, double X, double F)
{
    double lo[3], hi[3], losum = 0;
    for (int v = 0; v < 3; v++) {
        lo[v] = lo_of(pb, v, F);
        hi[v] = hi_of(pb, v);
        if (lo[v] > hi[v])
            return 0;
        losum += lo[v];
    }
    if (losum > X)
        return 0;
    /* compare in a scaled form: rho*abc >= F^2 */
    return pb->rho * max_product(lo, hi, X) >= F * F;
}

double iob_pebble_max_ops(const iob_pebble *pb, double X)
{
    if (X <= 0 || pb->ops <= 0)
        return 0;
    /* Without fan and cap limits the optimum is a = b = c = X/3 (AM-GM). */
    double third = X / 3;
    double f0 = sqrt(pb->rho) * third * sqrt(third);
    double upper = f0 < pb->ops ? f0 : pb->ops;
    int interior = f0 <= pb->ops;
    for (int v = 0; v < 3 && interior; v++) {
        if (pb->cap[v] > 0 && third > pb->cap[v])
            interior = 0;
        if (pb->fan[v] > 0 && f0 > pb->fan[v] * third)
            interior = 0;
    }
    if (interior)
        return f0;
    if (feasible(pb, X, upper))
        return upper;
    double lo = 0, hi = upper;
    for (int it = 0; it < 200 && hi - lo > 1e-13 * hi; it++) {
        double mid = 0.5 * (lo + hi);
        if (feasible(pb, X, mid))
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

typedef struct eval {
    double one, gpu;
} eval;

static eval evaluate(const iob_pebble *pb, double S, int P, double t)
{
    /* Segment 1 starts with an empty fast memory, so it touches at most t elements; the
     * others at most S + t. With h segments (h-1 of them full): ops <= U(t) + (h-1) U(S+t). */
    eval e = {0, 0};
    double U = iob_pebble_max_ops(pb, S + t), U1 = iob_pebble_max_ops(pb, t);
    if (U <= 0)
        return e;
    double rest = pb->ops - U1;
    if (rest > 0) {
        /* ceil() of a ratio of two doubles: subtract a relative epsilon first so that rounding
         * in U can never add a segment that the exact ratio would not have. */
        e.one = t * ceil(rest / U * (1 - 1e-12)) - pb->unpaid;
    }
    e.gpu = t * (pb->ops - P * U1) / U - pb->unpaid;
    if (e.one < 0)
        e.one = 0;
    if (e.gpu < 0)
        e.gpu = 0;
    return e;
}

iob_pebble_result iob_pebble_bound(const iob_pebble *pb, double S, int P)
{
    iob_pebble_result r = {0, 0, 0, 0};
    if (pb->ops <= 0 || S <= 0)
        return r;
    if (P < 1)
        P = 1;
    r.leading = 2 * pb->ops / sqrt(pb->rho * S);
    /* Scan t over [S/256, 256 S] on a log grid (the optimum of the unconstrained problem is
     * t = 2S), then refine the best point by golden section on each side. */
    const int N = 33;
    double t_lo = S / 256 < 1 ? 1 : S / 256, t_hi = 256 * S;
    double ratio = pow(t_hi / t_lo, 1.0 / (N - 1));
    double best_one_t = t_lo, best_gpu_t = t_lo;
    double t = t_lo;
    for (int i = 0; i < N; i++, t *= ratio) {
        eval e = evaluate(pb, S, P, t);
        if (e.one > r.one) {
            r.one = e.one;
            best_one_t = t;
        }
        if (e.gpu > r.gpu) {
            r.gpu = e.gpu;
            best_gpu_t = t;
        }
    }
    /* golden-section refinement of the smooth (gpu) objective, evaluating both at each point */
    for (int which = 0; which < 2; which++) {
        double c0 = which ? best_gpu_t : best_one_t;
        double a = c0 / ratio, b = c0 * ratio;
        if (a < 1)
            a = 1;
        const double g = 0.6180339887498949;
        double x1 = b - g * (b - a), x2 = a + g * (b - a);
        eval e1 = evaluate(pb, S, P, x1), e2 = evaluate(pb, S, P, x2);
        for (int it = 0; it < 40; it++) {
            double f1 = which ? e1.gpu : e1.one, f2 = which ? e2.gpu : e2.one;
            if (f1 > f2) {
                b = x2;
                x2 = x1;
                e2 = e1;
                x1 = b - g * (b - a);
                e1 = evaluate(pb, S, P, x1);
            } else {
                a = x1;
                x1 = x2;
                e1 = e2;
                x2 = a + g * (b - a);
                e2 = evaluate(pb, S, P, x2);
            }
            const eval *es[2] = {&e1, &e2};
            const double xs[2] = {x1, x2};
            for (int k = 0; k < 2; k++) {
                if (es[k]->one > r.one) {
                    r.one = es[k]->one;
                    best_one_t = xs[k];
                }
                if (es[k]->gpu > r.gpu)
                    r.gpu = es[k]->gpu;
            }
        }
    }
    r.t_one = best_one_t;
    return r;
}
