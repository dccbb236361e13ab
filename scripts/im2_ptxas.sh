#!/usr/bin/env bash
# im2_ptxas.sh [IOBOUND] [LAYERS] [N] - compiles the launches of im2col and im2win plans with nvcc
# (sm_90, -Xptxas -v) and prints ptxas's registers and spill bytes beside the model's register
# estimate of the direct kernel (docs/model.md, "im2win": registers). Per layer of LAYERS
# (default bench/layers/gpu-layers.csv) and algorithm: the best N configs by predicted time
# (default 4) that differ in their register tile (micro_k x micro_p x micro_q), every launch of
# their plans (the transform, the filter prep, the direct kernel on the derived layer, the split
# reduction), each distinct launch once. Needs nvcc (CUDA 13) and python3; no GPU.
set -euo pipefail
cd "$(dirname "$0")/.."
bin=${1:-build/iobound}
layers=${2:-bench/layers/gpu-layers.csv}
n=${3:-4}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
for algo in im2col im2win; do
  "$bin" dataflow --layers "$layers" --algo "$algo" --objective time --top 300 --format json \
    -o "$tmp/$algo.json"
done
python3 - "$n" "$tmp"/im2col.json "$tmp"/im2win.json >"$tmp/list" <<'PY'
import json, sys
n = int(sys.argv[1])
for path in sys.argv[2:]:
    for L in json.load(open(path))["layers"]:
        seen = set()
        for c in L.get("configs", []):
            cf = c["config"]
            tile = (cf["micro_k"], cf["micro_p"], cf["micro_q"])
            if tile in seen:
                continue
            seen.add(tile)
            if len(seen) > n:
                break
            p = c["plan"]
            for l in p["prep"] + p["launch"]:
                print("%s n=%d|%s|%d|%s|%s|%s" % (L["name"], L["n"], c["config_text"],
                      c["resources"]["regs_per_thread"], l["file"], l["entry"], l["defines"]))
PY
printf '%-26s %-20s %6s %6s %6s  %s\n' layer entry ptxas spill model config
seen=$tmp/seen
: >"$seen"
while IFS='|' read -r name cfg est file entry defs; do
  key="$file $entry $defs"
  grep -qxF -- "$key" "$seen" && continue
  echo "$key" >>"$seen"
  # shellcheck disable=SC2086
  out=$(nvcc -cubin -arch=sm_90 -std=c++17 -Xptxas -v $defs "gpu/kernels/$file" -o "$tmp/k.cubin" 2>&1 || true)
  regs=$(echo "$out" | grep -A2 "for $entry\$" | grep -o "Used [0-9]* registers" | grep -o "[0-9]*" || true)
  spill=$(echo "$out" | grep -A1 "for $entry\$" | grep -o "[0-9]* bytes spill stores" | grep -o "^[0-9]*" || true)
  [ "$entry" = direct_conv ] || est=-
  printf '%-26s %-20s %6s %6s %6s  %s\n' "$name" "$entry" "${regs:-ERR}" "${spill:-?}" "$est" "$cfg"
done <"$tmp/list"
