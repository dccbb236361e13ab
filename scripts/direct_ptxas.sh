#!/usr/bin/env bash
# direct_ptxas.sh [IOBOUND] [N] - compiles direct.cu with nvcc for the best N configs (by
# predicted time) of each layer of bench/layers/gpu-layers.csv and prints, per config, ptxas's
# registers, spill bytes and the model's register estimate (docs/model.md, "Registers").
# Needs nvcc (CUDA 13, sm_90) and python3; no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/iobound}
n=${2:-3}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
"$bin" dataflow --layers bench/layers/gpu-layers.csv --algo direct --objective time --top "$n" \
  --format json -o "$tmp/d.json"
python3 - "$tmp/d.json" >"$tmp/list" <<'PY'
import json, sys
for L in json.load(open(sys.argv[1]))["layers"]:
    for c in L["configs"]:
        print("%s n=%d|%s|%d|%s" % (L["name"], L["n"], c["config_text"],
              c["resources"]["regs_per_thread"], c["plan"]["launch"][0]["defines"]))
PY
printf '%-26s %-96s %6s %6s %6s\n' layer config ptxas spill model
while IFS='|' read -r name cfg est defs; do
  # shellcheck disable=SC2086
  out=$(nvcc -cubin -arch=sm_90 -std=c++17 -Xptxas -v $defs gpu/kernels/direct.cu -o "$tmp/k.cubin" 2>&1 || true)
  regs=$(echo "$out" | grep -A2 "for direct_conv" | grep -o "Used [0-9]* registers" | grep -o "[0-9]*")
  spill=$(echo "$out" | grep -A1 "for direct_conv" | grep -o "[0-9]* bytes spill stores" | grep -o "^[0-9]*")
  printf '%-26s %-96s %6s %6s %6s\n' "$name" "${cfg#algo=direct,}" "${regs:-ERR}" "${spill:-?}" "$est"
done <"$tmp/list"
