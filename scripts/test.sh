#!/usr/bin/env bash
# Builds iobound and runs every test (ctest). Environment:
#   IOB_BUILD_DIR   build folder (default: build)
#   IOB_CMAKE_ARGS  extra CMake options, e.g. "-DIOB_WERROR=ON" or "-DIOB_SANITIZE=ON"
# Tests that need a GPU report SKIP (exit 77) on a machine without one.
set -euo pipefail
cd "$(dirname "$0")/.."
build=${IOB_BUILD_DIR:-build}
# shellcheck disable=SC2086
cmake -S . -B "$build" -G Ninja ${IOB_CMAKE_ARGS:-}
cmake --build "$build" -j "$(nproc)"
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export LSAN_OPTIONS=${LSAN_OPTIONS:-suppressions=$PWD/tests/lsan.supp:print_suppressions=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
ctest --test-dir "$build" --output-on-failure -j "$(nproc)"
