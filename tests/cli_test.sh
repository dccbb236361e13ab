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
for c in bound nets machines; do check "help-$c" 0 "$bin" "$c" --help; done
check nets 0 "$bin" nets && contains nets "$tmp/out" "resnet50"
check machines 0 "$bin" machines && contains machines "$tmp/out" "h100-sxm"

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
PY
check csv 0 "$bin" --net im2win12 --batch 128 --algo direct --format csv -o "$tmp/c.csv"
[ "$(wc -l <"$tmp/c.csv")" = 13 ] || { echo "FAIL csv: expected 13 lines"; fails=$((fails + 1)); }
head -1 "$tmp/c.csv" | grep -q '^name,n,c,h,w,k,r,s,' || { echo "FAIL csv header"; fails=$((fails + 1)); }
check layers-file 0 "$bin" --layers "$src/bench/layers/gpu-layers.csv" --algo direct --format csv
[ "$(wc -l <"$tmp/out")" = 25 ] || { echo "FAIL layers-file: expected 25 lines"; fails=$((fails + 1)); }
check stdin 0 sh -c "printf 'c,h,k,r\n3,10,4,3\n' | '$bin' --layers - --algo direct"

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
check run-tuned 1 "$bin" run --layer "$L" --algo direct --config tuned
grep -q "auto-tuner" "$tmp/err" && [ "$(wc -l <"$tmp/err")" = 1 ] || { echo "FAIL run-tuned"; fails=$((fails + 1)); }
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
grep -q '^res2,iob_conv_naive,31604928,200704,250000,' "$tmp/out" ||
  { echo "FAIL compare-csv: iob_conv_naive row"; grep naive "$tmp/out"; fails=$((fails + 1)); }
check compare-json 0 "$bin" compare --ncu "$src/tests/data/ncu_details.csv" --layer "$RES2" --format json
python3 - "$tmp/out" <<'PY' || { echo "FAIL compare-json: not the documented structure"; fails=$((fails + 1)); }
import json, sys
d = json.load(open(sys.argv[1]))
assert d["layer"]["macs"] == 64 * 64 * 56 * 56 * 9
assert abs(d["bound_l2_bytes_direct"] - 1.75e6) < 0.01e6, d["bound_l2_bytes_direct"]
k = d["kernels"]
assert [x["kernel"] for x in k] == ["gemm_kernel", "reduce_kernel"]
assert k[0]["l2_read_bytes"] == 131072 * 32 and k[1]["l2_read_bytes"] is None
assert d["sum"]["dram_read_bytes"] == 4.19e6 + 64000
PY
expect_err compare-no-ncu "--ncu FILE is required" "$bin" compare --layer "$RES2"
expect_err compare-two-layers "exactly one layer" "$bin" compare --ncu "$src/tests/data/ncu_raw.csv" --layer "$RES2" --layer "$RES2"
printf '"ID","Kernel Name","dram__bytes_read.sum"\n"","","parsec"\n"0","k","1"\n' >"$tmp/bad.csv"
expect_err compare-bad-unit "unknown unit 'parsec'" "$bin" compare --ncu "$tmp/bad.csv" --layer "$RES2"
check compare-missing 1 "$bin" compare --ncu "$tmp/none.csv" --layer "$RES2"

if [ "$fails" -gt 0 ]; then echo "$fails CLI checks failed"; exit 1; fi
echo "all CLI checks passed"
