#!/usr/bin/env bash
# cli_test.sh BIN SRCDIR - the command line end to end: default job, formats, exit codes, and
# one clear line on stderr for every kind of bad input.
set -u
bin=$1
src=$2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fails=0

check() { # check NAME EXPECTED_RC CMD...: runs CMD, compares the exit code
  local name=$1 want=$2
  shift 2
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" != "$want" ]; then
    echo "FAIL $name: exit $rc, expected $want"; sed 's/^/  stderr: /' "$tmp/err" | head -5
    fails=$((fails + 1)); return 1
  fi
  return 0
}
expect_err() { # expect_err NAME SUBSTRING CMD...: exit 2 and exactly one stderr line with SUBSTRING
  local name=$1 sub=$2
  shift 2
  check "$name" 2 "$@" || return
  if [ "$(wc -l <"$tmp/err")" != 1 ] || ! grep -qF -- "$sub" "$tmp/err"; then
    echo "FAIL $name: stderr should be one line with '$sub':"; sed 's/^/  /' "$tmp/err" | head -5
    fails=$((fails + 1))
  fi
}
contains() { # contains NAME FILE SUBSTRING
  grep -qF -- "$3" "$2" || { echo "FAIL $1: '$3' not in output"; fails=$((fails + 1)); }
}

# the default job: resnet50, batch 1, h100-sxm
check default 0 "$bin" && contains default "$tmp/out" "layer4.2.conv3" && contains default "$tmp/out" "h100-sxm"
check version 0 "$bin" --version && contains version "$tmp/out" "iobound "
check help 0 "$bin" --help && contains help "$tmp/out" "Commands:"
for c in bound nets machines validate plot; do check "help-$c" 0 "$bin" "$c" --help; done
for c in bound nets machines dataflow; do check "help-$c" 0 "$bin" "$c" --help; done
check nets 0 "$bin" nets && contains nets "$tmp/out" "resnet50"
check machines 0 "$bin" machines && contains machines "$tmp/out" "h100-sxm"
# every built-in network runs through `bound`, one CSV row per layer with --algo direct
check nets-csv 0 "$bin" nets --format csv -o "$tmp/nets.csv"
tail -n +2 "$tmp/nets.csv" | while IFS=, read -r net layers _; do
  "$bin" --net "$net" --algo direct --format csv -o "$tmp/net.csv" 2>"$tmp/err" &&
    [ "$(wc -l <"$tmp/net.csv")" = $((layers + 1)) ] || { echo "FAIL net-$net"; exit 1; }
done || fails=$((fails + 1))
check net-inception 0 "$bin" --net inception-v3 --algo direct &&
  contains net-inception "$tmp/out" "Mixed_6b.branch7x7_2.conv"

# formats
check json 0 "$bin" --layer name=x,c=64,h=56,k=64,r=3,pad=1 --format json
python3 - "$tmp/out" <<'PY' || { echo "FAIL json: not the documented structure"; fails=$((fails + 1)); }
import json, sys
d = json.load(open(sys.argv[1]))
L = d["layers"][0]
for k in ["name", "n", "c", "h", "w", "k", "r", "s", "stride_h", "stride_w", "pad_h", "pad_w",
          "dil_h", "dil_w", "groups", "p", "q", "flops", "compulsory_bytes", "bounds"]:
    assert k in L, k
assert L["p"] == 56 and L["flops"] == 2 * 64 * 64 * 56 * 56 * 9
for b in L["bounds"]:
    for k in ["algo", "variant", "applicable", "reason", "s_bytes", "flops", "compulsory_bytes",
              "leading_bytes", "bound_bytes", "bound_bytes_gpu", "dominant", "workspace_bytes"]:
        assert k in b, k
    if b["applicable"]:
        assert b["bound_bytes_gpu"] >= b["compulsory_bytes"] > 0
    else:
        assert b["reason"] and b["bound_bytes"] is None
    if b["algo"] == "direct":  # the best dataflow's traffic never beats the bound
        assert b["best_dataflow"]["ratio"] >= 1 and "algo=direct" in b["best_dataflow"]["config"]
PY
check csv 0 "$bin" --net im2win12 --batch 128 --algo direct --format csv -o "$tmp/c.csv"
[ "$(wc -l <"$tmp/c.csv")" = 13 ] || { echo "FAIL csv: expected 13 lines"; fails=$((fails + 1)); }
head -1 "$tmp/c.csv" | grep -q '^name,n,c,h,w,k,r,s,' || { echo "FAIL csv header"; fails=$((fails + 1)); }
check layers-file 0 "$bin" --layers "$src/bench/layers/gpu-layers.csv" --algo direct --format csv
[ "$(wc -l <"$tmp/out")" = 25 ] || { echo "FAIL layers-file: expected 25 lines"; fails=$((fails + 1)); }
check stdin 0 sh -c "printf 'c,h,k,r\n3,10,4,3\n' | '$bin' --layers - --algo direct"

# --schedule: the best explicit schedule of the tile family beside the bound (never below it),
# in the table's note, the JSON and two CSV columns; a reason where no tile fits
check schedule 0 "$bin" --layer name=r4,n=32,c=256,h=14,k=256,r=3,pad=1 --algo direct --schedule &&
  contains schedule "$tmp/out" "schedule 38.1 MB = 1.65x bound(GPU) (tile 128x4x14x14 c1)"
check schedule-json 0 "$bin" --layer n=2,c=16,h=12,k=24,r=3,pad=1 --algo direct,im2col --schedule --format json
python3 - "$tmp/out" <<'PY' || { echo "FAIL schedule-json"; fails=$((fails + 1)); }
import json, sys
bs = json.load(open(sys.argv[1]))["layers"][0]["bounds"]
d = [b for b in bs if b["algo"] == "direct"][0]
s = d["best_schedule"]
assert s["ratio"] >= 1 and abs(s["bytes"] - s["ratio"] * d["bound_bytes_gpu"]) < 1e-6 * s["bytes"]
assert s["bytes"] == s["input_bytes"] + s["filter_bytes"] + s["output_bytes"]
assert all(k in s["tile"] for k in ["tk", "tn", "tp", "tq", "tc"])
assert all("best_schedule" not in b for b in bs if b["algo"] != "direct")
PY
check schedule-none 0 "$bin" --layer n=1,c=8,h=8,k=8,r=3,pad=1 --algo direct --schedule --fast-mem 72 &&
  contains schedule-none "$tmp/out" "no schedule: no tile of the schedule family fits S=18 words"
check schedule-csv 0 "$bin" --layer n=1,c=8,h=8,k=8,r=3,pad=1 --algo direct --schedule --format csv &&
  contains schedule-csv "$tmp/out" ",schedule_bytes,schedule_tile" && contains schedule-csv "$tmp/out" "x1x8x8 c"

# dataflow --config: what the SMs fetch beside the closed form (the H100 measured 79,822,848 bytes
# of SM-side reads for this config, docs/results/device/measure-tbest-call22.csv)
check dataflow-fetch 0 "$bin" dataflow --layer name=r2,n=32,c=64,h=56,k=64,r=3,pad=1 --algo direct \
  --config "tile_k=64,tile_p=8,tile_q=56,tile_c=16,micro_k=8,micro_p=1,micro_q=8,stages=2,split_c=1" --format json
python3 -c 'import json,sys; f=json.load(open(sys.argv[1]))["layers"][0]["configs"][0]["fetched"]; assert f["l2_read_bytes"] == 79822848 and f["split_bytes"] == 15597568, f' "$tmp/out" ||
  { echo "FAIL dataflow-fetch"; fails=$((fails + 1)); }

# dataflow: the best configs, one config back from its JSON, the bound ratio
L=name=v,n=2,c=16,h=14,k=32,r=3,pad=1
check dataflow-top 0 "$bin" dataflow --layer $L --algo direct --top 3 && contains dataflow-top "$tmp/out" "vs bound"
[ "$(grep -c 'tile_k=' "$tmp/out")" = 3 ] || { echo "FAIL dataflow-top: expected 3 configs"; fails=$((fails + 1)); }
check dataflow-json 0 "$bin" dataflow --layer $L --algo direct --config best --format json -o "$tmp/d.json"
cfg=$(python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); c=d["layers"][0]["configs"][0]
assert c["ratio_to_bound"] >= 1 and c["traffic"]["l2_read_sectors"] > 0
print(json.dumps(c["config"]))' "$tmp/d.json") || { echo "FAIL dataflow-json: structure"; fails=$((fails + 1)); }
check dataflow-json-back 0 "$bin" dataflow --layer $L --algo direct --config "$cfg" --format json -o "$tmp/e.json"
python3 - "$tmp/d.json" "$tmp/e.json" <<'PY' || { echo "FAIL dataflow-json-back: not the same config"; fails=$((fails + 1)); }
import json, sys
a, b = (json.load(open(f))["layers"][0]["configs"][0] for f in sys.argv[1:3])
assert a["config"] == b["config"] and a["traffic"] == b["traffic"], (a["config"], b["config"])
PY
text=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["layers"][0]["configs"][0]["config_text"])' "$tmp/d.json")
check dataflow-text-back 0 "$bin" dataflow --layer $L --algo direct --config "$text" --format csv
contains dataflow-text-back "$tmp/out" "$text"
check dataflow-time 0 "$bin" dataflow --layer $L --algo direct --config best --objective time
# an algorithm that cannot take the layer says why, in one line
expect_err dataflow-im2win-dilated "im2win needs dil_w = 1" "$bin" dataflow --layer c=8,h=9,k=8,r=3,dil=2 --algo im2win
expect_err dataflow-winograd-1x1 "needs a 3x3 filter" "$bin" dataflow --layer c=8,h=9,k=8,r=1 --algo winograd
check dataflow-im2col 0 "$bin" dataflow --layer $L --algo im2col --top 2 --format csv &&
  contains dataflow-im2col "$tmp/out" ',im2col,1,"algo=im2col,tile_k='
check dataflow-im2win 0 "$bin" dataflow --layer $L --algo im2win --config best --format csv &&
  contains dataflow-im2win "$tmp/out" ',im2win,1,"algo=im2win,tile_k=' 
check dataflow-wnf 0 "$bin" dataflow --layer $L --algo winograd-nonfused --format csv &&
  contains dataflow-wnf "$tmp/out" ',winograd-nonfused,1,"algo=winograd-nonfused,wino_m='
expect_err dataflow-wnf-strided "stride 1 and no dilation" "$bin" dataflow --layer c=8,h=9,k=8,r=3,stride=2,pad=1 --algo winograd-nonfused --config wino_m=2
expect_err dataflow-wnf-tiles "takes only wino_m" "$bin" dataflow --layer $L --algo winograd-nonfused --config wino_m=4,tile_k=8
# DRAM fits half the H100's L2 (two partitions); --l2 sets the total and the half follows
V52="n=32,c=512,h=14,k=512,r=3,pad=1"
V52C="algo=direct,tile_k=256,tile_p=14,tile_q=8,tile_c=8,micro_k=8,micro_p=1,micro_q=8,stages=2,split_c=1"
check dataflow-l2-half 0 "$bin" dataflow --layer $V52 --algo direct --config $V52C --format json &&
  contains dataflow-l2-half "$tmp/out" '"l2_shared_bytes":	26214400' &&
  contains dataflow-l2-half "$tmp/out" '"dram_exact":	false'
check dataflow-l2-override 0 "$bin" dataflow --layer $V52 --algo direct --config $V52C --l2 100M --format json &&
  contains dataflow-l2-override "$tmp/out" '"l2_shared_bytes":	52428800' &&
  contains dataflow-l2-override "$tmp/out" '"dram_exact":	true'
check machines-l2-shared 0 "$bin" machines && contains machines-l2-shared "$tmp/out" "L2 shared"
expect_err dataflow-infeasible "not a multiple of micro_k=3" "$bin" dataflow --layer $L --algo direct --config tile_k=8,tile_p=4,tile_q=4,tile_c=4,micro_k=3,micro_p=1,micro_q=1
expect_err dataflow-bad-key "unknown config key 'tile_z'" "$bin" dataflow --layer $L --algo direct --config tile_z=4
expect_err dataflow-bad-json "not valid JSON" "$bin" dataflow --layer $L --algo direct --config '{"tile_k": 8,'
expect_err dataflow-no-algo "--algo is required" "$bin" dataflow --layer $L
expect_err dataflow-top "--top 0" "$bin" dataflow --layer $L --algo direct --top 0
expect_err dataflow-objective "--objective fast" "$bin" dataflow --layer $L --algo direct --objective fast

# bad input: one line on stderr, exit 2
expect_err unknown-key "unknown key 'x'" "$bin" --layer c=1,h=1,k=1,r=1,x=2
expect_err not-number "c=abc: not a whole number" "$bin" --layer c=abc,h=1,k=1,r=1
expect_err negative "h=-3: must not be negative" "$bin" --layer c=1,h=-3,k=1,r=1
expect_err zero "k=0: must be at least 1" "$bin" --layer c=1,h=3,k=0,r=1
expect_err big-kernel "more than the padded input height" "$bin" --layer c=1,h=3,k=1,r=5
expect_err groups "groups=3 does not divide c=4" "$bin" --layer c=4,h=3,k=3,r=1,groups=3
expect_err overflow "overflow 64 bits" "$bin" --layer n=2147483647,c=2147483647,h=2147483647,k=2147483647,r=1
expect_err missing-file "No such file" "$bin" --layers "$tmp/none.csv"
printf 'c,h,k,r\n3,10,4,3\n3,10,4' >"$tmp/trunc.csv"
expect_err truncated "truncated file?" "$bin" --layers "$tmp/trunc.csv"
head -c 300 /dev/urandom | tr -d '[:print:]' >"$tmp/bin.dat"; printf '\000' >>"$tmp/bin.dat"
expect_err binary "binary data" "$bin" --layers "$tmp/bin.dat"
expect_err bad-algo "unknown algorithm 'fft'" "$bin" --algo fft
expect_err bad-machine "unknown machine 'tpu'" "$bin" --machine tpu
expect_err bad-format "--format xml" "$bin" --format xml
expect_err bad-smem "not a byte count" "$bin" --smem lots
expect_err tiny-s "at least 3 are needed" "$bin" --fast-mem 8
expect_err bad-net "unknown network 'lenet'" "$bin" --net lenet
expect_err bad-batch "--batch 0" "$bin" --batch 0
expect_err unknown-command "unknown command 'frobnicate'" "$bin" frobnicate
check runtime-error 1 "$bin" --net resnet18 -o /nonexistent/dir/out.txt

# ---- GPU commands (issue 6, 7): usage errors are exit 2 with or without a GPU ---------------
for c in run measure compare kernels; do check "help-$c" 0 "$bin" "$c" --help; done
L=name=t,c=3,h=9,k=4,r=3,pad=1
expect_err run-no-algo "--algo is required" "$bin" run --layer "$L"
expect_err run-bad-algo "--algo fft: unknown" "$bin" run --layer "$L" --algo fft
expect_err run-no-config "needs --config" "$bin" run --layer "$L" --algo direct
expect_err run-bad-config "unknown config key 'tile_z'" "$bin" run --layer "$L" --algo direct --config tile_z=4
expect_err run-config-algo "names algo=winograd but --algo is direct" "$bin" run --layer "$L" --algo direct --config algo=winograd,wino_m=2
expect_err run-config-naive "--config applies to the model's algorithms" "$bin" run --layer "$L" --algo naive --config best
expect_err run-bad-reps "--reps 0" "$bin" run --layer "$L" --algo naive --reps 0
expect_err run-no-layer "give the layers" "$bin" run --algo naive
expect_err run-bad-layer "unknown key 'x'" "$bin" run --layer c=1,h=1,k=1,r=1,x=2 --algo naive
expect_err measure-bad-via "--via gpu: expected cupti or ncu" "$bin" measure --layer "$L" --algo naive --via gpu
expect_err kernels-bad-arch "--arch sm_x" "$bin" kernels --check --arch sm_x

# run / measure: exit 0 on a GPU machine; elsewhere exactly one line on stderr and exit 1
gpu_or_one_line() { # NAME CMD...
  local name=$1
  shift
  "$@" >"$tmp/out" 2>"$tmp/err"
  local rc=$?
  if [ "$rc" = 0 ]; then return 0; fi
  if [ "$rc" != 1 ] || [ "$(wc -l <"$tmp/err")" != 1 ] || ! grep -qE "CUDA|GPU" "$tmp/err"; then
    echo "FAIL $name: exit $rc, expected 0 (GPU) or 1 with one line about CUDA:"
    sed 's/^/  /' "$tmp/err" | head -5; fails=$((fails + 1))
  fi
}
gpu_or_one_line run-naive "$bin" run --layer "$L" --algo naive --reps 2 --no-baseline
gpu_or_one_line run-json "$bin" run --layer "$L" --algo naive --reps 2 --no-baseline --format json
# the non-fused Winograd: our transforms around cuBLAS's GEMMs, output checked (F(2x2), F(4x4))
for wm in 2 4; do
  gpu_or_one_line run-wnf$wm "$bin" run --layer n=2,c=19,h=13,w=11,k=7,r=3,pad=1 \
    --algo winograd-nonfused --config wino_m=$wm --reps 2 --no-baseline
done
# --config tuned without a database entry (or without a GPU): one line, exit 1
IOB_CACHE_DIR="$tmp/nocache" "$bin" run --layer "$L" --config tuned >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE "CUDA|GPU|iobound tune" "$tmp/err" ||
  { echo "FAIL run-tuned: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }
# --db names the database of --config tuned (the same option as tune's)
IOB_CACHE_DIR="$tmp/nocache" "$bin" run --layer "$L" --config tuned --db "$tmp/none.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE "CUDA|GPU|iobound tune" "$tmp/err" ||
  { echo "FAIL run-tuned-db: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }
IOB_CACHE_DIR="$tmp/nocache" "$bin" measure --layer "$L" --config tuned --db "$tmp/none.json" >"$tmp/out" 2>"$tmp/err"
[ $? = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -qE "CUDA|GPU|iobound tune" "$tmp/err" ||
  { echo "FAIL measure-tuned-db: $(head -1 "$tmp/err")"; fails=$((fails + 1)); }
expect_err run-no-algo-best "may be left out only with --config tuned" "$bin" run --layer "$L" --config best
gpu_or_one_line measure-naive "$bin" measure --layer "$L" --algo naive

# kernels: the list always; --check compiles with CUDA, says "without CUDA" in one line otherwise
check kernels-list 0 "$bin" kernels && contains kernels-list "$tmp/out" "naive.cu"
"$bin" kernels --check --arch sm_90 --quiet >"$tmp/out" 2>"$tmp/err"
case $? in
  0) contains kernels-check "$tmp/out" "0 failed" ;;
  1) grep -q "without CUDA" "$tmp/err" || { echo "FAIL kernels-check: $(head -1 "$tmp/err")"; fails=$((fails + 1)); } ;;
  *) echo "FAIL kernels-check: unexpected exit"; fails=$((fails + 1)) ;;
esac

# compare: a committed Nsight Compute CSV against the bound, no GPU needed
RES2=name=res2,c=64,h=56,k=64,r=3,pad=1
check compare 0 "$bin" compare --ncu "$src/tests/data/ncu_raw.csv" --layer "$RES2"
contains compare "$tmp/out" "iob_conv_naive"
contains compare "$tmp/out" "lower bound of the SM<->L2 traffic on h100-sxm (132 SMs): direct 1.75 MB"
contains compare "$tmp/out" "(sum of 3 kernels)"
check compare-csv 0 "$bin" compare --ncu "$src/tests/data/ncu_raw.csv" --layer "$RES2" --format csv
[ "$(wc -l <"$tmp/out")" = 5 ] || { echo "FAIL compare-csv: expected 5 lines"; fails=$((fails + 1)); }
grep -q '^res2,iob_conv_naive,31604928,,200704,250000,,12345,' "$tmp/out" ||
  { echo "FAIL compare-csv: iob_conv_naive row (no xbar value: an empty sm_read_bytes)"; grep naive "$tmp/out"; fails=$((fails + 1)); }
grep -q '^res2,"kernel ""quoted"", name",256,320,128,' "$tmp/out" ||
  { echo "FAIL compare-csv: sm_read_bytes beside l2_read_bytes"; fails=$((fails + 1)); }
head -1 "$tmp/out" | grep -q '^layer,kernel,l2_read_bytes,sm_read_bytes,l2_write_bytes,' ||
  { echo "FAIL compare-csv: header"; head -1 "$tmp/out"; fails=$((fails + 1)); }
check compare-raw-json 0 "$bin" compare --ncu "$src/tests/data/ncu_raw.csv" --layer "$RES2" --format json
python3 - "$tmp/out" <<'PY' || { echo "FAIL compare-raw-json: sm_read_bytes"; fails=$((fails + 1)); }
import json, sys
d = json.load(open(sys.argv[1]))
k = d["kernels"]
assert abs(k[0]["sm_read_bytes"] - 1371740 * 32) < 1e-3, k[0]
assert k[1]["sm_read_bytes"] is None and k[1]["l2_read_bytes"] == 987654 * 32
# SM<->L2: the SM side where the kernel has it, the L2 slices' count where not
assert abs(k[0]["sm_l2_bytes"] - (1371740 + 25088) * 32) < 1e-3
assert k[1]["sm_l2_bytes"] == (987654 + 6272) * 32
assert abs(d["sum"]["sm_read_bytes"] - (1371740 + 10) * 32) < 1e-3
PY
check compare-json 0 "$bin" compare --ncu "$src/tests/data/ncu_details.csv" --layer "$RES2" --format json
python3 - "$tmp/out" <<'PY' || { echo "FAIL compare-json: not the documented structure"; fails=$((fails + 1)); }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["layer"]["macs"] == 64 * 64 * 56 * 56 * 9
assert abs(d["bound_l2_bytes_direct"] - 1.75e6) < 0.01e6, d["bound_l2_bytes_direct"]
k = d["kernels"]
assert [x["kernel"] for x in k] == ["gemm_kernel", "reduce_kernel"]
assert k[0]["l2_read_bytes"] == 131072 * 32 and k[1]["l2_read_bytes"] is None
# recorded without the xbar metric: unknown, never 0
assert k[0]["sm_read_bytes"] is None and d["sum"]["sm_read_bytes"] is None
assert d["sum"]["l2_write_bytes"] is None and d["sum"]["sm_l2_bytes"] == 131072 * 32
assert d["sum"]["dram_read_bytes"] == 4.19e6 + 64000
PY
expect_err compare-no-ncu "--ncu FILE is required" "$bin" compare --layer "$RES2"
expect_err compare-two-layers "exactly one layer" "$bin" compare --ncu "$src/tests/data/ncu_raw.csv" --layer "$RES2" --layer "$RES2"
printf '"ID","Kernel Name","dram__bytes_read.sum"\n"","","parsec"\n"0","k","1"\n' >"$tmp/bad.csv"
expect_err compare-bad-unit "unknown unit 'parsec'" "$bin" compare --ncu "$tmp/bad.csv" --layer "$RES2"
check compare-missing 1 "$bin" compare --ncu "$tmp/none.csv" --layer "$RES2"
# tune: bad input exits 2 with one line; without a GPU one line and exit 1; --dry-run ranks the
# model's candidates (or, while no dataflow model is registered, says so in one line)
spec=name=t,c=64,h=56,k=64,r=3,pad=1
check help-tune 0 "$bin" tune --help && contains help-tune "$tmp/out" "--factor F"
expect_err tune-no-layers "give the layers" "$bin" tune
expect_err tune-factor "--factor 0.5: must be a number above 1" "$bin" tune --layer $spec --factor 0.5
expect_err tune-factor-text "--factor abc" "$bin" tune --layer $spec --factor abc
expect_err tune-top "--top 0" "$bin" tune --layer $spec --top 0
expect_err tune-compare "--compare fast" "$bin" tune --layer $spec --compare random,fast
expect_err tune-algo "unknown algorithm 'fft'" "$bin" tune --layer $spec --algo fft
expect_err tune-seed "--seed -1" "$bin" tune --layer $spec --seed -1
expect_err tune-budget "--budget-s -1" "$bin" tune --layer $spec --budget-s -1
expect_err tune-bad-layer "c=abc: not a whole number" "$bin" tune --layer c=abc,h=1,k=1,r=1
expect_err tune-bad-net "unknown network 'lenet'" "$bin" tune --net lenet
expect_err tune-extra "unexpected argument 'x'" "$bin" tune --layer $spec x
"$bin" tune --layer $spec >"$tmp/out" 2>"$tmp/err"
rc=$?
if grep -q "no GPU here" "$tmp/err"; then
  if [ "$rc" != 1 ] || [ "$(wc -l <"$tmp/err")" != 1 ] || ! grep -q -- "--dry-run" "$tmp/err"; then
    echo "FAIL tune-no-gpu: expected exit 1 and one line naming --dry-run"; fails=$((fails + 1))
  fi
fi
"$bin" tune --dry-run --layer $spec --top 4 >"$tmp/out" 2>"$tmp/err"
rc=$?
if [ "$rc" = 0 ]; then
  contains tune-dry-run "$tmp/out" "feasible configs"
  contains tune-dry-run "$tmp/out" "measure"
  check tune-dry-run-json 0 "$bin" tune --dry-run --layer $spec --top 4 --format json
  python3 - "$tmp/out" <<'PY' || { echo "FAIL tune-dry-run-json: structure"; fails=$((fails + 1)); }
import json, sys
for line in open(sys.argv[1]):
    d = json.loads(line)
    assert d["layer"] == "t" and d["feasible"] == len(d["candidates"]) > 0
    assert sum(c["measure"] for c in d["candidates"]) == d["budget"] <= 4
    kept = [c for c in d["candidates"] if c["kept"]]
    assert len(kept) == d["kept"] and [c["rank"] for c in kept] == list(range(len(kept)))
    assert all(c["pred_ms"] <= n["pred_ms"] for c, n in zip(kept, kept[1:]))
PY
elif [ "$rc" = 1 ] && [ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "no algorithm has a feasible config" "$tmp/err"; then
  :
else
  echo "FAIL tune-dry-run: exit $rc"; sed 's/^/  stderr: /' "$tmp/err" | head -3; fails=$((fails + 1))
fi

# the measuring worker (tune --worker): greets, quits on request; without a GPU its measurer is
# broken, which it reports and then exits 1 (the tuner stops instead of restarting it forever)
check tune-worker-quit 0 sh -c "echo '{\"op\":\"quit\"}' | '$bin' tune --worker"
contains tune-worker-quit "$tmp/out" '"hello":"iobound-tune-worker"'
printf '{"op":"measure","layer":"c=8,h=8,k=8,r=3","config":"algo=direct"}\n' |
  "$bin" tune --worker >"$tmp/out" 2>"$tmp/err"
rc=$?
if grep -q '"broken":true' "$tmp/out"; then
  [ "$rc" = 1 ] && grep -q '"status":5' "$tmp/out" ||
    { echo "FAIL tune-worker-broken: exit $rc"; fails=$((fails + 1)); }
else
  grep -q '"status":' "$tmp/out" || { echo "FAIL tune-worker-measure: no answer"; fails=$((fails + 1)); }
fi
# validate: a sweep without GPU measurements, resumed; its summary; bad input
small="$src/tests/data/validate_small.csv"
check validate 0 "$bin" validate --layer name=a,c=8,h=9,k=8,r=3,pad=1 --layer name=b,c=8,h=9,k=8,r=1 \
  --algo direct,winograd --no-measure -o "$tmp/v.csv"
[ "$(wc -l <"$tmp/v.csv")" = 5 ] || { echo "FAIL validate: expected a header and 4 records"; fails=$((fails + 1)); }
contains validate "$tmp/err" "4 new records"
check validate-resume 0 "$bin" validate --layer name=a,c=8,h=9,k=8,r=3,pad=1 --layer name=b,c=8,h=9,k=8,r=1 \
  --algo direct,winograd --no-measure -o "$tmp/v.csv"
contains validate-resume "$tmp/err" "0 new records (0 with errors), 4 already there"
check validate-jsonl 0 "$bin" validate --layer c=8,h=9,k=8,r=3 --algo direct --no-measure -o "$tmp/v.jsonl"
head -c 1 "$tmp/v.jsonl" | grep -q '{' || { echo "FAIL validate-jsonl: not JSON Lines"; fails=$((fails + 1)); }
check summary 0 "$bin" validate --summary "$small"
contains summary "$tmp/out" "SM<-L2 read (SM side)"
contains summary "$tmp/out" "L2-slice read (lts)"
contains summary "$tmp/out" "12 checked, 0 below the bound"
check summary-json 0 "$bin" validate --summary "$small" --format json
python3 -c 'import json,sys; d=json.load(open(sys.argv[1])); assert d["records"]["total"] == 22 and d["soundness"]["measured"]["below_bound"] == 0' "$tmp/out" \
  || { echo "FAIL summary-json"; fails=$((fails + 1)); }
check summary-csv 0 "$bin" validate --summary "$small" --format csv
contains summary-csv "$tmp/out" "level,l2_read_bytes,n_pred,12"
expect_err validate-no-out "a sweep needs -o FILE" "$bin" validate --net resnet18
expect_err validate-configs "--configs top:0" "$bin" validate --net resnet18 --configs top:0 -o "$tmp/x.csv"
expect_err validate-format "--format xml" "$bin" validate --net resnet18 --format xml -o "$tmp/x.csv"
expect_err validate-summary-mix "--summary takes only" "$bin" validate --summary "$small" --net resnet18
expect_err validate-missing "No such file" "$bin" validate --summary "$tmp/none.csv"
printf 'layer,bogus\n' >"$tmp/bogus.csv"
expect_err validate-bogus "unknown column 'bogus'" "$bin" validate --summary "$tmp/bogus.csv"
expect_err validate-other-format "holds CSV records" "$bin" validate --layer c=8,h=9,k=8,r=3 --no-measure --format jsonl -o "$tmp/v.csv"

# plot: the figures of the committed test file; no gnuplot is exit 1 with one line
if command -v gnuplot >/dev/null; then
  check plot 0 "$bin" plot "$small" -o "$tmp/plots"
  for f in pred_vs_meas layers roofline speedup; do
    [ -s "$tmp/plots/$f.png" ] && [ -s "$tmp/plots/$f.svg" ] || { echo "FAIL plot: $f"; fails=$((fails + 1)); }
  done
  check plot-no-meas 0 "$bin" plot "$tmp/v.csv" -o "$tmp/plots2"
  contains plot-no-meas "$tmp/err" "pred_vs_meas: skipped"
fi
check plot-no-gnuplot 1 env IOB_GNUPLOT=/nonexistent/gnuplot "$bin" plot "$small" -o "$tmp/plots3"
[ "$(wc -l <"$tmp/err")" = 1 ] && grep -q "gnuplot not found" "$tmp/err" || { echo "FAIL plot-no-gnuplot: one line"; fails=$((fails + 1)); }
expect_err plot-no-dir "no output folder" "$bin" plot "$small"
expect_err plot-no-file "no record file given" "$bin" plot -o "$tmp/p"

if [ "$fails" -gt 0 ]; then echo "$fails CLI checks failed"; exit 1; fi
echo "all CLI checks passed"
