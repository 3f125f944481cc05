#!/usr/bin/env bash
# The one GPU job. Builds nothing (the binary is built elsewhere and shipped next to this
# script, or found on PATH): conformance, then the bench (only if conformance passed),
# then the perf gate against benches/baseline-<gpu>.json, then a short table last.
set -uo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
. "$HERE/gpu-env.sh"
OUT_DIR="${OUT_DIR:-.}"
mkdir -p "$OUT_DIR"
nvidia-smi --query-gpu=name,driver_version,memory.total,clocks.sm,clocks.mem --format=csv 2>&1 | tee "$OUT_DIR/nvidia-smi.txt"

OUT_DIR="$OUT_DIR" bash "$HERE/gpu-conformance.sh" | tee "$OUT_DIR/conformance.txt"
conf=${PIPESTATUS[0]}
if [ "$conf" -ne 0 ]; then
  echo "gpu.sh: conformance failed (exit $conf); bench and gate skipped"
  exit "$conf"
fi

# Clocks, power and the driver's clock-event (throttle) reasons every 100 ms during the
# bench, read-only, to tell a slow entry caused by the card from one caused by a kernel.
nvidia-smi --query-gpu=timestamp,clocks.sm,clocks.mem,power.draw,temperature.gpu,clocks_event_reasons.active \
  --format=csv -lms 100 > "$OUT_DIR/clocks.csv" 2>/dev/null &
sampler=$!
"$SW" bench --gpu --out "$OUT_DIR/bench.json" | tee "$OUT_DIR/bench.txt"
b=${PIPESTATUS[0]}
kill "$sampler" 2>/dev/null
wait "$sampler" 2>/dev/null
[ "$b" -ne 0 ] && { echo "gpu.sh: bench failed (exit $b)"; exit "$b"; }

gpu=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["gpu"])' "$OUT_DIR/bench.json" 2>/dev/null || echo unknown)
BASE="${BASELINE_DIR:-$HERE/../benches}/baseline-$gpu.json"
gate=0
if [ -f "$BASE" ]; then
  bash "$HERE/perf-gate" "$BASE" "$OUT_DIR/bench.json" > "$OUT_DIR/gate.txt" 2>&1
  gate=$?
else
  echo "gpu.sh: no baseline $BASE; gate skipped (commit $OUT_DIR/bench.json as the baseline)" > "$OUT_DIR/gate.txt"
fi

echo "================ summary ================"
grep -E "^(dq_|upload|nvrtc|gemv:)" "$OUT_DIR/conformance.txt" | awk '{printf "%-22s %s\n", $1, $NF}' | sort -u | head -40
grep -E "^ceilings" "$OUT_DIR/bench.txt"
grep -E "^gemv/.*/(8192x8192|28672x8192)/m(1|16) " "$OUT_DIR/bench.txt" | head -40
tail -3 "$OUT_DIR/gate.txt"
exit "$gate"
