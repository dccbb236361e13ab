#!/usr/bin/env python3
"""measured_above_bound.py - every SM<->L2 traffic the H100 measured (docs/results/validate-*.csv,
loads + stores from the counters) is at least the current engine's bound_bytes_gpu for that
layer, algorithm and variant (docs/bounds.md, section 5: a measured value below the bound is a bug
in the bound or in the accounting). Run by CTest with the built iobound:
    python3 tests/measured_above_bound.py build/iobound docs/results
Prints the tightest row; exits 1 on a violation."""
import csv
import glob
import json
import os
import subprocess
import sys


def main():
    iobound, results = sys.argv[1], sys.argv[2]
    cache, checked, worst, bad, cudnn = {}, 0, None, 0, []
    for path in sorted(glob.glob(os.path.join(results, "validate-*.csv"))):
        for r in csv.DictReader(open(path)):
            if r["meas_state"] != "ok":
                continue
            if r["algo"] == "cudnn":  # other algorithms (FFT, ...): reported, not held to it
                cudnn.append(r)
                continue
            key = (r["layer_spec"], r["algo"])
            if key not in cache:
                out = subprocess.run([iobound, "--layer", r["layer_spec"], "--algo", r["algo"],
                                      "--format", "json"], capture_output=True, text=True,
                                     check=True).stdout
                cache[key] = json.loads(out)["layers"][0]["bounds"]
            match = [b for b in cache[key] if b["variant"] == r["variant"]]
            if len(match) != 1:
                print("%s: %s %s: no bound of variant '%s'" % (path, r["layer"], r["algo"],
                                                               r["variant"]))
                return 1
            bound = match[0]["bound_bytes_gpu"]
            meas = float(r["meas_l2_read_bytes"]) + float(r["meas_l2_write_bytes"])
            checked += 1
            what = "%s %s %s [%s]: measured %.0f B, bound %.0f B, ratio %.4f" % (
                r["layer"], r["algo"], r["variant"], r["config"], meas, bound, meas / bound)
            if worst is None or meas / bound < worst[0]:
                worst = (meas / bound, what)
            if meas < bound:
                bad += 1
                print("BELOW THE BOUND: " + what)
    if checked < 100:
        print("only %d measured rows found under %s" % (checked, results))
        return 1
    print("%d measured runs, %d below the bound; tightest: %s" % (checked, bad, worst[1]))
    # cuDNN's runs beside the direct bound (what `iobound validate` records for them); cuDNN may
    # run FFT or Winograd, whose operations the direct bound does not describe, so no verdict
    ratios = []
    for r in cudnn:
        key = (r["layer_spec"], "direct")
        if key not in cache:
            out = subprocess.run([iobound, "--layer", r["layer_spec"], "--algo", "direct",
                                  "--format", "json"], capture_output=True, text=True,
                                 check=True).stdout
            cache[key] = json.loads(out)["layers"][0]["bounds"]
        meas = float(r["meas_l2_read_bytes"]) + float(r["meas_l2_write_bytes"])
        ratios.append(meas / cache[key][0]["bound_bytes_gpu"])
    if ratios:
        print("cuDNN: %d runs at %.2fx to %.1fx the direct bound" % (len(ratios), min(ratios),
                                                                     max(ratios)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
