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

if [ "$fails" -gt 0 ]; then echo "$fails CLI checks failed"; exit 1; fi
echo "all CLI checks passed"
