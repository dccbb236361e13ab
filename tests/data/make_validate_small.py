#!/usr/bin/env python3
"""make_validate_small.py IOBOUND - writes tests/data/validate_small.csv, the TEST DATA of the
validation tests and plot scripts.

The layers, configs text, bounds and FLOPs are real (computed by IOBOUND for h100-sxm); every
predicted, measured and cuDNN number is MADE UP: plausible values drawn from a fixed seed, not
measurements. The file says so in its first line. Run from the repository root.
"""
import csv, io, math, os, random, subprocess, sys, tempfile

iobound = sys.argv[1]
out_path = os.path.join(os.path.dirname(os.path.abspath(__file__)), "validate_small.csv")
layers = ["name=conv1,n=32,c=3,h=224,k=64,r=7,stride=2,pad=3",
          "name=layer1.0.conv1,n=32,c=64,h=56,k=64,r=1",
          "name=layer1.0.conv2,n=32,c=64,h=56,k=64,r=3,pad=1",
          "name=layer2.0.conv2,n=32,c=128,h=56,k=128,r=3,stride=2,pad=1",
          "name=layer3.1.conv2,n=32,c=256,h=14,k=256,r=3,pad=1"]
with tempfile.TemporaryDirectory() as tmp:
    base = os.path.join(tmp, "base.csv")
    cmd = [iobound, "validate", "--no-measure", "--algo", "direct,winograd", "-o", base]
    for l in layers:
        cmd += ["--layer", l]
    subprocess.run(cmd, check=True, stderr=subprocess.DEVNULL)
    text = open(base).read()
rows = list(csv.DictReader(io.StringIO(text)))
header = text.splitlines()[0].split(",")
rng = random.Random(20261124)
LV = ["l2_read_bytes", "l2_write_bytes", "dram_read_bytes", "dram_write_bytes", "smem_bytes",
      "ffma", "time_ms"]


def spec_of(r, key):
    for kv in r["layer_spec"].split(","):
        k, v = kv.split("=")
        if k == key:
            return int(v)


def out_bytes(r):
    n, k, h, w = (spec_of(r, x) for x in "nkhw")
    sh = spec_of(r, "stride_h")
    p = (h + spec_of(r, "pad_top") + spec_of(r, "pad_bottom") - spec_of(r, "r")) // sh + 1
    q = (w + spec_of(r, "pad_left") + spec_of(r, "pad_right") - spec_of(r, "s")) // sh + 1
    return 4.0 * n * k * p * q


def fill(r, algo, config, over, eff, err=None):
    """A record of one kernel: over = predicted SM<->L2 traffic / bound, eff = fraction of the
    FP32 rate the kernel reaches (both made up)."""
    r = dict(r)
    r.update(algo=algo, config=config, status="ok", error_stage="", error_code="", error="")
    bound, flops = float(r["bound_gpu_bytes"]), float(r["flops"])
    ob = out_bytes(r)
    pred = {"l2_write_bytes": ob, "l2_read_bytes": bound * over - ob,
            "dram_read_bytes": float(r["compulsory_bytes"]) - ob, "dram_write_bytes": ob,
            "smem_bytes": bound * over * rng.uniform(8, 14),
            "ffma": flops / 2 / (1 if algo == "direct" else 1.0),
            "time_ms": flops / (51e12 * eff) * 1e3 * rng.uniform(0.8, 0.95)}
    r["pred_state"], r["sim_state"], r["meas_state"] = "ok", "unavailable", "ok"
    r["pred_limiter"] = "fp32"
    for lv in LV:
        noise = {"time_ms": 0.25, "dram_write_bytes": 0.02}.get(lv, 0.12)
        m = pred[lv] * (1 + rng.uniform(-noise / 2, noise))
        if lv == "ffma":
            m = pred[lv]
        r["pred_" + lv] = "%.15g" % round(pred[lv]) if lv != "time_ms" else "%.6g" % pred[lv]
        r["meas_" + lv] = "%.15g" % round(m) if lv != "time_ms" else "%.6g" % m
        r["relerr_pred_" + lv] = "%.6g" % ((float(r["pred_" + lv]) - float(r["meas_" + lv])) /
                                           float(r["meas_" + lv]))
    r["meas_max_rel_err"] = "%.3g" % rng.uniform(1e-7, 5e-6)
    if err:
        r.update(status="error", error_stage="measure", error_code="wrong result", error=err,
                 meas_state="failed")
        for lv in LV:
            r["meas_" + lv] = r["relerr_pred_" + lv] = ""
        r["meas_max_rel_err"] = ""
    return r


out = []
for r in rows:
    layer_flops = float(r["flops"]) if r["algo"] == "direct" else None
    if r["status"] == "inapplicable":
        out.append(r)
        continue
    if r["algo"] == "direct":
        t32 = float(r["flops"]) / (51e12 * 0.55) * 1e3
        cudnn = fill(r, "cudnn", "", rng.uniform(1.2, 1.6), 0.55)
        cudnn.update(variant="IMPLICIT_PRECOMP_GEMM", pred_state="not run", sim_state="not run",
                     pred_limiter="")
        for lv in LV:
            cudnn["pred_" + lv] = cudnn["relerr_pred_" + lv] = ""
        cudnn["meas_time_ms"] = "%.6g" % t32
        times = {"cudnn_fp32_ms": "%.6g" % t32, "cudnn_fp32_algo": "IMPLICIT_PRECOMP_GEMM",
                 "cudnn_tf32_ms": "%.6g" % (t32 / 2.7), "cudnn_tf32_algo": "IMPLICIT_PRECOMP_GEMM"}
        cudnn.update(times)
        out.append(cudnn)
        for i, (cfg, over, eff) in enumerate([
                ("algo=direct,tile_k=64,tile_p=4,tile_q=16,tile_c=8,micro_k=4,micro_p=1,"
                 "micro_q=4,stages=2,split_c=1", 1.12, 0.62),
                ("algo=direct,tile_k=32,tile_p=2,tile_q=16,tile_c=4,micro_k=4,micro_p=1,"
                 "micro_q=2,stages=1,split_c=1", 1.45, 0.41)]):
            rec = fill(r, "direct", cfg, over, eff)
            rec.update(times)
            out.append(rec)
    else:
        rec = fill(r, "winograd", "algo=winograd,wino_m=2,tile_k=64,tile_p=4,tile_q=8,tile_c=8,"
                   "micro_k=4,micro_p=2,micro_q=2,stages=2,split_c=1", 1.2, 0.7)
        rec.update(times)
        out.append(rec)
        bad = fill(r, "winograd", "algo=winograd,wino_m=4,tile_k=64,tile_p=8,tile_q=8,tile_c=4,"
                   "micro_k=4,micro_p=4,micro_q=4,stages=2,split_c=1", 1.3, 0.7,
                   err="output differs from the FP64 reference at n=0,k=3,p=5,q=7: relative "
                   "error 1.2e-02 > 1e-04 (TEST DATA)")
        bad.update(times)
        out.append(bad)

with open(out_path, "w", newline="") as f:
    f.write("# TEST DATA, not measurements: layers, configs, bounds and FLOPs are real "
            "(iobound, h100-sxm); every predicted, measured and cuDNN number is MADE UP. "
            "Made by tests/data/make_validate_small.py.\n")
    w = csv.DictWriter(f, fieldnames=header, lineterminator="\n")
    w.writeheader()
    for r in out:
        w.writerow(r)
print("wrote", out_path, len(out), "records")
