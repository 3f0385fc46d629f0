#!/usr/bin/env bash
# The recipe search of docs/RESULTS.md: every candidate in pipelines/results/recipes/*.json (a
# configuration on top of the paper's: --preset paper --config <file>) trained once on EmoBank's
# train split at the paper's budget (batch 128, 2 epochs, max length 128), its dev valence–arousal
# probe measured every EVAL_EVERY steps. Files named plain*.json train the supervised baseline
# (--plain) with their settings. Only dev data decides: the summary ranks candidates by their best
# dev va.pearson (the mean of valence and arousal r).
#
#   bash pipelines/results/screen-recipes.sh [emobank.csv] [out-dir]
#   npx tsx pipelines/results/summarize-screen.ts runs/screen > runs/screen/screen.md
#
# A finished run (its final/ model written) is not repeated: stop and start it again at will.
set -euo pipefail
cd "$(dirname "$0")/../.."
DATA="${1:-data/emobank/emobank.csv}"
OUT="${2:-runs/screen}"
SEED="${SEED:-1}"
EVAL_EVERY="${EVAL_EVERY:-20}"
RECIPES="${RECIPES:-$(ls pipelines/results/recipes/*.json)}"
mkdir -p "$OUT"
for recipe in $RECIPES; do
  name=$(basename "$recipe" .json)
  run="$OUT/$name-seed$SEED"
  [ -f "$run/final/config.json" ] && continue
  rm -rf "$run"
  flags=()
  case "$name" in plain*) flags+=(--plain) ;; esac
  echo "== $run ($(date -u +%T))"
  start=$(date +%s)
  npx tsx bin/carl.ts train --preset paper --config "$recipe" --model use-lite --data "$DATA" --seed "$SEED" \
    --eval-every "$EVAL_EVERY" --no-progress --out "$run" "${flags[@]}" > "$run.log" 2>&1 || echo "== $run failed: $(tail -n 1 "$run.log")"
  echo "== $run: $(( $(date +%s) - start )) s"
done
