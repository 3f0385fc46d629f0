#!/usr/bin/env bash
# docs/RESULTS.md, reproduced. On EmoBank train, at the paper's budget (batch 128, 2 epochs =
# 124 steps, max length 128, the best checkpoint chosen on EmoBank dev every 10 steps), three
# seeds each of:
#   plain          supervised VA regression (--plain), its learning rate chosen on dev (1e-4)
#   paper          CARL with the paper's settings exactly (--preset paper)
#   paper-no-ptd   the paper's "w/o TP" ablation
#   paper-no-mccl  the paper's "w/o MCCL" ablation
#   recipe         CARL with the recipe chosen on dev (carl train's default, --preset recipe: lr 1e-4
#                  and a supervised VA term of weight 10000 beside MCCL and PTD)
# and each run's best model, with base USE-lite, evaluated by `carl eval` (EVAL_TASKS; IMDB capped
# at 2,000 reviews per split). Then the tables: summarize-results.ts.
#
# Cost on the 2-core development machine (native backend, nothing else running, JOBS=2): the whole
# protocol took 2 h 7 min (7,643 s, 2026-12-06). Per job, beside the other: a recipe run about 13
# minutes, the paper's 10, w/o MCCL 12, w/o TP 7.5, a supervised run 6.5, an evaluation of every
# task 6–7.
#
#   bash pipelines/results/run-results.sh [emobank.csv] [out-dir] [data-dir]
#
# Resumable: a finished run or evaluation is not repeated; a run stopped part-way continues from
# its last checkpoint (--resume). VARIANTS and SEEDS choose a subset; EXTRA_TASKS adds tasks to
# evaluations already written; JOBS (default 2) runs that many jobs at once (below).
set -euo pipefail
cd "$(dirname "$0")/../.."

EMOBANK="${1:-data/emobank/emobank.csv}"
OUT="${2:-runs/results}"
DATA_DIR="${3:-${CARL_DATA_DIR:-$HOME/.cache/carl/data}}"
SEEDS="${SEEDS:-1 2 3}"
VARIANTS="${VARIANTS:-plain paper paper-no-ptd paper-no-mccl recipe}"
EVAL_TASKS="${EVAL_TASKS:-va,mr,cr,sst5,ekman,imdb,align}"
BACKEND="${BACKEND:-auto}"
JOBS="${JOBS:-2}"
case "$JOBS" in ''|*[!0-9]*|0) echo "run-results.sh: JOBS must be a whole number ≥ 1, got '$JOBS'" >&2; exit 2 ;; esac
carl() { npx tsx bin/carl.ts "$@"; }

flags_of() {
  case "$1" in
    plain) echo "--preset paper --plain --lr 1e-4" ;;
    paper) echo "--preset paper" ;;
    paper-no-ptd) echo "--preset paper --no-ptd" ;;
    paper-no-mccl) echo "--preset paper --no-mccl" ;;
    recipe) echo "--preset recipe" ;;
    recipe-no-ptd) echo "--preset recipe --no-ptd" ;;
    recipe-no-mccl) echo "--preset recipe --no-mccl" ;;
    *) echo "unknown variant $1" >&2; exit 2 ;;
  esac
}

evaluate() { # model, results file, tasks
  [ -f "$2" ] && return 0
  echo "== evaluating $1 on $3 ($(date -u +%T))"
  local start
  start=$(date +%s)
  carl eval --model "$1" --tasks "$3" --data-dir "$DATA_DIR" --max-examples imdb=2000 \
    --backend "$BACKEND" --workers "$THREADS" --out "$2" > "$2.log" 2>&1 || { echo "== evaluation of $1 failed: $(tail -n 1 "$2.log")"; return 1; }
  echo "== $1 evaluated in $(( $(date +%s) - start )) s"
}

# EXTRA_TASKS: tasks added to models already evaluated (e.g. EXTRA_TASKS=imdb after a run without
# it), in eval/extra/; summarize-results.ts merges them into each model's row.
evaluate_all() { # model, name
  evaluate "$1" "$OUT/eval/$2.json" "$EVAL_TASKS" || return 1
  if [ -n "${EXTRA_TASKS:-}" ]; then evaluate "$1" "$OUT/eval/extra/$2.json" "$EXTRA_TASKS" || return 1; fi
}

# One run and its evaluation; a failure is reported and returned, and the other jobs go on.
train_and_evaluate() { # variant, seed
  local variant=$1 seed=$2 flags run start
  flags=$(flags_of "$variant") || return 1
  run="$OUT/$variant-seed$seed"
  if [ ! -f "$run/final/config.json" ]; then
    local resume=()
    if [ -f "$run/checkpoints/latest" ]; then resume=(--resume); else rm -rf "$run"; fi
    echo "== training $run ($(date -u +%T))"
    start=$(date +%s)
    # shellcheck disable=SC2086  # $flags: several words
    carl train --model use-lite --data "$EMOBANK" --seed "$seed" --eval-every 10 --checkpoint-every 20 \
      --no-heads --no-progress --backend "$BACKEND" --out "$run" "${resume[@]}" $flags \
      >> "$run.log" 2>&1 || { echo "== $run failed: $(tail -n 1 "$run.log")"; return 1; }
    echo "== $run: $(( $(date +%s) - start )) s"
  fi
  evaluate_all "$run/best" "$variant-seed$seed"
}

# JOBS runs (or evaluations) at once, each on cores/JOBS threads (OPENBLAS_NUM_THREADS; carl eval's
# --workers). docs/RESULTS.md's tables come from the default, JOBS=2 on the 2-core machine: two
# one-thread jobs do about 1.7 times the CARL steps per second of one two-thread job (USE-lite's
# products are too small for OpenBLAS's second thread to pay), and about 1.1 times the embedding of
# an evaluation. OpenBLAS's sums depend on its thread count, so another JOBS (or core count) trains
# at a different float32 rounding: JOBS=1 against JOBS=2 moved the recipe's VA r by ≤ 1.4e-4 and
# probe accuracies by ≤ 0.19 points (seeds 1–2, docs/RESULTS.md).
THREADS=$(( $(nproc) / JOBS ))
[ "$THREADS" -ge 1 ] || THREADS=1
export OPENBLAS_NUM_THREADS=$THREADS
failed=0
running=0
reap_job() {
  wait -n || failed=$((failed + 1))
  running=$((running - 1))
}
start_job() {
  if [ "$running" -ge "$JOBS" ]; then reap_job; fi
  "$@" &
  running=$((running + 1))
}

# Every variant flags_of knows, the longest runs first: the job slots then finish together rather
# than with one long run alone at the end.
LONGEST_FIRST="recipe paper paper-no-mccl recipe-no-mccl recipe-no-ptd paper-no-ptd plain"
# Every variant checked before any job starts: a typo stops the script, not one job among several.
for variant in $VARIANTS; do
  flags_of "$variant" > /dev/null
  case " $LONGEST_FIRST " in *" $variant "*) ;; *) echo "run-results.sh: $variant is missing from LONGEST_FIRST" >&2; exit 2 ;; esac
done
mkdir -p "$OUT/eval/extra"
protocol_start=$(date +%s)
start_job evaluate_all use-lite use-lite
for variant in $LONGEST_FIRST; do
  case " $VARIANTS " in *" $variant "*) ;; *) continue ;; esac
  for seed in $SEEDS; do start_job train_and_evaluate "$variant" "$seed"; done
done
while [ "$running" -gt 0 ]; do reap_job; done
echo "== all jobs done in $(( $(date +%s) - protocol_start )) s ($JOBS at a time, $THREADS threads each); $failed failed"
npx tsx pipelines/results/summarize-results.ts "$OUT" > "$OUT/RESULTS-table.md"
echo "== tables: $OUT/RESULTS-table.md"
[ "$failed" -eq 0 ]
