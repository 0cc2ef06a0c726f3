#!/usr/bin/env bash
# Builds the addon against every libtorch found on this machine — Debian's (system) and a
# Python torch installation (e.g. PyPI's 2.x CUDA build, used on CPU) — each in its own build
# folder, and runs the tensor-engine tests against each. The default build (native/build) is
# left alone. Sources that are absent are reported and skipped.
set -euo pipefail
cd "$(dirname "$0")/.."
root=$(pwd)
status=0
for source in system python; do
  if ! desc=$(TORCHFORGE_LIBTORCH=$source node native/find-libtorch.mjs describe 2>/dev/null); then
    echo "libtorch matrix: no $source libtorch here, skipped"
    continue
  fi
  work="$root/native/build-matrix/$source"
  mkdir -p "$work"
  cp -r native/binding.gyp native/find-libtorch.mjs native/src "$work/"
  ln -sfn "$root/node_modules" "$work/node_modules"
  addon="$work/build/Release/torchforge_native.node"
  if [ ! -f "$addon" ] || [ -n "$(find "$work/src" -newer "$addon" | head -1)" ]; then
    echo "libtorch matrix: building against $source libtorch: $desc"
    (cd "$work" && TORCHFORGE_LIBTORCH=$source npx node-gyp rebuild -j 2 >"$work/build.log" 2>&1) || {
      tail -30 "$work/build.log"; echo "libtorch matrix: build against $source libtorch FAILED"; status=1; continue; }
  fi
  echo "libtorch matrix: tensor-engine tests against $source libtorch"
  # Debian's libtorch has no MKL: under CI its packed-GEMM tests may skip (scripts/ci-skips.json).
  no_mkl=$([ "$source" = system ] && echo 1 || echo "${TORCHFORGE_CI_NO_MKL:-}")
  if ! out=$(TORCHFORGE_CI_NO_MKL="$no_mkl" TORCHFORGE_NATIVE="$addon" node scripts/run-tests.mjs tests/torch 2>&1); then
    echo "$out" | tail -40; echo "libtorch matrix: tests against $source libtorch FAILED"; status=1
  else
    echo "$out" | grep -E "^# (tests|pass|fail|skipped)|skip " || true
  fi
done
exit $status
