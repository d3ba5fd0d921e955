#!/usr/bin/env bash
# Model cost against atom count, dense vs sparse, one thread pinned to core 0; prints a Markdown table.
#   tests/benchmarks/model_scaling.sh [build-dir] [largest sparse size]
set -euo pipefail
BIN="${1:-$(dirname "$0")/../../build}/bin/ept_bench_model"
LARGEST="${2:-10002}"
echo "| atoms | mode | pairs | graph (ms) | forward (ms) | forward+backward (ms) | fwd+bwd µs/atom | peak RSS growth (MB) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
row() {
  taskset -c 0 "$BIN" "$@" | awk '{printf "| %d | %s | %d | %.1f | %.1f | %.1f | %.0f | %.0f |\n", $1, $2, $3, $4, $5, $6, 1000*$6/$1, $7}'
}
for n in 21 99 501; do row $n dense 3; done
for n in 21 99 501 1002 2001 5001 10002 20001; do
  [ "$n" -le "$LARGEST" ] && row $n sparse 3
done
