#!/usr/bin/env python3
"""Writes the random layer set of the GPU executor's checks (issue 6): shapes no network has.

    python3 scripts/random_layers.py [--count 50] [--seed 6] > bench/layers/random-50.csv

Kernels 1 to 7 (square and not), strides 1 and 2 (per axis), odd and even sizes, batch 1 to
64, padding 0 to r/2 per side (sometimes asymmetric), groups 1, 2 or 4 on a few, dilation 2 on
a few; about a third 3x3 at stride 1 (the shape the Winograd kernels take). Sizes are kept where the FP64 reference on the host stays fast. The generator is seeded:
the same arguments give the same file.
"""
import argparse
import random


def layer(rng, i):
    while True:
        r = rng.randint(1, 7)
        s = r if rng.random() < 0.7 else rng.randint(1, 7)
        sh = rng.choice((1, 1, 2))
        sw = sh if rng.random() < 0.8 else 3 - sh
        dil = 2 if rng.random() < 0.1 else 1
        if rng.random() < 0.3:  # the shape Winograd takes: 3x3, stride 1, no dilation
            r, s, sh, sw, dil = 3, 3, 1, 1, 1
        g = rng.choice((1,) * 8 + (2, 4))
        c = g * rng.randint(1, 48 // g) if g > 1 else rng.choice((1, 3)) if rng.random() < 0.1 else rng.randint(2, 96)
        k = g * rng.randint(1, 64 // g)
        h = rng.randint(5, 71)
        w = h if rng.random() < 0.6 else rng.randint(5, 71)
        n = rng.choice((1, 1, 2, 3, 5, 8, 16, 32, 64))
        pt, pb = rng.randint(0, r // 2), rng.randint(0, r // 2)
        if rng.random() < 0.7:
            pb = pt
        pl, pr = rng.randint(0, s // 2), rng.randint(0, s // 2)
        if rng.random() < 0.7:
            pr = pl
        eff_r, eff_s = (r - 1) * dil + 1, (s - 1) * dil + 1
        if h + pt + pb < eff_r or w + pl + pr < eff_s:
            continue
        # keep the host reference fast: at most ~2 G multiply-adds per layer
        p = (h + pt + pb - eff_r) // sh + 1
        q = (w + pl + pr - eff_s) // sw + 1
        if n * k * p * q * (c // g) * r * s > 2e9:
            continue
        return dict(name=f"rand{i:02d}", n=n, c=c, h=h, w=w, k=k, r=r, s=s, stride_h=sh,
                    stride_w=sw, pad_top=pt, pad_bottom=pb, pad_left=pl, pad_right=pr,
                    dil_h=dil, dil_w=dil, groups=g)


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--count", type=int, default=50)
    ap.add_argument("--seed", type=int, default=6)
    a = ap.parse_args()
    rng = random.Random(a.seed)
    rows = [layer(rng, i) for i in range(a.count)]
    keys = list(rows[0])
    print(",".join(keys))
    for row in rows:
        print(",".join(str(row[k]) for k in keys))


if __name__ == "__main__":
    main()
