#!/usr/bin/env python3
"""measured_above_bound.py - every SM<->L2 traffic the H100 measured (docs/results/validate-*.csv,
loads + stores from the counters) is at least the current engine's bound_bytes_gpu for that
layer, algorithm and variant (docs/bounds.md, section 5: a measured value below the bound is a bug
in the bound or in the accounting). The bound of a record is scripts/report.py's (`bound_now`:
the record's variant; cuDNN's runs beside the direct bound, reported but not held to it, since
cuDNN may run FFT or Winograd, whose operations the direct bound does not describe). Run by CTest
with the built iobound:
    python3 tests/measured_above_bound.py build/iobound docs/results
Prints the tightest row; exits 1 on a violation."""
import csv
import glob
import os
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "scripts"))
from report import bound_now  # noqa: E402


def main():
    iobound, results = sys.argv[1], sys.argv[2]
    checked, worst, bad, cudnn = 0, None, 0, []
    for path in sorted(glob.glob(os.path.join(results, "validate-*.csv"))):
        for r in csv.DictReader(open(path)):
            if r["meas_state"] != "ok":
                continue
            meas = float(r["meas_l2_read_bytes"]) + float(r["meas_l2_write_bytes"])
            bound = bound_now(iobound, r)
            if r["algo"] == "cudnn":
                cudnn.append(meas / bound)
                continue
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
    if cudnn:
        print("cuDNN: %d runs at %.2fx to %.1fx the direct bound" % (len(cudnn), min(cudnn),
                                                                     max(cudnn)))
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
