#!/usr/bin/env python3
"""bounds-check.py - an independent implementation of the segment bound (docs/bounds.md,
Theorem 1; model/pebble.c's header comment) for direct convolution and GEMM, written from the
theorem, not from the C code, to hand-check a few values that tests/test_bound_hand.c asserts.

The theorem. Cut a schedule after every t-th load (t a positive integer; a fresh accumulator
chain start counts as a load and is paid by the store of that output). A segment touches at most
S + t distinct operand elements (the first, with an empty fast memory, at most t), so it performs
at most U(S + t) operations (the first U(t)); all segments but the last hold t loads:
    one processor:  Q >= t * ceil((ops - U(t)) / U(S + t))
    P processors:   Q >= t * (ops - P U(t)) / U(S + t)          (total over the processors)
and the bound is the largest over t, then the larger of that and the compulsory traffic.
Theorem 1b (every processor starts cold) adds, for the P-processor total, ops * inf_x psi(x)/x
with psi(x) = max(s(x), max_t t (x - U(t)) / U(S + t)): a processor doing x operations loads its
whole footprint, at least s(x), the least a + b + c with a b c >= x^2 / rho and the fans.
U(X) = max F  s.t.  F^2 <= rho a b c  (Loomis-Whitney),  F <= fan_x x,  x <= cap_x,
                    a + b + c <= X,  F <= ops.
For convolution rho = rho_h * rho_w, rho_axis = ceil(taps / (stride / gcd(dil, stride))), the
most taps that read one input position; operand classes A = weights, B = inputs, C = outputs.

Differences in method from model/pebble.c, on purpose:
  - U: for a fixed F the best a*b*c in the box lo = F/fan <= x <= cap with a + b + c <= X is found
    by enumerating which variables sit at a bound and which share the rest of the budget equally
    (the KKT cases), not by water-filling breakpoints; F is found by bisection.
  - t is an integer. One processor: the exact maximum over t, found segment count by segment count
    (for h segments the best t is the largest with ceil(...) >= h, found by binary search).
    P processors: the smooth objective is scanned on a fine grid and refined over integers.
  - Layer counts (used inputs, valid taps) by brute force over every position.

Usage: python3 docs/bounds-check.py [--md FILE]   (standard library only)
"""
import argparse
import math
import sys

S_WORDS = 123904  # H100 SXM: 484 KiB of shared memory + registers per SM, FP32 words
PROCS = 132


# ---- layer counts, by brute force --------------------------------------------------------------
def out_size(extent, pad_lo, pad_hi, taps, stride, dil):
    return (extent + pad_lo + pad_hi - dil * (taps - 1) - 1) // stride + 1


def axis(extent, out, taps, stride, dil, pad):
    """(valid taps, used input positions) along one axis."""
    valid, used = 0, set()
    for o in range(out):
        for t in range(taps):
            x = o * stride + t * dil - pad
            if 0 <= x < extent:
                valid += 1
                used.add(x)
    return valid, len(used)


def axis_reuse(taps, stride, dil):
    period = stride // math.gcd(dil, stride)
    return -(-taps // period)


def conv_problem(L):
    """The pebble problem of a direct convolution: ops, rho, caps, fans, compulsory."""
    n, c, h, w, k, r, s = (L[x] for x in "n c h w k r s".split())
    sh, sw = L.get("stride", 1), L.get("stride", 1)
    dh, dw = L.get("dil", 1), L.get("dil", 1)
    ph, pw = L.get("pad", 0), L.get("pad", 0)
    g = L.get("groups", 1)
    p = out_size(h, ph, ph, r, sh, dh)
    q = out_size(w, pw, pw, s, sw, dw)
    vt_h, used_h = axis(h, p, r, sh, dh, ph)
    vt_w, used_w = axis(w, q, s, sw, dw, pw)
    cg, kg = c // g, k // g
    rho = axis_reuse(r, sh, dh) * axis_reuse(s, sw, dw)
    weights, inputs, outputs = k * cg * r * s, n * c * used_h * used_w, n * k * p * q
    return {
        "ops": n * k * cg * vt_h * vt_w,
        "rho": rho,
        "cap": (weights, inputs, outputs),
        "fan": (n * p * q, kg * rho, cg * r * s),
        "compulsory": weights + inputs + outputs,
        "shape": (p, q),
    }


def gemm_problem(m, n, k, batch=1):
    return {
        "ops": m * n * k * batch,
        "rho": 1,
        "cap": (m * k * batch, k * n * batch, m * n * batch),
        "fan": (n, m, k),
        "compulsory": (m * k + k * n + m * n) * batch,
    }


# ---- U(X): the most operations of a segment that touches X elements ----------------------------
# each variable at its lower bound (0), at its upper bound (1) or free (2): the KKT cases
PATTERNS = [tuple((mask // 3 ** i) % 3 for i in range(3)) for mask in range(27)]


def best_product(lo, hi, X):
    """max a*b*c over lo <= x <= hi, a + b + c <= X (None if infeasible), by the KKT cases:
    at the optimum every variable sits at a bound or at the common level of the free ones."""
    if lo[0] + lo[1] + lo[2] > X:
        return None
    best = None
    for st in PATTERNS:
        fixed, nfree = 0.0, 0
        for i in range(3):
            if st[i] == 0:
                fixed += lo[i]
            elif st[i] == 1:
                fixed += hi[i]
            else:
                nfree += 1
        if fixed > X or fixed == math.inf:
            continue
        level = (X - fixed) / nfree if nfree else 0.0
        prod = 1.0
        for i in range(3):
            v = lo[i] if st[i] == 0 else hi[i] if st[i] == 1 else level
            if st[i] == 2 and not lo[i] * (1 - 1e-15) <= v <= hi[i] * (1 + 1e-15):
                prod = None
                break
            prod *= v
        if prod is not None and (best is None or prod > best):
            best = prod
    return best


def U(pb, X):
    """U(X), memoised per problem (the searches below revisit the same X often)."""
    memo = pb.setdefault("memo", {})
    if X not in memo:
        memo[X] = U_exact(pb, X)
    return memo[X]


def U_exact(pb, X):
    if X <= 0:
        return 0.0
    cap = [c if c > 0 else math.inf for c in pb["cap"]]

    def feasible(F):
        lo = [F / f for f in pb["fan"]]
        if any(lo[i] > cap[i] for i in range(3)):
            return False
        prod = best_product(lo, cap, X)
        return prod is not None and pb["rho"] * prod >= F * F

    hi = min(float(pb["ops"]), math.sqrt(pb["rho"]) * (X / 3) ** 1.5)
    if feasible(hi):
        return hi
    lo = 0.0
    for _ in range(200):
        mid = 0.5 * (lo + hi)
        if feasible(mid):
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-14 * hi:
            break
    return hi  # an over-estimate of U only lowers the bound


# ---- the bound over integer t ------------------------------------------------------------------
def one_processor(pb, S):
    """max over integer t >= 1 of t * ceil((ops - U(t)) / U(S + t)); returns (value, t).

    With x(t) = (ops - U(t)) / U(S + t) (non-increasing) the value is t * ceil(x(t)) and lies in
    [f(t), f(t) + t) for f(t) = t x(t). Only t with f(t) + t >= the best value found can win, an
    interval found on a fine grid of the smooth f; inside it, for every segment count h the best
    t is the largest with ceil(x(t)) >= h (binary search)."""
    ops = pb["ops"]

    def x(t):
        return (ops - U(pb, t)) / U(pb, S + t)

    def segs(t):
        rest = ops - U(pb, t)
        return math.ceil(rest / U(pb, S + t) * (1 - 1e-12)) if rest > 0 else 0

    t_top = 1  # the largest t with ops > U(t): beyond it one segment holds everything
    while ops > U(pb, 2 * t_top):
        t_top *= 2
    a, b = t_top, 2 * t_top
    while b - a > 1:
        mid = (a + b) // 2
        if ops > U(pb, mid):
            a = mid
        else:
            b = mid
    t_top = a
    # a grid over [1, t_top] with ratio 1.02, and the best integer value on it
    grid, t = [], 1.0
    while t < t_top:
        grid.append(int(t))
        t = max(t * 1.02, t + 1)
    grid.append(t_top)
    best, best_t = 0, 0
    for t in grid:
        v = t * segs(t)
        if v > best:
            best, best_t = v, t
    # the interval where t * (x(t) + 1) >= best, widened by one grid step on each side
    live = [i for i, t in enumerate(grid) if t * (max(x(t), 0) + 1) >= best]
    t_lo = grid[max(live[0] - 1, 0)]
    t_hi = grid[min(live[-1] + 1, len(grid) - 1)]
    for h in range(segs(t_hi), segs(t_lo) + 1):
        if h < 1 or segs(t_lo) < h:
            continue
        a, b = t_lo, t_hi  # the largest t in [t_lo, t_hi] with segs(t) >= h
        if segs(b) >= h:
            a = b
        while b - a > 1:
            mid = (a + b) // 2
            if segs(mid) >= h:
                a = mid
            else:
                b = mid
        if h * a > best:
            best, best_t = h * a, a
    return best, best_t


def gpu(pb, S, P):
    """max over integer t of t * (ops - P U(t)) / U(S + t) (the total over P processors)."""
    ops = pb["ops"]

    def f(t):
        return t * (ops - P * U(pb, t)) / U(pb, S + t)

    grid = [max(1, int(round(S * 2 ** (e / 64.0)))) for e in range(-64 * 10, 64 * 10 + 1)]
    best_t = max(grid, key=f)
    a, b = max(1, int(best_t / 2 ** (1 / 64.0)) - 1), int(best_t * 2 ** (1 / 64.0)) + 2
    while b - a > 3:  # ternary search over integers (f is unimodal near its peak)
        m1, m2 = a + (b - a) // 3, b - (b - a) // 3
        if f(m1) < f(m2):
            a = m1
        else:
            b = m2
    t = max(range(a, b + 1), key=f)
    return max(0.0, f(t)), t


def least_footprint(pb, x):
    """s(x) = min a + b + c  s.t.  a*b*c >= x^2 / rho,  each variable >= x / fan (caps left out),
    by the KKT cases: every variable at its lower bound or at the common level of the others."""
    lo = [x / f if f > 0 else 0.0 for f in pb["fan"]]
    need = x * x / pb["rho"]
    best = math.inf
    for mask in range(8):  # bit i set: variable i at its lower bound
        fixed = [lo[i] for i in range(3) if mask >> i & 1]
        nfree = 3 - len(fixed)
        prod_fixed = math.prod(fixed) if fixed else 1.0
        if nfree == 0:
            if prod_fixed >= need * (1 - 1e-12):
                best = min(best, sum(fixed))
            continue
        if prod_fixed <= 0:
            continue
        level = (need / prod_fixed) ** (1.0 / nfree)
        if all(level >= lo[i] * (1 - 1e-12) for i in range(3) if not mask >> i & 1):
            best = min(best, sum(fixed) + nfree * level)
    return best


def cold(pb, S):
    """Theorem 1b: ops * inf over real x in [1, ops] of psi(x) / x, psi(x) = max(s(x),
    max_t t (x - U(t)) / U(S + t)) for t = round(S 2^(j/2)), j = -8..8. psi(x) / x is the larger
    of a non-increasing and a non-decreasing function of x, so it is unimodal: ternary search on
    log x (the C engine bisects on the crossing instead)."""
    ops = pb["ops"]
    ts = [max(1, math.floor(S * 2 ** ((j - 8) / 2) + 0.5)) for j in range(17)]
    terms = [(t / U(pb, S + t), U(pb, t)) for t in ts]

    def rate(lx):
        x = math.exp(lx)
        g = max([0.0] + [a * (1 - u1 / x) for a, u1 in terms])
        return max(least_footprint(pb, x) / x, g)

    a, b = 0.0, math.log(ops)
    for _ in range(300):
        m1, m2 = a + (b - a) / 3, b - (b - a) / 3
        if rate(m1) <= rate(m2):
            b = m2
        else:
            a = m1
    return ops * min(rate(a), rate(b), rate(0.0), rate(math.log(ops)))


def bound(pb, S, P):
    one, t1 = one_processor(pb, S)
    g, tg = gpu(pb, S, P)
    g = max(g, cold(pb, S))
    return {
        "reuse": one,
        "t": t1,
        "bound": max(pb["compulsory"], one),
        "reuse_gpu": g,
        "bound_gpu": max(pb["compulsory"], g),
        "compulsory": pb["compulsory"],
        "ops": pb["ops"],
        "rho": pb["rho"],
    }


LAYERS = [
    ("resnet50 layer1.0.conv2, batch 1", "n=1,c=64,h=56,k=64,r=3,pad=1",
     dict(n=1, c=64, h=56, w=56, k=64, r=3, s=3, pad=1)),
    ("resnet50 layer1.0.conv2, batch 32", "n=32,c=64,h=56,k=64,r=3,pad=1",
     dict(n=32, c=64, h=56, w=56, k=64, r=3, s=3, pad=1)),
    ("vgg16 conv3_2, batch 32", "n=32,c=256,h=56,k=256,r=3,pad=1",
     dict(n=32, c=256, h=56, w=56, k=256, r=3, s=3, pad=1)),
    ("resnet50 layer3.0.conv3 (1x1), batch 32", "n=32,c=256,h=14,k=1024,r=1",
     dict(n=32, c=256, h=14, w=14, k=1024, r=1, s=1)),
    ("resnet50 conv1 (7x7 /2), batch 32", "n=32,c=3,h=224,k=64,r=7,stride=2,pad=3",
     dict(n=32, c=3, h=224, w=224, k=64, r=7, s=7, stride=2, pad=3)),
    ("depthwise 3x3 (MobileNet-like), batch 32", "n=32,c=256,h=28,k=256,r=3,pad=1,groups=256",
     dict(n=32, c=256, h=28, w=28, k=256, r=3, s=3, pad=1, groups=256)),
    ("dilated strided 3x3 (dil 2, stride 2), batch 8",
     "n=8,c=128,h=33,k=128,r=3,stride=2,dilation=2,pad=2",
     dict(n=8, c=128, h=33, w=33, k=128, r=3, s=3, stride=2, dil=2, pad=2)),
]
GEMMS = [
    ("GEMM 2048^3 (Smith anchor), S = 4096, P = 1", (2048, 2048, 2048, 1), 4096, 1),
    ("GEMM 1024 x 6272 x 256 (= the 1x1 layer above)", (1024, 32 * 14 * 14, 256, 1),
     S_WORDS, PROCS),
]


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--md", help="also write the table as Markdown to this file")
    args = ap.parse_args()
    rows = []
    for name, spec, L in LAYERS:
        pb = conv_problem(L)
        rows.append((name, "direct " + spec, S_WORDS, PROCS, pb, bound(pb, S_WORDS, PROCS)))
    for name, (m, n, k, b), S, P in GEMMS:
        pb = gemm_problem(m, n, k, b)
        rows.append((name, "gemm m=%d n=%d k=%d" % (m, n, k), S, P, pb, bound(pb, S, P)))
    hdr = ("| layer | what | S | P | ops | rho | compulsory | reuse (1 SM) | t | bound (1 SM) "
           "| reuse (P SMs) | bound (P SMs) |")
    lines = [hdr, "|" + "---|" * 12]
    for name, what, S, P, pb, b in rows:
        lines.append("| %s | `%s` | %d | %d | %d | %d | %d | %.6f | %d | %.6f | %.6f | %.6f |" % (
            name, what, S, P, pb["ops"], pb["rho"], pb["compulsory"], b["reuse"], b["t"],
            b["bound"], b["reuse_gpu"], b["bound_gpu"]))
    print("\n".join(lines))
    if args.md:
        with open(args.md, "w") as fp:
            fp.write("# Hand-checked bounds\n\n")
            fp.write("Computed by an independent Python implementation of the segment bound "
                     "(docs/bounds-check.py, standard library only; integer segment lengths t, "
                     "exact maximum over t for one SM), with\n\n")
            fp.write("    python3 docs/bounds-check.py --md docs/results/bounds-hand-checked.md\n\n")
            fp.write("Elements (FP32 words; bytes = 4 x). S = %d words (H100 SXM: 484 KiB per SM) "
                     "and P = %d SMs unless the row says otherwise.\n\n"
                     "`tests/test_bound_hand.c` asserts the C engine (model/pebble.c) against "
                     "these: ops, rho and compulsory exactly, the P-SM values to a relative "
                     "1e-6; the one-SM bound to 1e-6 in `tests/test_bound_regressions.c` "
                     "(3a). The P-SM values are the larger of Theorem 1's P-processor line and "
                     "Theorem 1b (every SM starts cold: docs/bounds.md), each computed here "
                     "independently of the engine.\n\n"
                     % (S_WORDS, PROCS))
            fp.write("\n".join(lines) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
