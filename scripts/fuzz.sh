#!/usr/bin/env bash
# Runs every fuzz target for SECONDS each (default 60) and prints, per target, how long it
# ran and how many inputs it executed. Any crash fails the script and leaves the input in
# fuzz/artifacts/. Builds with the stable toolchain: libFuzzer's coverage instrumentation
# without a sanitizer (`-s none`; the crate forbids `unsafe`).
#
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail
cd "$(dirname "$0")/../fuzz"
secs=${1:-60}

if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "installing cargo-fuzz"
  cargo install --locked cargo-fuzz
fi
cargo fuzz build -s none
for target in extract verify jwks differential; do
  mkdir -p "corpus/$target"
  log=$(mktemp)
  # New inputs go to corpus/ (ignored by git); the committed seeds are read from seeds/.
  if ! cargo fuzz run -s none "$target" "corpus/$target" "seeds/$target" -- \
      -max_total_time="$secs" -print_final_stats=1 >"$log" 2>&1; then
    tail -40 "$log"
    echo "fuzz target $target crashed"
    exit 1
  fi
  runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  echo "fuzz target $target: ${secs} s, ${runs} executions, 0 crashes"
  rm -f "$log"
done
