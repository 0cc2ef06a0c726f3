#!/usr/bin/env bash
# The GPU check: on a machine with an NVIDIA GPU, a CUDA build of PyTorch for python3 and this
# repository (npm ci done), it
#   1. builds the addon against python3's torch with CUDA (and NCCL where its headers are found),
#   2. runs the device tests with their candidate on the GPU (TORCHFORGE_TEST_DEVICE=cuda:
#      ops, model forward, greedy/sampled generation, a train step, toDevice, pinned copies, a
#      one-rank NCCL group), then the tensor-engine and generation tests on the CPU with this build,
#   3. benchmarks decode and a train step against PyTorch eager on the same GPU
#      (bench/gpu-bench.ts vs bench/gpu_bench_torch.py),
#   4. runs 2 GRPO steps with services.*.with_gpus: true,
# and prints a summary table. Every step has a time limit; the whole check takes under 10 minutes.
# Without a GPU it stops at once with a message saying so (exit 2). Logs: $GPU_CHECK_DIR (default
# a fresh temp folder). The addon is built into native/build (the default build, replaced).
#
# Run: bash bench/gpu-check.sh
set -uo pipefail
cd "$(dirname "$0")/.."
die() { echo "gpu-check: $*" >&2; exit 2; }

# ---- 0. a GPU, or stop now --------------------------------------------------------------------
command -v nvidia-smi >/dev/null 2>&1 ||
  die "no NVIDIA GPU on this machine (nvidia-smi not found). This check needs an NVIDIA GPU with its driver and a CUDA build of PyTorch for python3; GPU support stays untested until it has run there."
gpus=$(nvidia-smi -L 2>/dev/null) && [ -n "$gpus" ] || die "nvidia-smi lists no GPU (driver not loaded, or no device visible to this container)."
python3 -c "import torch, sys; sys.exit(0 if torch.cuda.is_available() else 1)" 2>/dev/null ||
  die "python3's torch sees no CUDA device (torch.cuda.is_available() is False, or torch is missing): install a CUDA build of PyTorch (pip install torch)."
[ -d node_modules ] || die "node_modules is missing: run npm ci first."

out=${GPU_CHECK_DIR:-$(mktemp -d -t gpu-check.XXXXXX)}
mkdir -p "$out"
declare -a rows=()
status=0
t_all=$SECONDS
# step NAME LIMIT_S COMMAND...: runs COMMAND under a time limit, logs to $out/NAME.log, records a row.
step() {
  local name=$1 limit=$2
  shift 2
  local t0=$SECONDS rc
  echo "gpu-check: $name ..."
  timeout "$limit" "$@" >"$out/$name.log" 2>&1
  rc=$?
  local took=$((SECONDS - t0)) verdict=ok
  if [ $rc -ne 0 ]; then
    verdict=$([ $rc -eq 124 ] && echo "TIMEOUT" || echo "FAIL (rc $rc)")
    status=1
    tail -25 "$out/$name.log" | sed "s/^/  $name | /"
  fi
  rows+=("$(printf '%-22s %-14s %5ss  %s' "$name" "$verdict" "$took" "$out/$name.log")")
  return $rc
}

echo "gpu-check: $(echo "$gpus" | head -1); torch $(python3 -c 'import torch; print(torch.__version__, "CUDA", torch.version.cuda)'); logs in $out"

# ---- 1. build -----------------------------------------------------------------------------------
jobs=$(nproc 2>/dev/null || echo 4)
if ! step build 420 env TORCHFORGE_LIBTORCH=python TORCHFORGE_CUDA=1 npx node-gyp rebuild --directory native -j "$jobs"; then
  printf '%s\n' "${rows[@]}"
  die "the addon did not build against python3's torch with CUDA; see $out/build.log"
fi
probe=$(node --import tsx -e 'import { torch, distributed } from "./src/torch/index.ts"; console.log(JSON.stringify({ libtorch: torch.version(), cuda: torch.cuda.isAvailable(), devices: torch.cuda.deviceCount(), nccl: distributed.ncclAvailable() }))' 2>&1)
echo "gpu-check: addon $probe"
echo "$probe" | grep -q '"cuda":true' || die "the addon built, but torch.cuda.isAvailable() is false in it: $probe"

# ---- 2. tests -------------------------------------------------------------------------------------
step tests-cuda 180 env TORCHFORGE_TEST_DEVICE=cuda:0 node scripts/run-tests.mjs tests/torch/generic-kernels.test.ts tests/torch/device.test.ts
step tests-cpu 240 node scripts/run-tests.mjs tests/torch tests/generation

# ---- 3. benchmark: this library vs PyTorch eager, same GPU -------------------------------------------
step bench-torchforge 150 node --import tsx bench/gpu-bench.ts --device cuda:0 --model small --batch 16
step bench-pytorch 150 python3 bench/gpu_bench_torch.py --device cuda:0 --model small --batch 16

# ---- 4. GRPO, 2 steps on the GPU ---------------------------------------------------------------------
step grpo-2-steps 240 node --import tsx apps/grpo/main.ts --config apps/grpo/default.yaml output_dir="$out/grpo" \
  training.steps=2 lr_scheduler.warmup_steps=0 training.batch_size=32 grpo.n_samples=4 eval.num_prompts=16 \
  eval.eval_every_n_steps=2 checkpoint.interval=2 services.trainer.with_gpus=true services.generator.with_gpus=true
if ! grep -q "devices: trainer cuda:0, generator cuda:0" "$out/grpo-2-steps.log" 2>/dev/null; then
  echo "gpu-check: the GRPO run did not report its models on cuda:0"
  status=1
fi

# ---- summary --------------------------------------------------------------------------------------
echo
echo "gpu-check summary ($((SECONDS - t_all)) s; $(echo "$gpus" | head -1))"
printf '%-22s %-14s %6s  %s\n' step result time log
printf '%s\n' "${rows[@]}"
grep -hE "^# (tests|pass|fail)" "$out/tests-cuda.log" "$out/tests-cpu.log" 2>/dev/null | paste -sd' ' | sed 's/^/tests: /'
echo
printf '%-34s %16s %14s %14s\n' implementation "decode tok/s" "train ms/step" "train tok/s"
for f in bench-torchforge bench-pytorch; do
  line=$(grep -h '^{' "$out/$f.log" 2>/dev/null | tail -1)
  [ -n "$line" ] || { printf '%-34s %16s\n' "$f" "(no result)"; continue; }
  node -e 'const r = JSON.parse(process.argv[1]); console.log(`${r.impl.padEnd(34)} ${String(r.decodeTokPerS).padStart(16)} ${String(r.trainStepMs).padStart(14)} ${String(r.trainTokPerS).padStart(14)}`)' "$line"
done
echo "(small Llama shape, ~32M params, fp32; decode: batch 16 greedy, 64 tokens; train: 8 x 256 tokens, AdamW)"
grep -h "held-out greedy accuracy" "$out/grpo-2-steps.log" 2>/dev/null | sed 's/^/grpo: /'
[ $status -eq 0 ] && echo "gpu-check: PASSED" || echo "gpu-check: FAILED (see the logs above)"
exit $status
