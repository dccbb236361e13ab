#!/usr/bin/env python3
"""tune_factor_scan.py - what each pruning factor would cost, by the model's own predictions.

Reads the JSON Lines of `iobound tune --dry-run --factor 1e9 --format json` (every candidate,
none pruned) and, for each factor F, applies the tuner's rule (keep ratio <= F; when nothing is
kept, keep ratio <= F * the smallest ratio) and reports over the distinct layers: how many lose
more than 5% of predicted time (fastest kept / fastest overall), the worst such loss, and the
median share of the space pruned. docs/tune.md, "The default factor", quotes its output.

  iobound tune --dry-run --factor 1e9 --format json --layers bench/layers/gpu-layers.csv \
      --batch 1 > dry.jsonl   (and --batch 32 >> dry.jsonl)
  scripts/tune_factor_scan.py dry.jsonl
"""
import json
import statistics
import sys

FACTORS = (2, 3, 4, 6, 8, 10, 12, 16, 24)


def main(path):
    layers, seen = [], set()
    with open(path) as f:
        for line in f:
            d = json.loads(line)
            if d["spec"] in seen:
                continue
            seen.add(d["spec"])
            c = [(x["pred_ms"], x["ratio"]) for x in d["candidates"]
                 if "pred_ms" in x and "ratio" in x]
            if c:
                layers.append((d["layer"], c))
    print(f"{len(layers)} distinct layers")
    print("factor  layers losing >5%  worst loss  median pruned  (losing layers)")
    for fac in FACTORS:
        losing, losses, pruned = [], [], []
        for name, c in layers:
            best = min(t for t, _ in c)
            least = min(r for _, r in c)
            kept = [t for t, r in c if r <= fac] or [t for t, r in c if r <= fac * least]
            loss = min(kept) / best
            losses.append(loss)
            pruned.append(1 - len(kept) / len(c))
            if loss > 1.05:
                losing.append(f"{name} {loss:.2f}")
        print(f"{fac:6}  {len(losing):17}  {max(losses):10.3f}  {100 * statistics.median(pruned):12.1f}%"
              f"  {', '.join(losing)}")


if __name__ == "__main__":
    if len(sys.argv) != 2:
        sys.exit("usage: tune_factor_scan.py DRY_RUN.jsonl")
    main(sys.argv[1])
