#!/usr/bin/env bash
# docs/RESULTS.md, reproduced: base USE-lite against CARL-trained USE-lite and its two ablations
# (w/o TP = --no-ptd, w/o MCCL = --no-mccl), each trained on EmoBank train with three seeds, then
# every model evaluated by one `carl eval`, and the table written from its results JSON.
#
#   bash pipelines/results/run-results.sh [data-dir] [out-dir]
#
# Every run's folder (run.json, metrics.jsonl, final/) stays under out-dir; a finished run is
# not repeated, so the script can be stopped and started again.
set -euo pipefail
cd "$(dirname "$0")/../.."

DATA_DIR="${1:-../shared/data}"
OUT="${2:-runs/results}"
STEPS="${STEPS:-150}"
BATCH="${BATCH:-16}"
LR="${LR:-1e-4}"
MAX_LENGTH="${MAX_LENGTH:-64}"
MAX_EXAMPLES="${MAX_EXAMPLES:-3000}"
SEEDS="${SEEDS:-1 2 3}"
BACKEND="${BACKEND:-auto}"
carl() { npx tsx bin/carl.ts "$@"; }

mkdir -p "$OUT"
models=(use-lite)
for seed in $SEEDS; do
  for variant in carl no-ptd no-mccl; do
    run="$OUT/$variant-seed$seed"
    flags=()
    [ "$variant" = no-ptd ] && flags+=(--no-ptd)
    [ "$variant" = no-mccl ] && flags+=(--no-mccl)
    if [ ! -f "$run/final/config.json" ]; then
      rm -rf "$run"
      echo "== training $run"
      start=$(date +%s)
      carl train --model use-lite --data "$DATA_DIR/emobank/emobank.csv" --steps "$STEPS" \
        --batch-size "$BATCH" --lr "$LR" --max-length "$MAX_LENGTH" --seed "$seed" \
        --backend "$BACKEND" --no-progress --out "$run" "${flags[@]}"
      echo "== $run: $(( $(date +%s) - start )) s"
    fi
    models+=("$run/final")
  done
done

model_flags=()
for model in "${models[@]}"; do model_flags+=(--model "$model"); done
echo "== evaluating ${#models[@]} models"
start=$(date +%s)
carl eval "${model_flags[@]}" --tasks va,mr,cr,sst5,ekman,align --data-dir "$DATA_DIR" \
  --max-examples "$MAX_EXAMPLES" --max-length "$MAX_LENGTH" --backend "$BACKEND" \
  --out "$OUT/results.json" --report "$OUT/report.html"
echo "== evaluation: $(( $(date +%s) - start )) s"
npx tsx pipelines/results/summarize-results.ts "$OUT/results.json" > "$OUT/RESULTS-table.md"
echo "== table: $OUT/RESULTS-table.md"
