#!/usr/bin/env bash
# The figures of docs/PERFORMANCE.md, in one go: the machine's sgemm ceiling; CARL steps at the
# small configuration on the native and wasm backends, each invocation followed by the PyTorch peer
# in the same run (same config, same threads, same environment); USE-lite at the paper's shape
# (batch 128, up to 128 tokens, EmoBank's sentences) whole and micro-batched; BERT-base against the
# peer at batch 16 × 128 and alone at batch 128 × 128; then USE-lite embedding.
#
#   bash pipelines/bench/run-comparison.sh [runs]  > bench.jsonl
#
# Every JSON line printed is one row of the tables; a row that fails prints {"failed": ...}. Run it
# on an otherwise idle machine. EMOBANK names EmoBank's CSV (carl data fetch emobank puts it in the
# data cache); without it the USE-lite rows use the bench's generated sentences.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
EMOBANK="${EMOBANK:-data/emobank/emobank.csv}"
SHAPE=(--layers 2 --hidden 128 --heads 2 --ffn 512 --vocab 30522 --seq 64 --batch 32 --steps 5 --threads 2)
BERT_BASE=(--layers 12 --hidden 768 --heads 12 --ffn 3072 --vocab 30522 --seq 128 --threads 2)
USE_LITE=(--model use-lite --batch 128 --seq 128 --steps 5 --threads 2)
[ -f "$EMOBANK" ] && USE_LITE+=(--data "$EMOBANK")

# One carl bench invocation: its JSON lines, or one {"failed": ...} line with its last error line.
bench() {
  local log
  log=$(mktemp)
  if npx tsx pipelines/bench/run-bench.ts "$@" 2> "$log" | grep "^{"; then :; else
    printf '{"failed":%s,"args":%s}\n' "$(tail -n 1 "$log" | python3 -c 'import json,sys; print(json.dumps(sys.stdin.read().strip()))')" \
      "$(python3 -c 'import json,sys; print(json.dumps(sys.argv[1:]))' "$@")"
  fi
  rm -f "$log"
}
load() { echo "{\"load_average\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"; }

echo "{\"machine\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"date\":\"$(date -u +%FT%TZ)\",\"OPENBLAS_CORETYPE\":\"${OPENBLAS_CORETYPE:-unset}\"}"
if cc -O2 pipelines/bench/peer/sgemm_peak.c -o /tmp/carl_sgemm_peak -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas 2>/dev/null; then
  OPENBLAS_NUM_THREADS=1 /tmp/carl_sgemm_peak
  OPENBLAS_NUM_THREADS=2 /tmp/carl_sgemm_peak
fi

# The small configuration (the first issue's), against the peer.
for run in $(seq "$RUNS"); do
  load
  bench --backend native "${SHAPE[@]}" --peer
done
# The same with OpenBLAS's AVX-512 kernels, for carl and for the peer alike (the peer inherits the
# environment): the machine's environment pins OPENBLAS_CORETYPE=Haswell.
for run in $(seq "$RUNS"); do
  OPENBLAS_CORETYPE=SkylakeX bench --backend native "${SHAPE[@]}" --peer
done
bench --backend wasm "${SHAPE[@]}" --peer

# USE-lite at the paper's shape: the whole batch at once, then as carl train runs it (auto), then
# each way of micro-batching by hand.
load
bench --backend native "${USE_LITE[@]}"
for run in $(seq "$RUNS"); do
  bench --backend native "${USE_LITE[@]}" --micro-batch auto
done
bench --backend native "${USE_LITE[@]}" --micro-batch 16 --memory keep
bench --backend native "${USE_LITE[@]}" --micro-batch 8 --memory recompute
bench --backend native "${USE_LITE[@]}" --micro-batch auto --profile --steps 1

# BERT-base: against the peer at batch 16 × 128, micro-batched to fit the wasm heap; then batch 128.
load
bench --backend native "${BERT_BASE[@]}" --batch 16 --steps 3 --micro-batch auto --peer
OPENBLAS_CORETYPE=SkylakeX bench --backend native "${BERT_BASE[@]}" --batch 16 --steps 3 --micro-batch auto --peer
bench --backend native "${BERT_BASE[@]}" --batch 16 --steps 1 --micro-batch auto --profile
bench --backend native "${BERT_BASE[@]}" --batch 128 --steps 1 --micro-batch auto

npx tsx pipelines/bench/run-bench.ts --backend native --embed --model use-lite | grep "^{"
npx tsx pipelines/bench/run-bench.ts --backend wasm --embed --model use-lite | grep "^{"
