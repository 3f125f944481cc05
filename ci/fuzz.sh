#!/usr/bin/env bash
# Fuzzing campaign of every target in fuzz/ (docs/fuzzing.md).
#
#   ci/fuzz.sh [SECONDS] [TARGET...]
#
# Installs cargo-fuzz when missing, builds the targets (nightly, ASan, overflow checks and
# debug assertions on), writes the generator seeds (examples/fuzz_seeds.rs), runs each
# target for SECONDS (default 60) with -rss_limit_mb=2048 -timeout=10 and its dictionary,
# at most FUZZ_PARALLEL (default 2) at a time, one process each, then minimizes each
# corpus with `cargo fuzz cmin` and prints a table. Exits non-zero when any target
# crashed, leaked, ran out of memory or timed out (artifacts in fuzz/artifacts/<target>/).
#
# Working corpora live in fuzz/work/<target>/ (or fuzz/$FUZZ_WORK/; ignored; they start from the committed
# corpus fuzz/corpus/<target>/, the regressions and the seeds). FUZZ_UPDATE_CORPUS=1
# then replaces the committed corpus with an edge-preserving subset of the minimized one
# (libFuzzer -set_cover_merge=1 -use_counters=0: every edge reached, hit counts ignored),
# which keeps fuzz/corpus/ small enough to commit and to replay in `cargo test`.
set -euo pipefail

SECS="${1:-60}"
[ "$#" -gt 0 ] && shift
ALL=(parse_header header_vs_full structured differential config quant_detect quant_bind tokenizer model_dir)
if [ "$#" -eq 0 ]; then TARGETS=("${ALL[@]}"); else TARGETS=("$@"); fi
PARALLEL="${FUZZ_PARALLEL:-2}"
RSS_MB="${FUZZ_RSS_MB:-2048}"
TIMEOUT="${FUZZ_TIMEOUT:-10}"
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
FUZZ="$ROOT/fuzz"
TRIPLE="$(rustc +nightly -vV | sed -n 's/^host: //p')"
BIN="${CARGO_TARGET_DIR:-$FUZZ/target}/$TRIPLE/release"
# Working corpora (FUZZ_WORK, relative to fuzz/, lets two campaigns run side by side).
WORK="${FUZZ_WORK:-work}"

dict_of() {
  case "$1" in
    config | model_dir) echo "$FUZZ/dict/config.dict" ;;
    quant_detect | quant_bind) echo "$FUZZ/dict/quant.dict" ;;
    tokenizer) echo "$FUZZ/dict/tokenizer.dict" ;;
    *) echo "$FUZZ/dict/safetensors.dict" ;;
  esac
}

command -v cargo-fuzz >/dev/null || cargo install cargo-fuzz
rustup toolchain list | grep -q nightly || rustup toolchain install nightly

echo "== seeds"
(cd "$ROOT" && cargo run --quiet --release --example fuzz_seeds -- "$FUZZ/seeds")
echo "== build"
(cd "$FUZZ" && cargo +nightly fuzz build -O)

mkdir -p "$FUZZ/logs"
run_one() {
  local t="$1" work="$FUZZ/$WORK/$1"
  mkdir -p "$work" "$FUZZ/artifacts/$t"
  for src in "$FUZZ/corpus/$t" "$FUZZ/regressions/$t" "$FUZZ/seeds/$t"; do
    [ -d "$src" ] && cp -n "$src"/* "$work"/ 2>/dev/null || true
  done
  # One rayon thread: one core per campaign.
  RAYON_NUM_THREADS=1 "$BIN/$t" "$work" \
    -max_total_time="$SECS" -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" \
    -dict="$(dict_of "$t")" -print_final_stats=1 \
    -artifact_prefix="$FUZZ/artifacts/$t/" >"$FUZZ/logs/$t.log" 2>&1 && rc=0 || rc=$?
  echo "$rc" >"$FUZZ/logs/$t.rc"
}

echo "== run ${TARGETS[*]} for ${SECS}s each, $PARALLEL at a time"
running=0
for t in "${TARGETS[@]}"; do
  run_one "$t" &
  running=$((running + 1))
  if [ "$running" -ge "$PARALLEL" ]; then
    wait -n || true
    running=$((running - 1))
  fi
done
wait || true

echo "== minimize"
for t in "${TARGETS[@]}"; do
  (cd "$FUZZ" && RAYON_NUM_THREADS=1 cargo +nightly fuzz cmin -O "$t" "$WORK/$t" -- \
    -rss_limit_mb="$RSS_MB" -timeout="$TIMEOUT" >"logs/$t.cmin.log" 2>&1) || echo "cmin $t failed"
  if [ "${FUZZ_UPDATE_CORPUS:-0}" = 1 ]; then
    rm -rf "$FUZZ/corpus/$t" && mkdir -p "$FUZZ/corpus/$t"
    RAYON_NUM_THREADS=1 "$BIN/$t" -set_cover_merge=1 -use_counters=0 -rss_limit_mb="$RSS_MB" \
      -timeout="$TIMEOUT" "$FUZZ/corpus/$t" "$FUZZ/$WORK/$t" >"$FUZZ/logs/$t.commit.log" 2>&1 ||
      echo "edge merge $t failed"
  fi
done

status=0
printf '\n| target | seconds | executions | exec/s | coverage (edges) | features | corpus after cmin (files / KiB) | committed (files / KiB) | crashes |\n'
printf '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |\n'
for t in "${TARGETS[@]}"; do
  log="$FUZZ/logs/$t.log"
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  eps=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  ft=$(grep -o 'ft: [0-9]*' "$log" | tail -1 | awk '{print $2}')
  files=$(find "$FUZZ/$WORK/$t" -type f | wc -l)
  kib=$(du -sk --apparent-size "$FUZZ/$WORK/$t" | cut -f1)
  cfiles=$(find "$FUZZ/corpus/$t" -type f 2>/dev/null | wc -l)
  ckib=$(du -sk --apparent-size "$FUZZ/corpus/$t" 2>/dev/null | cut -f1)
  crashes=$(find "$FUZZ/artifacts/$t" -type f | wc -l)
  rc=$(cat "$FUZZ/logs/$t.rc")
  [ "$rc" = 0 ] && [ "$crashes" = 0 ] || status=1
  printf '| %s | %s | %s | %s | %s | %s | %s / %s | %s / %s | %s |\n' "$t" "$SECS" "${execs:-?}" "${eps:-?}" "${cov:-?}" "${ft:-?}" "$files" "$kib" "$cfiles" "${ckib:-0}" "$crashes"
done
[ "$status" = 0 ] || echo "CRASHES: see fuzz/artifacts/ and fuzz/logs/" >&2
exit "$status"
