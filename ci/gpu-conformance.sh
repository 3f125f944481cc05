#!/usr/bin/env bash
# GPU conformance: every dequant kernel bit for bit against the oracles, every GEMV kernel
# against an f64 reference, upload paths and the kernel cache. Prints the table and writes
# the JSON to ${OUT_DIR:-.}/conformance-gpu.json. Exit 0 pass, 1 failures, 2 no GPU.
# A second pass (conformance-gpu-alt.json) takes the paths the dispatcher may not choose
# on this card for these layers: every K-major tensor-core kernel with two K splits (as
# thread-block clusters where they fit, docs/cuda.md), FP8 through the kernel that tests
# every chunk for NaN codes, AWQ through its own tensor-core kernels (which the
# dispatcher no longer picks at M > 8), FP4 at M > 8 on 14336 and 25601 rows through the
# four-row-group `x2r4` / `x2r4l` kernels instead of the small-block `x2s` ones (4 and 2
# warps), and GPTQ4 at M <= 8
# through the 4-warp 64-k kernel (`gptq4w4`) wherever the 64-k kernel runs (at M = 1 too:
# SAFEWEIGHTS_I4_PT=0 keeps GPTQ 4-bit off the persistent `i4wp` kernels), the GPTQ4
# family at M > 8 in 8-warp blocks where the main pass takes the 16-warp ones
# (SAFEWEIGHTS_MMA_W16=0), and FP4 at
# M = 1 through the kernels that load their activations per chunk instead of through the
# shared-memory ring (`wca` / `wa`), and FP4 at M > 8 on fewer than 8192 rows through the
# one-tile kernels instead of the K-split `x2r4k` ones, and the GPTQ4 family at M > 8
# through the kernels of layers too large for one wave of two-tile blocks (128-column
# `c2` blocks), and act-order's activation permute through the one-element-per-thread
# `gemv_permute_x` instead of the shared-memory `gemv_permute_x_sm`. A third (conformance-gpu-pt.json) takes FP4 at M = 1
# through the persistent kernels (`wcp` / `wp`) on every layer they fit, with 7 blocks, so
# that each block walks many tiles (the dispatcher takes them only on layers larger than
# the suite's), GPTQ 4-bit at M = 1 through the persistent `i4wp` kernels (which the main
# pass takes wherever they fit) in 7 blocks as well, and the GPTQ4 family at M > 8 through the two-tile kernel in 4-warp blocks
# (`gptq4q`, a tuning variant the dispatcher no longer takes), and FP4 at M > 8 through the
# one-column-group 8-warp `fp4ga` kernels on every layer (SAFEWEIGHTS_FP4_GA=1
# SAFEWEIGHTS_FP4_GA_W16=0: the small and padded layers, with K splits; the main pass
# takes the 16-warp ones on the layers of 4104 and 8200 rows). A fourth
# (conformance-gpu-nocl.json) takes the paths of a card where the split blocks do not run
# as clusters (SAFEWEIGHTS_GEMV_CLUSTER=0): the `_sk` kernels' twins with the finalize
# launch or their last-block sums (`_skf`) instead of the cluster sums, with FP4 at M > 8 on the
# one-column-group `fp4ga` kernels everywhere (SAFEWEIGHTS_FP4_GA=1: the 16-warp ones on
# these layers, two K splits through `gemv_finalize`). A fifth (conformance-gpu-c2.json)
# takes the GPTQ4 family at M > 8 through the 128-column blocks on every layer
# (SAFEWEIGHTS_MMA_BIG16=1): GPTQ4, AWQ and compressed-tensors int4 repacked on the
# chunk-major `c2mt` kernels, act-order on `c2t`, as the dispatcher does on layers too large
# for one wave of 64-column blocks (the alternate pass takes them with session 27's tail,
# `c2m` / `c2`: SAFEWEIGHTS_MMA_C2T=0). A sixth (conformance-gpu-tail.json) takes the
# GPTQ4-family M > 8 kernels with the tails they had before session 28
# (SAFEWEIGHTS_MMA_W16Q=0 SAFEWEIGHTS_MMA_C2T=0: `c1w16[_sk]` instead of `c1w16s[_sk]`,
# `c2` / `c2m` instead of `c2t` / `c2mt`), which the knobs still select for comparisons.
set -uo pipefail
. "$(dirname "$0")/gpu-env.sh"
OUT_DIR="${OUT_DIR:-.}"
mkdir -p "$OUT_DIR"
"$SW" conformance --gpu --out "$OUT_DIR/conformance-gpu.json" "$@"
main=$?
[ "$main" -eq 2 ] && exit 2
echo "---- alternate paths (SAFEWEIGHTS_MMA_SPLITS=2 SAFEWEIGHTS_I4_PT=0 SAFEWEIGHTS_MMA_W16=0 SAFEWEIGHTS_FP8_NANSCAN=0 SAFEWEIGHTS_AWQ_REPACK=0 SAFEWEIGHTS_FP4_SMALL=0 SAFEWEIGHTS_MMA_GPTQW4=1 SAFEWEIGHTS_FP4_XR=0 SAFEWEIGHTS_FP4_KSPLIT=0 SAFEWEIGHTS_MMA_BIG16=1 SAFEWEIGHTS_CT4_REPACK=0 SAFEWEIGHTS_FP4_GA=0 SAFEWEIGHTS_PERMUTE_SM=0 SAFEWEIGHTS_MMA_C2T=0) ----"
SAFEWEIGHTS_MMA_SPLITS=2 SAFEWEIGHTS_I4_PT=0 SAFEWEIGHTS_MMA_W16=0 SAFEWEIGHTS_FP8_NANSCAN=0 SAFEWEIGHTS_AWQ_REPACK=0 SAFEWEIGHTS_FP4_SMALL=0 SAFEWEIGHTS_MMA_GPTQW4=1 SAFEWEIGHTS_FP4_XR=0 SAFEWEIGHTS_FP4_KSPLIT=0 SAFEWEIGHTS_MMA_BIG16=1 SAFEWEIGHTS_CT4_REPACK=0 SAFEWEIGHTS_FP4_GA=0 SAFEWEIGHTS_PERMUTE_SM=0 SAFEWEIGHTS_MMA_C2T=0 "$SW" conformance --gpu --seed 2 \
  --out "$OUT_DIR/conformance-gpu-alt.json" 2>&1 | grep -E "FAIL|clusters|fp8|^GPU conformance|error"
alt=${PIPESTATUS[0]}
echo "---- persistent FP4 at M = 1, 4-warp two-tile GPTQ4 (SAFEWEIGHTS_FP4_PT=2 SAFEWEIGHTS_I4_PT=2 SAFEWEIGHTS_FP4_PT_BLOCKS=7 SAFEWEIGHTS_MMA_N2W4=1 SAFEWEIGHTS_FP4_GA=1 SAFEWEIGHTS_FP4_GA_W16=0) ----"
SAFEWEIGHTS_FP4_PT=2 SAFEWEIGHTS_I4_PT=2 SAFEWEIGHTS_FP4_PT_BLOCKS=7 SAFEWEIGHTS_MMA_N2W4=1 SAFEWEIGHTS_FP4_GA=1 SAFEWEIGHTS_FP4_GA_W16=0 "$SW" conformance --gpu --seed 3 \
  --out "$OUT_DIR/conformance-gpu-pt.json" 2>&1 | grep -E "FAIL|wcp|wp_|gptq4q|p4ga_|i4wp|^GPU conformance|error"
pt=${PIPESTATUS[0]}
echo "---- no clusters (SAFEWEIGHTS_GEMV_CLUSTER=0 SAFEWEIGHTS_FP4_GA=1) ----"
SAFEWEIGHTS_GEMV_CLUSTER=0 SAFEWEIGHTS_FP4_GA=1 "$SW" conformance --gpu --seed 4 \
  --out "$OUT_DIR/conformance-gpu-nocl.json" 2>&1 | grep -E "FAIL|c1w16|_sk|^GPU conformance|error"
nocl=${PIPESTATUS[0]}
echo "---- 128-column GPTQ4-family blocks at M > 8 on every layer (SAFEWEIGHTS_MMA_BIG16=1) ----"
SAFEWEIGHTS_MMA_BIG16=1 "$SW" conformance --gpu --seed 5 \
  --out "$OUT_DIR/conformance-gpu-c2.json" 2>&1 | grep -E "FAIL|_c2|^GPU conformance|error"
c2=${PIPESTATUS[0]}
echo "---- GPTQ4-family M > 8 tails before session 28 (SAFEWEIGHTS_MMA_W16Q=0 SAFEWEIGHTS_MMA_C2T=0) ----"
SAFEWEIGHTS_MMA_W16Q=0 SAFEWEIGHTS_MMA_C2T=0 "$SW" conformance --gpu --seed 6 \
  --out "$OUT_DIR/conformance-gpu-tail.json" 2>&1 | grep -E "FAIL|c1w16|_c2|^GPU conformance|error"
tail=${PIPESTATUS[0]}
[ "$main" -ne 0 ] && exit "$main"
[ "$alt" -ne 0 ] && exit "$alt"
[ "$pt" -ne 0 ] && exit "$pt"
[ "$nocl" -ne 0 ] && exit "$nocl"
[ "$c2" -ne 0 ] && exit "$c2"
exit "$tail"
