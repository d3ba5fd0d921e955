#!/usr/bin/env bash
# Pretraining throughput (atoms/s) on one process with 1 and 2 threads, and on 2 Gloo processes of 1 thread
# each (batches of the same total size, split between the processes); prints a Markdown table.
#   tests/benchmarks/training_throughput.sh CORPUS [steps] [build-dir]
# The default model size, complete-block objective, batches of 1 000 atoms; the first 5 steps are not timed.
set -euo pipefail
CORPUS="$1"
STEPS="${2:-40}"
EPT="${3:-$(dirname "$0")/../../build}/bin/ept"
WORK="$(mktemp -d)"
trap 'rm -rf "$WORK"' EXIT
COMMON=(--corpus "$CORPUS" --steps "$STEPS" --atoms-per-batch 1000 --validate-every 100000 --checkpoint-every 100000
        --validation-fraction 0.001)

rate() {  # atoms/s and s/step from metrics.jsonl, skipping the first 5 steps
  python3 - "$1" "$2" <<'PY'
import json, sys
lines = [json.loads(l) for l in open(sys.argv[1]) if '"loss"' in l]
timed = [l for l in lines if l["step"] > 5]
seconds = float(sys.argv[2]) * len(timed) / len(lines)
atoms = sum(l["atoms"] for l in timed)
print(f"{atoms / seconds:.0f} | {seconds / len(timed):.3f}")
PY
}

run() {  # label, then the command; times the whole run
  local label="$1"; shift
  local start end
  start=$(date +%s.%N); "$@" > /dev/null 2>&1; end=$(date +%s.%N)
  echo "| $label | $(rate "$WORK/run/metrics.jsonl" "$(python3 -c "print($end - $start)")") |"
  rm -rf "$WORK/run"
}

echo "| configuration | atoms/s | s/step |"
echo "|---|---:|---:|"
run "1 process, 1 thread" taskset -c 0 "$EPT" pretrain "${COMMON[@]}" --out "$WORK/run" --threads 1
run "1 process, 2 threads" "$EPT" pretrain "${COMMON[@]}" --out "$WORK/run" --threads 2
two_processes() {
  for r in 0 1; do
    WORLD_SIZE=2 RANK=$r EPT_STORE_FILE="$WORK/store" taskset -c $r "$EPT" pretrain "${COMMON[@]}" --out "$WORK/run" \
      --threads 1 &
  done
  wait
}
run "2 Gloo processes × 1 thread" two_processes
