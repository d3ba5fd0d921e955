#!/usr/bin/env bash
# Model cost against atom count, dense vs sparse, one thread pinned to core 0; prints a Markdown table with the
# fused pair kernels (ept/model/fused.h, what EPTForce runs) and the reference LibTorch ops side by side.
#   tests/benchmarks/model_scaling.sh [build-dir]
# The reference path keeps ~1.6 MB per atom for the backward pass (float32, default model): its 20 000-atom row
# would need ~32 GB and is skipped; the fused path needs ~0.25 MB per atom.
set -euo pipefail
BIN="${1:-$(dirname "$0")/../../build}/bin/ept_bench_model"
echo "| atoms | mode | pairs | graph (ms) | fused fwd (ms) | fused fwd+bwd (ms) | µs/atom | fused MB | reference fwd+bwd (ms) | reference MB | speed-up | memory ÷ |"
echo "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|"
run() { taskset -c 0 env OMP_NUM_THREADS=1 "$BIN" "$@"; }
row() {  # ATOMS MODE [skip-reference]
  local fused reference
  fused=$(run "$1" "$2" 3)
  if [ "${3:-}" = "skip-reference" ]; then reference="- - - - - nan nan"; else reference=$(run "$1" "$2" 3 reference); fi
  echo "$fused $reference" | awk '{
    ref = ($13 == "nan") ? "–" : sprintf("%.1f", $13);
    refmb = ($14 == "nan") ? "–" : sprintf("%.0f", $14);
    up = ($13 == "nan") ? "–" : sprintf("%.2f×", $13 / $6);
    mem = ($14 == "nan") ? "–" : sprintf("%.1f×", $14 / $7);
    printf "| %d | %s | %d | %.1f | %.1f | %.1f | %.0f | %.0f | %s | %s | %s | %s |\n",
           $1, $2, $3, $4, $5, $6, 1000 * $6 / $1, $7, ref, refmb, up, mem}'
}
for n in 21 99 501; do row $n dense; done
for n in 21 99 501 1002 2001 5001 10002; do row $n sparse; done
row 20001 sparse skip-reference
