#!/usr/bin/env bash
# shellcheck disable=SC2317  # the step functions are called indirectly
# device.sh [STEP...] - the one script to run on the GPU machine (docs/gpu.md, "On the GPU
# machine"): unpacks the Debian packages carried in .deps, builds iobound with Ninja, prints the
# machine, runs ctest (GPU tests included) and measurement steps, and writes everything under $OUT
# (default ./device-out): logs.tar.gz, summary.txt and a few CSVs. The summary table comes last.
#
# Steps (default: all, in this order; each time-boxed with `timeout`):
#   info       nvidia-smi, toolkit, cuDNN, ncu, compiler versions
#   build      cmake -G Ninja + ninja (also compiles every kernel through NVRTC)
#   ctest      all tests, GPU tests included
#   smoke      iobound run: naive and im2col-cublas on four layers, beside cuDNN   -> run-smoke.csv
#   measure    iobound measure via CUPTI (naive, im2col-cublas, cudnn) and via ncu -> measure.csv
#   sanitizer  compute-sanitizer memcheck and racecheck on a small sweep
#   cudnn      iobound run --algo cudnn on bench/layers/gpu-layers.csv           -> cudnn-gpu-layers.csv
#   algos      iobound run --config best for each model algorithm (IOB_ALGOS, default
#              "direct winograd") on bench/layers/gpu-layers.csv, beside cuDNN  -> run-algos.csv
#   random     iobound run on bench/layers/random-50.csv: every algorithm, the time- and
#              traffic-best config of each dataflow, outputs checked (IOB_RANDOM_JOBS at once,
#              default 12; IOB_RANDOM_LAYERS another file; IOB_RANDOM_ALGOS the dataflows,
#              IOB_RANDOM_REFS the references, both space-separated)           -> run-random.csv
#   l1probe    ncu on direct_conv of 4 layers (or the runs of IOB_L1PROBE_JOBS, a file of
#              ALGO<TAB>CONFIG<TAB>SPEC lines): the read path's counters (L1TEX requests and sectors,
#              xbar sectors, L2 sectors) beside the model                       -> l1probe.csv
#   tune       iobound tune on bench/layers/gpu-layers.csv (both batches) with random search beside
#              (IOB_TUNE_ARGS adds options)                                      -> tune-h100.jsonl
#              IOB_TUNE_RESUME=FILE starts from FILE's records (those layers are skipped)
#   exhaustive iobound tune --compare exhaustive,random --algo direct on bench/layers/tiny-exhaustive.csv
#              (IOB_EXHAUSTIVE_LAYERS another file, e.g. bench/layers/real-exhaustive.csv)
#                                                                              -> tune-exhaustive.jsonl
#   tune12     iobound tune on bench/layers/im2win-12.csv (batch 128)          -> tune-im2win12.csv
#   validate   iobound validate --configs best on bench/layers/gpu-layers.csv: bound, predicted,
#              simulated and measured per record (resumable)                    -> validate-h100.csv
#   wnf        iobound run --algo winograd-nonfused, F(2x2) and F(4x4), on bench/layers/gpu-layers.csv
#              (the 3x3 layers; the others say why not), beside cuDNN             -> run-wnf.csv
#   dramprobe  iobound measure of one direct config of vgg16.conv5_2 (and conv4_2) over batch
#              sizes and tile_k: where DRAM reads leave the compulsory traffic    -> dramprobe.csv
#   tbest      iobound measure of the direct dataflow's least-traffic config of each 3x3 layer of
#              the GPU set at batch 32 (docs/results/dataflow.md's 1.3x table)   -> measure-tbest.csv
#   wgemm      bench_wino_gemm: cuBLAS's batched SGEMM at the shapes of a non-fused Winograd of
#              the 3x3 layers, and our direct kernel on the same GEMMs (a grouped 1x1 layer)
#                                                                              -> wino-gemm.csv
# Environment: OUT (output folder), IOB_DEVICE_BUDGET (seconds for the whole script, default 570),
# IOB_DEVICE_BUILD (build folder, default build-device), IOB_DEVICE_JOBS (ninja -j, default nproc).
set -u
cd "$(dirname "$0")/.." || exit 2
SRC=$PWD
OUT=${OUT:-$SRC/device-out}
BUILD=${IOB_DEVICE_BUILD:-$SRC/build-device}
BUDGET=${IOB_DEVICE_BUDGET:-570}
JOBS=${IOB_DEVICE_JOBS:-$(nproc)}
LOGS=$(mktemp -d /tmp/iob-device-logs.XXXXXX)
START=$(date +%s)
mkdir -p "$OUT"
SUMMARY=$LOGS/summary.txt
: >"$SUMMARY"
steps=("$@")
[ ${#steps[@]} -eq 0 ] && steps=(info build ctest smoke measure sanitizer cudnn)

# ---- environment: the carried Debian packages (GSL, cmocka, cJSON), CUDA on the PATH ----------
DEPS=/tmp/deps
L=$DEPS/usr/lib/x86_64-linux-gnu
if compgen -G "$SRC/.deps/*.deb" >/dev/null; then
  mkdir -p "$DEPS"
  for f in "$SRC"/.deps/*.deb; do dpkg -x "$f" "$DEPS"; done
  # the .pc files name /usr/include and /usr/lib/... (some literally, not through ${prefix});
  # point every such path at the unpacked tree
  for pc in "$L"/pkgconfig/*.pc; do
    [ -f "$pc" ] && sed -i "s#/usr/#$DEPS/usr/#g; s#=/usr\$#=$DEPS/usr#" "$pc"
  done
else
  echo "device.sh: no .deps/*.deb found; relying on system GSL, cmocka and cJSON" >&2
fi
export CMAKE_PREFIX_PATH=$DEPS/usr PKG_CONFIG_PATH=$L/pkgconfig
export LD_LIBRARY_PATH=$L${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export CPATH=$DEPS/usr/include${CPATH:+:$CPATH} LIBRARY_PATH=$L${LIBRARY_PATH:+:$LIBRARY_PATH}
[ -d /usr/local/cuda/bin ] && export PATH=/usr/local/cuda/bin:$PATH
export IOB_CACHE_DIR=$BUILD/kernel-cache
export IOBOUND_EXE=$BUILD/iobound

# ---- step bookkeeping ------------------------------------------------------------------------
row() { printf '%-10s %-8s %6s  %s\n' "$1" "$2" "$3" "$4" >>"$SUMMARY"; }
row step status secs note
left() { echo $((BUDGET - ($(date +%s) - START))); }
box() { # box SECONDS: the time box of a step, cut to what is left of the budget
  local l
  l=$(($(left) - 5))
  [ "$1" -lt "$l" ] && echo "$1" || echo "$l"
}
run_step() { # run_step NAME MAX_SECONDS FUNCTION
  local name=$1 max=$2 fn=$3 t0 rc secs b
  b=$(box "$max")
  if [ "$b" -lt 10 ]; then row "$name" skipped 0 "no time left in the budget"; return; fi
  echo "== $name (at most ${b}s)"
  t0=$(date +%s)
  STEP_END=$((t0 + b))
  "$fn" >"$LOGS/$name.log" 2>&1
  rc=$?
  secs=$(($(date +%s) - t0))
  local note
  note=$(cat "$LOGS/$name.note" 2>/dev/null)
  if [ $rc -eq 0 ]; then row "$name" ok "$secs" "$note"
  elif [ $rc -eq 124 ]; then row "$name" TIMEOUT "$secs" "$note (time box ${b}s)"
  else row "$name" FAILED "$secs" "${note:-exit $rc}; see logs/$name.log"; fi
  return "$rc"
}
note() { echo "$*" >"$LOGS/$CUR.note"; }
count() { # count PATTERN FILE: matching lines (0 when the file is missing)
  local n
  n=$(grep -c -- "$1" "$2" 2>/dev/null)
  echo "${n:-0}"
}
iob() { "$BUILD/iobound" "$@"; }
first_config() { # the config of the first row of `iobound dataflow --format csv` on stdin
  sed -n '2s/^[^"]*"\([^"]*\)".*/\1/p'
}
T() { # T CMD...: CMD under the time box of the current step (what is left of it)
  local r=$((STEP_END - $(date +%s)))
  [ "$r" -lt 1 ] && return 124
  timeout --kill-after=10 "$r" "$@"
}

# ---- steps -----------------------------------------------------------------------------------
step_info() {
  CUR=info
  nvidia-smi || true
  nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.max.sm,clocks.max.mem --format=csv || true
  nvcc --version || true
  ncu --version || echo "ncu: not on the PATH"
  compute-sanitizer --version || echo "compute-sanitizer: not on the PATH"
  cmake --version | head -1; ninja --version; gcc --version | head -1
  grep -h "define CUDNN_M[AI][JN]OR\|define CUDNN_PATCHLEVEL" /usr/include/x86_64-linux-gnu/cudnn_version*.h \
    /usr/include/cudnn_version*.h 2>/dev/null || true
  ls -la "$SRC/.deps" 2>/dev/null || true
  note "$(nvidia-smi --query-gpu=name,driver_version --format=csv,noheader 2>/dev/null | head -1)"
}

step_build() {
  CUR=build
  T cmake -S "$SRC" -B "$BUILD" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DIOB_WERROR=OFF &&
    T ninja -C "$BUILD" -j "$JOBS" || return $?
  local w
  w=$(grep -c "warning:" "$LOGS/build.log" 2>/dev/null || true)
  note "$(grep "kernels --check:" "$LOGS/build.log" | tail -1 | cut -c1-90); ${w:-0} compiler warnings"
}

step_ctest() {
  CUR=ctest
  T ctest --test-dir "$BUILD" --output-on-failure -j 4 --timeout 400
  local rc=$?
  local skipped
  skipped=$(grep -A20 "did not run" "$LOGS/ctest.log" | grep -oE "test_[a-z_]+" | tr '\n' ' ')
  note "$(grep -E "tests passed|tests failed" "$LOGS/ctest.log" | tail -1)${skipped:+; skipped: $skipped}"
  return "$rc"
}

SMOKE_LAYERS=(
  "name=resnet50.res2.3x3,n=1,c=64,h=56,k=64,r=3,pad=1"
  "name=resnet50.conv1,n=1,c=3,h=224,k=64,r=7,stride=2,pad=3"
  "name=resnet50.res4.3x3.n32,n=32,c=256,h=14,k=256,r=3,pad=1"
  "name=odd.dil2.g4,n=3,c=36,h=19,w=23,k=44,r=3,dil=2,pad=2,groups=4"
)
layer_args() { local a=() l; for l in "${SMOKE_LAYERS[@]}"; do a+=(--layer "$l"); done; echo "${a[@]}"; }

step_smoke() {
  CUR=smoke
  local rc=0
  # shellcheck disable=SC2046
  T "$BUILD/iobound" run $(layer_args) --algo naive || rc=1
  # shellcheck disable=SC2046
  T "$BUILD/iobound" run $(layer_args) --algo im2col-cublas --cudnn || rc=1
  # shellcheck disable=SC2046
  T "$BUILD/iobound" run $(layer_args) --algo naive --format csv -o "$LOGS/run-smoke.csv" || rc=1
  cp "$LOGS/run-smoke.csv" "$OUT/" 2>/dev/null
  note "$(count ",ok," "$LOGS/run-smoke.csv") of ${#SMOKE_LAYERS[@]} naive runs ok (csv: run-smoke.csv)"
  return "$rc"
}

step_measure() {
  CUR=measure
  local rc=0 a
  for a in naive im2col-cublas cudnn; do
    # shellcheck disable=SC2046
    T "$BUILD/iobound" measure $(layer_args) --algo "$a" || rc=1
  done
  {
    # shellcheck disable=SC2046
    T "$BUILD/iobound" measure $(layer_args) --algo naive --format csv
    # shellcheck disable=SC2046
    T "$BUILD/iobound" measure $(layer_args) --algo cudnn --format csv | tail -n +2
  } >"$LOGS/measure.csv" || rc=1
  if command -v ncu >/dev/null; then
    T "$BUILD/iobound" measure --layer "${SMOKE_LAYERS[0]}" --algo naive --via ncu || rc=1
    T "$BUILD/iobound" measure --layer "${SMOKE_LAYERS[0]}" --algo naive --via cupti || rc=1
  fi
  cp "$LOGS/measure.csv" "$OUT/" 2>/dev/null
  note "CUPTI + ncu on ${#SMOKE_LAYERS[@]} layers (csv: measure.csv)"
  return "$rc"
}

step_sanitizer() {
  CUR=sanitizer
  if ! command -v compute-sanitizer >/dev/null; then note "compute-sanitizer not found"; return 1; fi
  local rc=0 tool algo errs=0
  local small=(--layer "name=s1,n=2,c=5,h=9,w=7,k=6,r=3,pad=1"
               --layer "name=s2,n=1,c=8,h=12,k=8,r=3,stride=2,pad=1,groups=2"
               --layer "name=s3,n=1,c=3,h=10,k=4,r=5,dil=2,pad_top=0,pad_bottom=3,pad_left=2,pad_right=1")
  for tool in memcheck racecheck; do
    for algo in naive im2col-cublas direct winograd im2col im2win gemm winograd-nonfused; do
      local cfg=()
      case $algo in naive|im2col-cublas) ;; *) cfg=(--config best) ;; esac
      echo "-- $tool $algo"
      T compute-sanitizer --tool "$tool" --error-exitcode 99 --print-limit 20 \
        "$BUILD/iobound" run "${small[@]}" --algo "$algo" "${cfg[@]}" --reps 1 --warmup 0 --no-baseline \
        >"$LOGS/san-$tool-$algo.txt" 2>&1
      local r=$?
      cat "$LOGS/san-$tool-$algo.txt"
      if [ "$r" -eq 99 ]; then errs=$((errs + 1)); rc=1; echo "!! $tool found errors in $algo"
      elif [ "$r" -ne 0 ] && grep -q "no dataflow model\|no GPU kernel" "$LOGS/san-$tool-$algo.txt"; then
        echo "   ($algo has no kernel or model yet: skipped)"
      elif [ "$r" -ne 0 ] && grep -q "no feasible" "$LOGS/san-$tool-$algo.txt"; then
        echo "   ($algo ran on $(grep -c ' ok ' "$LOGS/san-$tool-$algo.txt") of the layers; the others it does not apply to)"
      elif [ "$r" -ne 0 ]; then rc=1; echo "!! $tool $algo: exit $r"; fi
    done
  done
  note "memcheck + racecheck, 3 small layers per algorithm: $errs with sanitizer errors"
  return "$rc"
}

step_cudnn() {
  CUR=cudnn
  T "$BUILD/iobound" run --algo cudnn --layers "$SRC/bench/layers/gpu-layers.csv" --format csv \
    -o "$LOGS/cudnn-gpu-layers.csv"
  local rc=$?
  cp "$LOGS/cudnn-gpu-layers.csv" "$OUT/" 2>/dev/null
  note "$(count ',ok,' "$LOGS/cudnn-gpu-layers.csv") algorithm runs ok (csv: cudnn-gpu-layers.csv)"
  return "$rc"
}

step_algos() {
  CUR=algos
  local rc=0 a first=1
  : >"$LOGS/run-algos.csv"
  for a in ${IOB_ALGOS:-direct winograd}; do
    T "$BUILD/iobound" run --layers "$SRC/bench/layers/gpu-layers.csv" --algo "$a" --config best \
      --format csv -o "$LOGS/run-$a.csv" || rc=1
    if [ -s "$LOGS/run-$a.csv" ]; then
      if [ $first -eq 1 ]; then cat "$LOGS/run-$a.csv"; first=0; else tail -n +2 "$LOGS/run-$a.csv"; fi
    fi >>"$LOGS/run-algos.csv"
    cat "$LOGS/run-$a.csv"
  done
  cp "$LOGS/run-algos.csv" "$OUT/" 2>/dev/null
  note "$(count ',ok,' "$LOGS/run-algos.csv") runs ok over ${IOB_ALGOS:-direct winograd} (csv: run-algos.csv)"
  return "$rc"
}

# Issue 6's sweep of shapes no network has (bench/layers/random-50.csv, scripts/random_layers.py):
# every algorithm with a kernel, the model's time-best and traffic-best config of each dataflow,
# every output checked against the FP64 reference. Correctness only, so the runs go side by side
# (IOB_RANDOM_JOBS processes, NVRTC compiling in parallel); the times in its CSV are not timings.
random_job() { # random_job ALGO CONFIG SPEC OUTFILE
  local cfg=()
  [ "$2" != - ] && cfg=(--config "$2")
  "$BUILD/iobound" run --layer "$3" --algo "$1" "${cfg[@]}" --reps 1 --warmup 0 --no-baseline \
    --format csv -o "$4" >"$4.log" 2>&1 || echo "exit $?" >>"$4.log"
}
random_line() { # random_line DIR N: job N of DIR/jobs
  local a c s
  IFS=$'\t' read -r a c s < <(sed -n "${2}p" "$1/jobs")
  random_job "$a" "$c" "$s" "$1/$2.csv"
}
step_random() {
  CUR=random
  local file=${IOB_RANDOM_LAYERS:-$SRC/bench/layers/random-50.csv} dir=$LOGS/random spec a o cfg
  mkdir -p "$dir"
  : >"$dir/jobs"
  while read -r spec; do
    for a in ${IOB_RANDOM_REFS-naive im2col-cublas}; do printf '%s\t-\t%s\n' "$a" "$spec" >>"$dir/jobs"; done
    for a in ${IOB_RANDOM_ALGOS:-direct winograd im2col im2win winograd-nonfused}; do
      for o in time traffic; do
        cfg=$(iob dataflow --layer "$spec" --algo "$a" --objective "$o" --top 1 --format csv 2>/dev/null |
          first_config)
        [ -n "$cfg" ] && printf '%s\t%s\t%s\n' "$a" "$cfg" "$spec" >>"$dir/jobs"
      done
    done
  done < <(awk -F, 'NR == 1 { for (i = 1; i <= NF; i++) key[i] = $i; next }
                   { s = ""; for (i = 1; i <= NF; i++) s = s (i > 1 ? "," : "") key[i] "=" $i; print s }' "$file")
  export -f random_job random_line
  export BUILD
  T xargs -P "${IOB_RANDOM_JOBS:-12}" -n 1 bash -c 'random_line "$0" "$1"' "$dir" \
    < <(seq 1 "$(wc -l <"$dir/jobs")")
  local rc=$? n
  n=$(wc -l <"$dir/jobs")
  cp "$dir/jobs" "$OUT/random-jobs.tsv"
  { head -1 "$(ls "$dir"/*.csv | head -1)"; for f in "$dir"/*.csv; do tail -n +2 "$f"; done; } \
    >"$OUT/run-random.csv" 2>/dev/null
  cat "$dir"/*.log | grep -v "^$" | sort | uniq -c | sort -rn | head -40
  note "$(count ',ok,' "$OUT/run-random.csv") of $n runs ok (csv: run-random.csv)"
  [ "$rc" -eq 0 ] && [ "$(count ',ok,' "$OUT/run-random.csv")" -eq "$n" ]
}

# Where the SM->L2 read over-prediction of the direct kernel comes from (issue 7, docs/counters.md):
# Nsight Compute on direct_conv of a few layers with the counters along the read path, each
# metric only if this ncu knows it; beside them the model's predicted sectors of the same config.
L1PROBE_LAYERS=(
  "name=resnet50.res2.3x3,n=1,c=64,h=56,k=64,r=3,pad=1"
  "name=vgg16.conv5_2,n=1,c=512,h=14,k=512,r=3,pad=1"
  "name=resnet50.conv1,n=1,c=3,h=224,k=64,r=7,stride=2,pad=3"
  "name=resnet50.res2.1x1a.n32,n=32,c=64,h=56,k=256,r=1"
)
L1PROBE_METRICS=(
  lts__t_sectors_srcunit_tex_op_read lts__t_requests_srcunit_tex_op_read
  lts__t_sectors_srcunit_tex_op_read_lookup_hit
  l1tex__t_requests_pipe_lsu_mem_global_op_ld l1tex__t_requests_pipe_lsu_mem_global_op_ldgsts
  l1tex__t_sectors_pipe_lsu_mem_global_op_ldgsts
  l1tex__t_sectors_pipe_lsu_mem_global_op_ldgsts_cache_bypass
  l1tex__t_sectors_pipe_lsu_mem_global_op_ldgsts_cache_access
  l1tex__m_xbar2l1tex_read_sectors l1tex__m_xbar2l1tex_read_sectors_mem_global_op_ldgsts
  l1tex__m_l1tex2xbar_req l1tex__m_l1tex2xbar_req_mem_global_op_ldgsts
  l1tex__t_sectors_pipe_lsu_mem_global_op_ld l1tex__t_sectors_pipe_lsu_mem_global_op_ld_lookup_hit
  sm__sass_inst_executed_op_ldgsts launch__grid_size launch__block_size launch__occupancy_limit_shared_mem
)
step_l1probe() {
  CUR=l1probe
  command -v ncu >/dev/null || { note "ncu not found"; return 1; }
  local known=() m l cfg rc=0
  ncu --query-metrics --chip gh100 >"$LOGS/ncu-metrics.txt" 2>&1
  cp "$LOGS/ncu-metrics.txt" "$OUT/ncu-query-metrics.txt"
  for m in "${L1PROBE_METRICS[@]}"; do
    if [[ $m == launch__* ]]; then known+=("$m")
    elif grep -qw -- "$m" "$LOGS/ncu-metrics.txt"; then known+=("$m.sum")
    else echo "ncu does not know $m"; fi
  done
  local list
  list=$(IFS=,; echo "${known[*]}")
  : >"$OUT/l1probe.csv"
  : >"$OUT/l1probe-pred.csv"
  # IOB_L1PROBE_JOBS: a file of "ALGO<TAB>CONFIG<TAB>SPEC" lines (else the layers above, direct, best)
  local jobs=$LOGS/l1probe-jobs.tsv a
  if [ -n "${IOB_L1PROBE_JOBS:-}" ]; then cp "$SRC/$IOB_L1PROBE_JOBS" "$jobs"
  else for l in "${L1PROBE_LAYERS[@]}"; do printf 'direct\tbest\t%s\n' "$l"; done >"$jobs"; fi
  while IFS=$'\t' read -r a cfg l; do
    [ -z "$a" ] && continue
    cfg=$(iob dataflow --layer "$l" --algo "$a" --config "$cfg" --format csv </dev/null | tee -a "$OUT/l1probe-pred.csv" |
      first_config)
    echo "== $a $l: $cfg"
    T ncu --metrics "$list" -k "regex:direct_conv|im2col_band|im2win_window" --cache-control all \
      --clock-control none --csv --page raw "$BUILD/iobound" run --layer "$l" --algo "$a" \
      --config "$cfg" --reps 1 --warmup 0 --no-baseline </dev/null >>"$OUT/l1probe.csv" \
      2>>"$LOGS/l1probe-ncu.err" || rc=1
  done <"$jobs"
  tail -5 "$LOGS/l1probe-ncu.err"
  note "${#known[@]} metrics on $(grep -c . "$jobs") runs (csv: l1probe.csv, l1probe-pred.csv)"
  return "$rc"
}

step_tune() {
  CUR=tune
  # IOB_TUNE_RESUME: an earlier run's records; tune skips the layers already there
  [ -n "${IOB_TUNE_RESUME:-}" ] && cp "$SRC/$IOB_TUNE_RESUME" "$OUT/tune-h100.jsonl"
  T "$BUILD/iobound" tune --layers "$SRC/bench/layers/gpu-layers.csv" --compare random \
    ${IOB_TUNE_ARGS:-} --db "$LOGS/tune-db.json" -o "$OUT/tune-h100.jsonl"
  local rc=$?
  cp "$LOGS/tune-db.json" "$OUT/" 2>/dev/null
  note "$(grep -c . "$OUT/tune-h100.jsonl" 2>/dev/null) records (tune-h100.jsonl)"
  return "$rc"
}

# The tuner against exhaustive search (issue 9): every feasible direct config of four small layers
# (bench/layers/tiny-exhaustive.csv, 279-1080 configs each) measured, beside the tuner's K and a
# random search with the same budget.
step_exhaustive() {
  CUR=exhaustive
  T "$BUILD/iobound" tune --layers "$SRC/${IOB_EXHAUSTIVE_LAYERS:-bench/layers/tiny-exhaustive.csv}" \
    --algo direct --compare exhaustive,random --db "$LOGS/tune-db-exhaustive.json" \
    -o "$OUT/tune-exhaustive.jsonl"
  local rc=$?
  note "$(grep -c . "$OUT/tune-exhaustive.jsonl" 2>/dev/null) records (tune-exhaustive.jsonl)"
  return "$rc"
}

step_tune12() {
  CUR=tune12
  # shellcheck disable=SC2086
  T "$BUILD/iobound" tune --layers "$SRC/bench/layers/im2win-12.csv" ${IOB_TUNE_ARGS:-} \
    --db "$LOGS/tune-db.json" -o "$OUT/tune-im2win12.csv"
  local rc=$?
  cp "$LOGS/tune-db.json" "$OUT/" 2>/dev/null
  note "$(grep -vc '^#' "$OUT/tune-im2win12.csv" 2>/dev/null) lines (csv: tune-im2win12.csv)"
  return "$rc"
}

step_validate() {
  CUR=validate
  T "$BUILD/iobound" validate --layers "$SRC/bench/layers/gpu-layers.csv" \
    --algo "$(echo "${IOB_ALGOS:-direct winograd}" | tr ' ' ',')" --configs best ${IOB_VALIDATE_ARGS:---no-sim} \
    -o "$OUT/validate-h100.csv"
  local rc=$?
  note "$(grep -vc '^#' "$OUT/validate-h100.csv" 2>/dev/null) lines (csv: validate-h100.csv)"
  return "$rc"
}

# DRAM reads of one direct config as the batch grows (issue 7: vgg16.conv5_2 at batch 32 read 1.32x
# its compulsory bytes with a 35 MB working set in a 50 MiB L2).
DRAMPROBE_JOBS=(
  "conv5_2 algo=direct,tile_k=256,tile_p=14,tile_q=8,tile_c=8,micro_k=8,micro_p=1,micro_q=8,stages=2,split_c=1 8 12 16 20 24 28 32 40 48"
  "conv5_2 algo=direct,tile_k=128,tile_p=14,tile_q=8,tile_c=8,micro_k=8,micro_p=1,micro_q=8,stages=2,split_c=1 16 24 32"
  "conv5_2 algo=direct,tile_k=64,tile_p=14,tile_q=8,tile_c=8,micro_k=8,micro_p=1,micro_q=8,stages=2,split_c=1 16 24 32"
  "conv4_2 algo=direct,tile_k=256,tile_p=2,tile_q=28,tile_c=8,micro_k=8,micro_p=2,micro_q=4,stages=2,split_c=1 4 8 12 16 24 32"
)
step_dramprobe() {
  CUR=dramprobe
  local rc=0 j name cfg rest n hw tk hdr=1
  : >"$OUT/dramprobe.csv"
  for j in "${DRAMPROBE_JOBS[@]}"; do
    read -r name cfg rest <<<"$j"
    case $name in conv5_2) hw=14 ;; conv4_2) hw=28 ;; esac
    tk=${cfg#*tile_k=}; tk=${tk%%,*}
    for n in $rest; do
      T "$BUILD/iobound" measure --layer "name=vgg16.$name.n$n.tk$tk,n=$n,c=512,h=$hw,k=512,r=3,pad=1" \
        --algo direct --config "$cfg" --format csv </dev/null |
        { if [ $hdr = 1 ]; then cat; else tail -n +2; fi; } >>"$OUT/dramprobe.csv" || rc=1
      hdr=0
    done
  done
  note "$(grep -c direct_conv "$OUT/dramprobe.csv") kernels measured (csv: dramprobe.csv)"
  return "$rc"
}

# the 3x3 layers of bench/layers/gpu-layers.csv: name, C = K, H = W (batch 32 in tbest and wgemm)
GPU_3X3=("resnet50.res2.3x3 64 56" "resnet50.res3.3x3 128 28" "resnet50.res4.3x3 256 14"
         "resnet50.res5.3x3 512 7" "vgg16.conv1_2 64 224" "vgg16.conv2_2 128 112"
         "vgg16.conv3_2 256 56" "vgg16.conv4_2 512 28" "vgg16.conv5_2 512 14")

step_tbest() {
  CUR=tbest
  # the direct dataflow's least-traffic config (the 1.3x table of docs/results/dataflow.md) of each
  # 3x3 layer of the GPU set at batch 32, measured: its real SM<->L2 traffic against the bound
  local rc=0 l name c hw spec cfg hdr=1
  : >"$OUT/measure-tbest.csv"
  for l in "${GPU_3X3[@]}"; do
    read -r name c hw <<<"$l"
    spec="name=$name,n=32,c=$c,h=$hw,k=$c,r=3,pad=1"
    cfg=$(iob dataflow --layer "$spec" --algo direct --objective traffic --top 1 --format csv | first_config)
    [ -n "$cfg" ] || { rc=1; continue; }
    T "$BUILD/iobound" measure --layer "$spec" --algo direct --config "$cfg" --format csv </dev/null |
      { if [ $hdr = 1 ]; then cat; else tail -n +2; fi; } >>"$OUT/measure-tbest.csv" || rc=1
    hdr=0
  done
  note "$(grep -c ',(sum),' "$OUT/measure-tbest.csv") layers measured (csv: measure-tbest.csv)"
  return "$rc"
}

step_wnf() {
  CUR=wnf
  local rc=0 wm first=1
  : >"$OUT/run-wnf.csv"
  for wm in 4 2; do
    T "$BUILD/iobound" run --layers "$SRC/bench/layers/gpu-layers.csv" --algo winograd-nonfused \
      --config "wino_m=$wm" --format csv -o "$LOGS/run-wnf$wm.csv"
    if [ -s "$LOGS/run-wnf$wm.csv" ]; then
      if [ $first -eq 1 ]; then cat "$LOGS/run-wnf$wm.csv"; first=0; else tail -n +2 "$LOGS/run-wnf$wm.csv"; fi
    else rc=1; fi >>"$OUT/run-wnf.csv"
  done
  cat "$OUT/run-wnf.csv"
  note "$(count ',ok,' "$OUT/run-wnf.csv") runs ok (csv: run-wnf.csv)"
  return "$rc"
}

step_wgemm() {
  CUR=wgemm
  local rc=0 l name c hw h w m spec
  local specs=()
  for l in "${GPU_3X3[@]}"; do
    read -r name c hw <<<"$l"
    specs+=("name=${name#*.}.n32,n=32,c=$c,h=$hw,k=$c,r=3,pad=1")
  done
  T "$BUILD/bench/bench_wino_gemm" "${specs[@]}" | tee "$OUT/wino-gemm.csv" || rc=1
  # the same GEMMs on our direct kernel: alpha^2 = 36 groups of a 1x1 layer over the T tiles of
  # F(4x4) laid out as H x W, with the two configs the tuner picked for the 1x1 layers at batch 32
  : >"$OUT/wino-gemm-direct.csv"
  local cfgs=("tile_k=64,tile_p=4,tile_q=56,tile_c=32,micro_k=8,micro_p=2,micro_q=4,stages=1,split_c=1"
              "tile_k=64,tile_p=4,tile_q=8,tile_c=16,micro_k=8,micro_p=2,micro_q=4,stages=3,split_c=1")
  for l in "res3.3x3 128 28 56" "conv3_2 256 112 56" "conv4_2 512 28 56" "conv5_2 512 16 32"; do
    read -r name c h w <<<"$l"
    for m in "${cfgs[@]}"; do
      spec="name=$name.f4gemm,n=1,c=$((36 * c)),h=$h,w=$w,k=$((36 * c)),r=1,groups=36"
      T "$BUILD/iobound" run --layer "$spec" --algo direct --config "$m" --no-baseline \
        --check-samples 2000 --format csv </dev/null >>"$OUT/wino-gemm-direct.csv" || true
    done
  done
  cat "$OUT/wino-gemm-direct.csv"
  note "$(grep -c . "$OUT/wino-gemm.csv") lines (csv: wino-gemm.csv, wino-gemm-direct.csv)"
  return "$rc"
}

# ---- run -------------------------------------------------------------------------------------
for s in "${steps[@]}"; do
  case $s in
    info|build|ctest|smoke|measure|sanitizer|cudnn|algos|random|l1probe|tune|exhaustive|tune12|validate|wnf|dramprobe|wgemm|tbest) ;;
    *) echo "device.sh: unknown step '$s' (info build ctest smoke measure sanitizer cudnn algos random l1probe tune exhaustive tune12 validate wnf dramprobe wgemm tbest)" >&2; exit 2 ;;
  esac
  if [ "$s" != info ] && [ "$s" != build ] && [ ! -x "$BUILD/iobound" ]; then
    row "$s" skipped 0 "no build"
    continue
  fi
  run_step "$s" "$(case $s in info) echo 30 ;; build) echo 300 ;; ctest) echo 300 ;; cudnn) echo 240 ;; algos|tune|random|exhaustive) echo 240 ;; tune12) echo 150 ;; validate) echo 300 ;; *) echo 180 ;; esac)" "step_$s"
done

# ---- results ---------------------------------------------------------------------------------
cp "$SUMMARY" "$OUT/summary.txt"
tar -czf "$OUT/logs.tar.gz" -C "$LOGS" . 2>/dev/null
for s in "${steps[@]}"; do
  if grep -qE "^$s +(FAILED|TIMEOUT)" "$SUMMARY"; then
    echo "---- last lines of $s.log"
    tail -n 25 "$LOGS/$s.log" | cut -c1-200
  fi
done
echo "---- device.sh summary ($(($(date +%s) - START)) s; files in $OUT: $(ls "$OUT" | tr '\n' ' '))"
cat "$SUMMARY"
rm -rf "$LOGS"
grep -qE " (FAILED|TIMEOUT) " "$OUT/summary.txt" && exit 1
exit 0
