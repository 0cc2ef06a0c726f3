#!/usr/bin/env bash
# Fetches GSM8K (MIT, openai/grade-school-math: train.jsonl 7473 rows, test.jsonl 1319 rows)
# into ../shared/datasets/gsm8k beside the checkout, or $GSM8K_DIR — where the tests and the
# GSM8K configs look. Idempotent; each file is written to a temporary name, then renamed.
#
#   bash scripts/fetch-gsm8k.sh        # prints the directory when done
set -euo pipefail
cd "$(dirname "$0")/.."
DIR="${GSM8K_DIR:-../shared/datasets/gsm8k}"
BASE=https://raw.githubusercontent.com/openai/grade-school-math/master
mkdir -p "$DIR"
fetch() { # url, file, expected line count (0: any)
  [[ -s "$DIR/$2" ]] && return 0
  curl -fsSL --retry 2 --connect-timeout 10 --max-time 120 "$1" -o "$DIR/$2.part"
  local n
  n=$(wc -l <"$DIR/$2.part")
  if [[ "$3" != 0 && "$n" != "$3" ]]; then echo "fetch-gsm8k: $2 has $n lines, expected $3" >&2; exit 1; fi
  mv "$DIR/$2.part" "$DIR/$2"
}
fetch "$BASE/grade_school_math/data/train.jsonl" train.jsonl 7473
fetch "$BASE/grade_school_math/data/test.jsonl" test.jsonl 1319
fetch "$BASE/LICENSE" LICENSE 0
cd "$DIR" && pwd
