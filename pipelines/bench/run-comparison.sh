#!/usr/bin/env bash
# The figures of docs/PERFORMANCE.md, in one go: the machine's sgemm ceiling, then CARL steps at the
# issue's configuration on the native and wasm backends, each invocation followed by the PyTorch
# peer in the same run (same config, same threads, same environment), then USE-lite embedding.
#
#   bash pipelines/bench/run-comparison.sh [runs]  > bench.jsonl
#
# Every JSON line printed is one row of the tables. Run it on an otherwise idle machine.
set -euo pipefail
cd "$(dirname "$0")/../.."
RUNS="${1:-3}"
SHAPE=(--layers 2 --hidden 128 --heads 2 --ffn 512 --vocab 30522 --seq 64 --batch 32 --steps 5 --threads 2)
bench() { npx tsx pipelines/bench/run-bench.ts "$@" | grep "^{"; }
bench_with_env() { env OPENBLAS_CORETYPE="$OPENBLAS_CORETYPE" npx tsx pipelines/bench/run-bench.ts "$@" | grep "^{"; }

echo "{\"machine\":\"$(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | xargs)\",\"cores\":$(nproc),\"date\":\"$(date -u +%FT%TZ)\",\"OPENBLAS_CORETYPE\":\"${OPENBLAS_CORETYPE:-unset}\"}"
if [ -f ../shared/bench/sgemm_peak.c ] && cc -O2 ../shared/bench/sgemm_peak.c -o /tmp/carl_sgemm_peak -I/usr/include/x86_64-linux-gnu/openblas-pthread -lopenblas 2>/dev/null; then
  OPENBLAS_NUM_THREADS=1 /tmp/carl_sgemm_peak
  OPENBLAS_NUM_THREADS=2 /tmp/carl_sgemm_peak
fi
for run in $(seq "$RUNS"); do
  echo "{\"load_average\":\"$(cut -d' ' -f1-3 /proc/loadavg)\"}"
  bench --backend native "${SHAPE[@]}" --peer
done
# The same with OpenBLAS's AVX-512 kernels, for carl and for the peer alike (the peer inherits the
# environment): the machine's environment pins OPENBLAS_CORETYPE=Haswell.
for run in $(seq "$RUNS"); do
  OPENBLAS_CORETYPE=SkylakeX bench_with_env --backend native "${SHAPE[@]}" --peer
done
bench --backend wasm "${SHAPE[@]}" --peer
bench --backend native "${SHAPE[@]}" --profile
npx tsx pipelines/bench/run-bench.ts --backend native --embed --model use-lite | grep "^{"
npx tsx pipelines/bench/run-bench.ts --backend wasm --embed --model use-lite | grep "^{"
