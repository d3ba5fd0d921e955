#!/usr/bin/env bash
# Model cost against atom count, dense vs sparse, one thread pinned to core 0; prints a Markdown table.
#   tests/benchmarks/model_scaling.sh [build-dir]
# Sparse fwd+bwd needs ~1.6 MB per atom (float32, default model): the 20 000-atom row is forward-only on 24 GB.
set -euo pipefail
BIN="${1:-$(dirname "$0")/../../build}/bin/ept_bench_model"
echo "| atoms | mode | pairs | graph (ms) | forward (ms) | forward+backward (ms) | fwd+bwd µs/atom | peak RSS growth (MB) |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|"
row() {
  taskset -c 0 "$BIN" "$@" | awk '{
    fb = ($6 == "nan" || $6 == "-nan") ? "–" : sprintf("%.1f", $6);
    pa = ($6 == "nan" || $6 == "-nan") ? sprintf("(fwd %.0f)", 1000*$5/$1) : sprintf("%.0f", 1000*$6/$1);
    printf "| %d | %s | %d | %.1f | %.1f | %s | %s | %.0f |\n", $1, $2, $3, $4, $5, fb, pa, $7}'
}
for n in 21 99 501; do row $n dense 3; done
for n in 21 99 501 1002 2001 5001 10002; do row $n sparse 3; done
row 10002 sparse 3 forward
row 20001 sparse 3 forward
