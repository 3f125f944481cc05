#!/usr/bin/env bash
# GPU conformance: every dequant kernel bit for bit against the oracles, every GEMV kernel
# against an f64 reference, upload paths and the kernel cache. Prints the table and writes
# the JSON to ${OUT_DIR:-.}/conformance-gpu.json. Exit 0 pass, 1 failures, 2 no GPU.
set -uo pipefail
. "$(dirname "$0")/gpu-env.sh"
OUT_DIR="${OUT_DIR:-.}"
mkdir -p "$OUT_DIR"
"$SW" conformance --gpu --out "$OUT_DIR/conformance-gpu.json" "$@"
