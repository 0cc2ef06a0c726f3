#!/usr/bin/env bash
# Idempotent setup for a fresh Debian/Ubuntu machine: system libtorch + OpenBLAS (OpenMP),
# node modules, and the native addon. Safe to run again; each step is skipped when done.
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" != 0 ]; then SUDO="sudo"; fi

need_apt=()
# libtorch is only needed from apt when no other libtorch was named (LIBTORCH) or found in Python.
if [ -z "${LIBTORCH:-}" ] && ! dpkg -s libtorch-dev >/dev/null 2>&1 \
   && ! python3 -c 'import torch' >/dev/null 2>&1; then
  need_apt+=(libtorch-dev)
fi
# Debian's libtorch calls BLAS through libblas.so.3; the reference BLAS it pulls in runs at
# ~6 GFLOP/s. OpenBLAS (OpenMP build) replaces it through the alternatives system.
dpkg -s libopenblas0-openmp >/dev/null 2>&1 || need_apt+=(libopenblas0-openmp)
# Debian's PyTorch for the same libtorch: golden values and side-by-side benchmarks.
dpkg -s python3-torch >/dev/null 2>&1 || need_apt+=(python3-torch)
# Gloo's headers: c10d's ProcessGroupGloo.hpp includes them (data-parallel training). Debian's
# libtorch links the matching libgloo0; PyPI's torch has Gloo inside libtorch_cpu.
dpkg -s libgloo-dev >/dev/null 2>&1 || need_apt+=(libgloo-dev)
# Multi-host actor transport (its tests skip without it).
command -v nats-server >/dev/null 2>&1 || need_apt+=(nats-server)
# Slurm + munge: tests/apps/slurm.test.ts starts its own single-node cluster (the packages' services
# stay unused). Without recommends: 8 packages, ~3.6 MB download, ~13 MB installed, ~11 s (with
# the recommended plugins: 35 packages, ~8.6 MB download, ~40 MB installed).
need_slurm=()
dpkg -s slurm-wlm >/dev/null 2>&1 || need_slurm+=(slurm-wlm)
dpkg -s munge >/dev/null 2>&1 || need_slurm+=(munge)
command -v g++ >/dev/null 2>&1 || need_apt+=(g++ make)
command -v python3 >/dev/null 2>&1 || need_apt+=(python3)

if [ ${#need_apt[@]} -gt 0 ]; then
  echo "setup: apt-get install ${need_apt[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi
if [ ${#need_slurm[@]} -gt 0 ]; then
  echo "setup: apt-get install --no-install-recommends ${need_slurm[*]}"
  [ ${#need_apt[@]} -gt 0 ] || $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${need_slurm[@]}" >/dev/null
fi

arch_triplet=$(gcc -dumpmachine 2>/dev/null || echo x86_64-linux-gnu)
for lib in libblas.so.3 liblapack.so.3; do
  alt="/usr/lib/${arch_triplet}/openblas-openmp/${lib}"
  if [ -e "$alt" ]; then
    current=$(readlink -f "/usr/lib/${arch_triplet}/${lib}" || true)
    if [ "$current" != "$(readlink -f "$alt")" ]; then
      $SUDO update-alternatives --set "${lib}-${arch_triplet}" "$alt" >/dev/null
    fi
  fi
done

# node modules: reinstall only when the lockfile changed since the last install.
if [ ! -d node_modules ] || [ package-lock.json -nt node_modules/.package-lock.json ]; then
  npm ci --no-audit --no-fund
fi

# Native addon: rebuild when any native source or the build script is newer than the binary.
addon=native/build/Release/torchforge_native.node
if [ ! -f "$addon" ] || [ -n "$(find native/src native/binding.gyp native/find-libtorch.mjs -newer "$addon" 2>/dev/null | head -1)" ]; then
  echo "setup: building the native addon (node-gyp)"
  npx node-gyp rebuild --directory native -j 2 >/tmp/torchforge-native-build.log 2>&1 || {
    tail -50 /tmp/torchforge-native-build.log; echo "setup: native build failed (full log: /tmp/torchforge-native-build.log)"; exit 1; }
fi
