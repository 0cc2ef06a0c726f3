#!/usr/bin/env bash
# Tensor-engine benchmarks: each TS benchmark and its Python peer (Debian python3-torch, same
# libtorch) run as separate processes, interleaved, REPS times; bench/torch-report.ts prints
# the medians and TS/Python ratios. Python runs apples to apples with the TS library: OpenBLAS
# tuning variables unset (the addon clears them in-process) and 2 intra-op threads.
#   bash bench/run-torch-benchmarks.sh [results.jsonl]
# The raw results go to a temporary file unless a path is given; keep them out of the repository
# (BENCHMARKS.md holds the summaries, bench/reports/ the history).
# REPS (default 5) sets the repetitions; BENCHES (default "matmul small-op block logsoftmax rss")
# picks a subset. Other variables pass through to both sides (e.g. OMP_WAIT_POLICY=PASSIVE).
set -euo pipefail
cd "$(dirname "$0")/.."
TMP=${TMPDIR:-/tmp}
OUT=${1:-$TMP/torch-bench-$(date +%Y%m%d-%H%M%S).jsonl}
REPS=${REPS:-5}
BENCHES=${BENCHES:-matmul small-op block logsoftmax rss}
on() { [[ " $BENCHES " == *" $1 "* ]]; }
: >"$OUT"
ts() { node --import tsx "$@" >>"$OUT"; }
py() { env -u OPENBLAS_CORETYPE -u OPENBLAS_L2_SIZE /usr/bin/python3 "$@" 2>/dev/null >>"$OUT"; }
# The same Python peer with the environment as it is (OpenBLAS variables set), for reference.
py_env() { /usr/bin/python3 "$@" 2>/dev/null | sed 's/"side": "py"/"side": "py-env"/' >>"$OUT"; }

echo "# $(date -u)  $(nproc) cpus  $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2)  node $(node -v)" >&2
# The yardstick for matmul: this machine's measured fp32 FMA peak over all cores.
if on matmul; then
  gcc -O2 -mavx512f -mfma -pthread bench/fma-peak.c -o "$TMP/torchforge-fma-peak" && "$TMP/torchforge-fma-peak" "$(nproc)" >>"$OUT" ||
    echo "# fma-peak: could not build or run (needs gcc and AVX-512)" >&2
fi
for r in $(seq "$REPS"); do
  echo "# rep $r/$REPS  load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  if on matmul; then ts bench/torch-matmul.ts; py bench/torch-matmul.py; py_env bench/torch-matmul.py; fi
  if on small-op; then ts bench/torch-small-op.ts; py bench/torch-small-op.py; fi
  # Transformer block under each allocator, then the Python peer.
  if on block; then
    TORCHFORGE_CPU_ALLOCATOR=caching TORCHFORGE_HUGEPAGES=1 ts bench/torch-block.ts 6
    py bench/torch-block.py 6
    TORCHFORGE_CPU_ALLOCATOR=default ts bench/torch-block.ts 6
    TORCHFORGE_CPU_ALLOCATOR=caching TORCHFORGE_HUGEPAGES=0 ts bench/torch-block.ts 6
  fi
  # 524 MB logSoftmax, one process per allocator.
  if on logsoftmax; then
    TORCHFORGE_CPU_ALLOCATOR=default ts bench/torch-logsoftmax.ts
    TORCHFORGE_CPU_ALLOCATOR=caching TORCHFORGE_HUGEPAGES=1 ts bench/torch-logsoftmax.ts
    TORCHFORGE_CPU_ALLOCATOR=caching TORCHFORGE_HUGEPAGES=0 ts bench/torch-logsoftmax.ts
    py bench/torch-logsoftmax.py
  fi
done
# One long run each: the 10,000-step RSS loop (TS) and a shorter Python reference.
if on rss; then
  echo "# rss  load: $(cut -d' ' -f1-3 /proc/loadavg)" >&2
  ts bench/torch-rss.ts 10000
  ts bench/torch-rss.ts 10000 yield
  py bench/torch-rss.py 2000
fi
node --import tsx bench/torch-report.ts "$OUT"
echo "raw results: $OUT" >&2
