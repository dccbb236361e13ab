#!/usr/bin/env bash
# Installs what iobound needs on a Debian machine (as root, or with sudo): a C compiler, CMake,
# Ninja, GSL, cJSON, cmocka, gnuplot, and pycachesim (PyPI, used only by a cross-check test).
# The CUDA toolkit (nvcc, NVRTC, cuDNN and CUPTI headers) is used when present; without it the
# GPU module is left out and everything else still builds and tests.
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
pkgs=(build-essential cmake ninja-build pkg-config libgsl-dev libcjson-dev libcmocka-dev gnuplot-nox python3)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  export DEBIAN_FRONTEND=noninteractive
  $SUDO apt-get update -qq
  $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
if ! python3 -c "import cachesim" 2>/dev/null; then
  python3 -m pip install --quiet pycachesim 2>/dev/null ||
    python3 -m pip install --quiet --break-system-packages pycachesim 2>/dev/null ||
    echo "setup: pycachesim not installed; its cross-check test will be skipped" >&2
fi
echo "setup: dependencies ready"
