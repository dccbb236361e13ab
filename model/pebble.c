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
 * store (Lemma 4). With t = S this is Hong and Kung's Q >= S * (P(2S) - 1). The P-processor
 * value also takes Theorem 1b (iob_pebble_cold_bound): each processor starts cold and loads the
 * whole footprint of its share of the work.
 *
 * U(X) (iob_pebble_max_ops) is the exact maximum of
 *     max F  s.t.  F^2 <= rho*a*b*c,  F <= fan_x * x,  x <= cap_x (x in a, b, c),
 *                  a + b + c <= X,  F <= ops.
 * For a fixed F the constraints are a box lo_x = F/fan_x <= x <= cap_x plus a budget, and the
 * product a*b*c is largest at the water-filling point x = clamp(lambda, lo_x, cap_x); feasibility
 * is monotone in F, so F is found by a bracketed root search (Illinois) and the upper end of the
 * bracket is returned (an over-estimate of U can only make the bound smaller, never wrong).
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

/* g(F) = ln(rho * maxprod(F)) - 2 ln F: positive while F is feasible, decreasing in F (the box
 * lower bounds F/fan rise with F). Defined for 0 < F <= F_box (see below). */
static double excess(const iob_pebble *pb, double X, double F)
{
    double lo[3], hi[3];
    for (int v = 0; v < 3; v++) {
        lo[v] = lo_of(pb, v, F);
        hi[v] = hi_of(pb, v);
        if (lo[v] > hi[v]) /* rounding at F_box */
            lo[v] = hi[v];
    }
    double prod = max_product(lo, hi, X);
    if (prod <= 0)
        return -BIG;
    return log(pb->rho * prod) - 2 * log(F);
}

/* The optimum by active sets. At the root F* of g the water-filling point puts every variable
 * at its fan bound F/fan (set L), at its cap (set H) or at the common level lambda (set W), and
 * (F*, lambda) solves
 *     F s_L + |W| lambda = X - C_H,        F^(2-|L|) = K lambda^|W|,
 *     s_L = sum_L 1/fan,  C_H = sum_H cap,  K = rho prod_L 1/fan prod_H cap,
 * in closed form for every (|L|, |W|). Because g is strictly decreasing its root is unique, so a
 * solution consistent with its own active set IS F*. Returns 0 when no set is consistent
 * (rounding at a boundary between sets); the caller then falls back to root finding. */
static double active_set_root(const iob_pebble *pb, double X)
{
    const double tol = 1e-9;
    double best = 0;
    for (int code = 0; code < 27; code++) {
        int state[3], c = code; /* 0 = L (fan bound), 1 = H (cap), 2 = W (water level) */
        for (int v = 0; v < 3; v++, c /= 3)
            state[v] = c % 3;
        int l = 0, w = 0, ok = 1;
        double sL = 0, CH = 0, K = pb->rho;
        for (int v = 0; v < 3 && ok; v++) {
            if (state[v] == 0) {
                if (pb->fan[v] <= 0)
                    ok = 0;
                else {
                    l++;
                    sL += 1 / pb->fan[v];
                    K /= pb->fan[v];
                }
            } else if (state[v] == 1) {
                if (pb->cap[v] <= 0)
                    ok = 0;
                else {
                    CH += pb->cap[v];
                    K *= pb->cap[v];
                }
            } else {
                w++;
            }
        }
        if (!ok)
            continue;
        double A = X - CH, F, lambda;
        if (w == 0) {
            if (l != 0 || CH > X) /* only the all-caps point with a slack budget */
                continue;
            F = sqrt(K);
            lambda = HUGE_VAL;
        } else if (l == 0) {
            lambda = A / w;
            if (lambda <= 0)
                continue;
            F = sqrt(K * pow(lambda, w));
        } else if (l == 1 && w == 1) {
            F = K * A / (1 + K * sL);
            lambda = A - F * sL;
        } else if (l == 1 && w == 2) {
            lambda = A / (1 + sqrt(1 + K * sL * A)); /* root of K sL l^2 + 2 l - A = 0 */
            F = K * lambda * lambda;
        } else if (l == 2 && w == 1) {
            lambda = 1 / K;
            F = (A - lambda) / sL;
        } else {
            continue;
        }
        if (!(F > 0) || !(lambda >= 0) || !isfinite(F))
            continue;
        for (int v = 0; v < 3 && ok; v++) {
            double lo = lo_of(pb, v, F), hi = hi_of(pb, v);
            if (lo > hi * (1 + tol))
                ok = 0;
            else if (state[v] == 0)
                ok = lo >= lambda * (1 - tol);
            else if (state[v] == 1)
                ok = hi <= lambda * (1 + tol);
            else
                ok = lo <= lambda * (1 + tol) && lambda <= hi * (1 + tol);
        }
        if (ok && F > best)
            best = F;
    }
    return best;
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
    /* The box lo(F) <= x <= cap, sum(lo) <= X stays non-empty up to
     * F_box = min(min_x fan_x cap_x, X / sum_x 1/fan_x). */
    double inv_fan = 0;
    for (int v = 0; v < 3; v++) {
        if (pb->fan[v] > 0) {
            inv_fan += 1 / pb->fan[v];
            if (pb->cap[v] > 0 && pb->fan[v] * pb->cap[v] < upper)
                upper = pb->fan[v] * pb->cap[v];
        }
    }
    if (inv_fan > 0 && X / inv_fan < upper)
        upper = X / inv_fan;
    double gb = excess(pb, X, upper);
    if (gb >= 0)
        return upper;
    double root = active_set_root(pb, X);
    if (root > 0 && root < upper)
        return root * (1 + 1e-9); /* rounding margin: an over-estimate of U keeps the bound valid */
    /* A feasible start: the equal split clipped to the caps, with F the least of the four
     * limits there; then halve until feasible (rarely needed). The bracket [a, b] always has
     * g(a) >= 0 > g(b); Illinois (modified regula falsi) shrinks it and b is returned, an
     * over-estimate of U. */
    double x[3], a = sqrt(pb->rho);
    for (int v = 0; v < 3; v++) {
        x[v] = pb->cap[v] > 0 && pb->cap[v] < third ? pb->cap[v] : third;
        a *= sqrt(x[v]);
    }
    for (int v = 0; v < 3; v++)
        if (pb->fan[v] > 0 && pb->fan[v] * x[v] < a)
            a = pb->fan[v] * x[v];
    double b = upper;
    if (!(a > 0 && a < b))
        a = b / 2;
    double ga = excess(pb, X, a);
    while (ga < 0 && a > 1e-300) {
        b = a;
        gb = ga;
        a /= 2;
        ga = excess(pb, X, a);
    }
    if (ga < 0)
        return b;
    int side = 0;
    for (int it = 0; it < 100 && b - a > 1e-10 * b; it++) {
        double c = isfinite(gb) ? b - gb * (b - a) / (gb - ga) : 0.5 * (a + b);
        if (!(c > a && c < b))
            c = 0.5 * (a + b);
        double gc = excess(pb, X, c);
        if (gc >= 0) {
            a = c;
            ga = gc;
            if (side == 1)
                gb *= 0.5;
            side = 1;
        } else {
            b = c;
            gb = gc;
            if (side == -1)
                ga *= 0.5;
            side = -1;
        }
    }
    return b;
}

typedef struct eval {
    double one, gpu, one_smooth; /* one_smooth: t * (ops - U(t)) / U(S+t), ceil left out */
    double segs;                 /* (ops - U(t)) / U(S+t) */
} eval;

static eval evaluate(const iob_pebble *pb, double S, int P, double t)
{
    /* Segment 1 starts with an empty fast memory, so it touches at most t elements; the
     * others at most S + t. With h segments (h-1 of them full): ops <= U(t) + (h-1) U(S+t). */
    eval e = {0, 0, 0, 0};
    double U = iob_pebble_max_ops(pb, S + t), U1 = iob_pebble_max_ops(pb, t);
    if (U <= 0)
        return e;
    double rest = pb->ops - U1;
    if (rest > 0) {
        e.segs = rest / U;
        /* ceil() of a ratio of two doubles: subtract a relative epsilon first so that rounding
         * in U can never add a segment that the exact ratio would not have. */
        e.one = t * ceil(e.segs * (1 - 1e-12)) - pb->unpaid;
        e.one_smooth = t * e.segs - pb->unpaid;
    }
    e.gpu = t * (pb->ops - P * U1) / U - pb->unpaid;
    if (e.one < 0)
        e.one = 0;
    if (e.gpu < 0)
        e.gpu = 0;
    return e;
}

typedef struct search {
    const iob_pebble *pb;
    double S;
    int P;
    iob_pebble_result *r;
    int which; /* 0: the P-processor objective, 1: the one-processor objective */
} search;

/* Segments hold whole loads: every t is rounded to an integer >= 1 before it is evaluated. */
static double whole(double t) { return t < 1 ? 1 : floor(t + 0.5); }

static eval eval_keep(search *s, double t)
{
    t = whole(t);
    eval e = evaluate(s->pb, s->S, s->P, t);
    if (s->which == 1 && e.one > s->r->one) {
        s->r->one = e.one;
        s->r->t_one = t;
    }
    if (s->which == 0 && e.gpu > s->r->gpu)
        s->r->gpu = e.gpu;
    return e;
}

static double objective(const search *s, const eval *e)
{
    return s->which ? e->one_smooth : e->gpu;
}

#define SCAN_N 13

/* The log grid of t over [S/64, 64 S] (the unconstrained optimum is near t = 2S); fills the
 * grid's best point for each objective (0: P processors, 1: one processor, smooth). */
static double scan(const iob_pebble *pb, double S, int P, iob_pebble_result *r, double best_t[2])
{
    double t_lo = S / 64 < 1 ? 1 : S / 64, t_hi = 64 * S;
    double ratio = pow(t_hi / t_lo, 1.0 / (SCAN_N - 1));
    double best[2] = {-HUGE_VAL, -HUGE_VAL}, t = t_lo;
    for (int i = 0; i < SCAN_N; i++, t *= ratio) {
        double tw = whole(t);
        eval e = evaluate(pb, S, P, tw);
        /* the one-processor objective at P = 1 differs from e.gpu only in its P U(t) term */
        double f[2] = {e.gpu, e.one_smooth};
        for (int w = 0; w < 2; w++)
            if (f[w] > best[w]) {
                best[w] = f[w];
                best_t[w] = tw;
            }
        if (e.gpu > r->gpu)
            r->gpu = e.gpu;
        if (e.one > r->one) {
            r->one = e.one;
            r->t_one = tw;
        }
    }
    return ratio;
}

/* Golden-section refinement of one smooth objective around t0 (one grid step each side); every
 * point is offered to the running maximum. 18 steps narrow t to about 2e-4 of the bracket: near
 * its maximum the bound is flat in t (second order), and the discrete step below takes over for
 * the one-processor bound. Returns the best t seen. */
static double refine(search *s, double t0, double ratio)
{
    double a = fmax(1, t0 / ratio), b = t0 * ratio, best_t = t0, best = -HUGE_VAL;
    const double g = 0.6180339887498949;
    double x1 = b - g * (b - a), x2 = a + g * (b - a);
    eval e1 = eval_keep(s, x1), e2 = eval_keep(s, x2);
    for (int it = 0; it < 18 && b - a > 1; it++) {
        double f1 = objective(s, &e1), f2 = objective(s, &e2);
        if (fmax(f1, f2) > best) {
            best = fmax(f1, f2);
            best_t = whole(f1 >= f2 ? x1 : x2);
        }
        if (f1 > f2) {
            b = x2;
            x2 = x1;
            e2 = e1;
            x1 = b - g * (b - a);
            e1 = eval_keep(s, x1);
        } else {
            a = x1;
            x1 = x2;
            e1 = e2;
            x2 = a + g * (b - a);
            e2 = eval_keep(s, x2);
        }
    }
    return best_t;
}

/* For k segments: the largest integer t in [1, hi] with segs(t) > k - 1 (segs decreases with
 * t), by bisection; t * k is then a valid bound (ceil(segs) >= k). */
static void refine_k(search *s, double k, double t_guess, double hi)
{
    /* bracket around the smooth optimum first (segs changes by about one per t/k there), the
     * whole range [1, hi] only when that bracket does not hold the step */
    double lo = fmax(1, floor(t_guess / 2)), h2 = fmin(hi, ceil(t_guess * 2));
    if (evaluate(s->pb, s->S, s->P, lo).segs > k - 1 &&
        !(evaluate(s->pb, s->S, s->P, h2).segs > k - 1)) {
        hi = h2;
    } else {
        lo = 1;
        if (!(evaluate(s->pb, s->S, s->P, lo).segs > k - 1))
            return;
        if (evaluate(s->pb, s->S, s->P, hi).segs > k - 1) {
            eval_keep(s, hi);
            return;
        }
    }
    while (hi - lo > 1) { /* invariant: segs(lo) > k - 1 >= segs(hi) */
        double mid = floor(0.5 * (lo + hi));
        if (evaluate(s->pb, s->S, s->P, mid).segs > k - 1)
            lo = mid;
        else
            hi = mid;
    }
    eval_keep(s, lo);
}

/* ---- every processor starts cold: the footprint term (docs/bounds.md, Theorem 1b) -------------
 *
 * A processor that performs x operations starting with an empty fast memory loads (or starts
 * fresh) every element they touch, so L' >= s(x), the least footprint a + b + c of x operations
 * under Loomis-Whitney and the fans (caps dropped: fewer constraints, a smaller s, still a bound):
 *     s(x) = min a + b + c  s.t.  a b c >= x^2 / rho,  a >= x / fan_a, ...
 * and, from its segments, L' >= t (x - U(t)) / U(S + t) for every t. With psi(x) the larger of the
 * two, the P processors' total is sum psi(x_i) >= ops * inf_x psi(x) / x. s(x) / x never grows
 * with x (a solution for x scaled by m >= 1 is feasible for m x) and the segment terms never
 * shrink, so the infimum lies where they cross: bisection brackets it from below. */

/* s(x): the water-filling minimum of a + b + c with a product floor and lower bounds. */
static double min_footprint(const iob_pebble *pb, double x)
{
    double l[3], prod = x * x / pb->rho;
    for (int v = 0; v < 3; v++)
        l[v] = lo_of(pb, v, x);
    for (int i = 0; i < 2; i++) /* sort descending */
        for (int j = 0; j < 2 - i; j++)
            if (l[j] < l[j + 1]) {
                double t = l[j];
                l[j] = l[j + 1];
                l[j + 1] = t;
            }
    double lam = cbrt(prod);
    if (lam >= l[0])
        return 3 * lam;
    lam = sqrt(prod / l[0]);
    if (lam >= l[1])
        return l[0] + 2 * lam;
    double last = prod / (l[0] * l[1]);
    return l[0] + l[1] + (last > l[2] ? last : l[2]);
}

#define COLD_NT 17 /* t = S 2^(j/2), j = -8..8 */

/* The rates at x operations: s(x)/x, which never grows with x (rounded down), and the best
 * segment term per operation over the t's, max_t t/U(S+t) (1 - U(t)/x), which never shrinks. */
static double footprint_rate(const iob_pebble *pb, double x)
{
    return min_footprint(pb, x) * (1 - 1e-12) / x;
}

static double segment_rate(const double a[COLD_NT], const double u1[COLD_NT], double x)
{
    double g = 0;
    for (int j = 0; j < COLD_NT; j++)
        g = fmax(g, a[j] * (1 - u1[j] / x));
    return g;
}

double iob_pebble_cold_bound(const iob_pebble *pb, double S)
{
    if (pb->ops <= 0 || S <= 0)
        return 0;
    double a[COLD_NT], u1[COLD_NT];
    for (int j = 0; j < COLD_NT; j++) {
        double t = whole(S * pow(2, 0.5 * (j - 8)));
        double U = iob_pebble_max_ops(pb, S + t);
        a[j] = U > 0 ? t / U : 0;
        u1[j] = iob_pebble_max_ops(pb, t);
    }
    /* inf over x in [1, ops] of max(f, g), f = footprint_rate falling, g = segment_rate rising:
     * f wins at ops, or g already at 1, or they cross in between, bracketed by bisection on log x
     * with f(xl) >= g(xl), f(xr) < g(xr), where the infimum is at least max(f(xr), g(xl)) */
    double ops = pb->ops, xl = 1, xr = ops, rate;
    double fr = footprint_rate(pb, ops), gl = segment_rate(a, u1, 1);
    if (fr >= segment_rate(a, u1, ops)) {
        rate = fr;
    } else if (footprint_rate(pb, 1) <= gl) {
        rate = gl;
    } else {
        for (int it = 0; it < 200 && xr > xl * (1 + 1e-12); it++) {
            double xm = sqrt(xl * xr), f = footprint_rate(pb, xm), g = segment_rate(a, u1, xm);
            if (f >= g) {
                xl = xm;
                gl = g;
            } else {
                xr = xm;
                fr = f;
            }
        }
        rate = fmax(fr, gl);
    }
    return fmax(0, rate * ops - pb->unpaid);
}

iob_pebble_result iob_pebble_bound(const iob_pebble *pb, double S, int P)
{
    iob_pebble_result r = {0, 0, 0, 0, 0};
    if (pb->ops <= 0 || S <= 0)
        return r;
    if (P < 1)
        P = 1;
    r.leading = 2 * pb->ops / sqrt(pb->rho * S);
    /* Every t evaluated gives a valid bound and the best is kept, so the searches can only
     * tighten the result. The one-processor search does not depend on P. */
    double grid_best[2] = {1, 1};
    double ratio = scan(pb, S, P, &r, grid_best);
    search g = {pb, S, P, &r, 0};
    refine(&g, grid_best[0], ratio);
    search o = {pb, S, 1, &r, 1};
    double t1 = refine(&o, grid_best[1], ratio);
    /* The one-processor bound t * ceil(segs) is a step function of t: for the segment counts k
     * next to the smooth optimum (and every k up to 5 for small problems) take the largest integer
     * t that still needs k segments. Skipped when even a gain of 2x could not beat the floor. */
    eval e1 = evaluate(pb, S, 1, t1);
    double kmax = ceil(e1.segs);
    if (2 * fmax(r.one, e1.one_smooth) > pb->floor)
        for (double k = kmax <= 4 ? 1 : kmax - 1; k <= kmax + 1; k++)
            refine_k(&o, k, t1, 256 * S);
    r.gpu_cold = iob_pebble_cold_bound(pb, S);
    if (r.gpu_cold > r.gpu)
        r.gpu = r.gpu_cold;
    return r;
}
