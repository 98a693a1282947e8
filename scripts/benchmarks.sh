#!/usr/bin/env bash
# Reproduces every figure of BENCHMARKS.md: per-request costs with each crypto backend,
# scaling with threads, throughput under load, and the plots. About 15 minutes.
set -euo pipefail
cd "$(dirname "$0")/.."
args=(--warm-up-time 1 --measurement-time 4)

echo "## per request, aws-lc-rs"
cargo bench -q --features jwks --bench verify -- "${args[@]}" >/dev/null
scripts/bench-report.py aws-lc-rs
echo
echo "## hostile input, aws-lc-rs"
scripts/bench-report.py --hostile
echo
echo "## per request, rust-crypto"
rm -rf target/criterion/*/layer_jwks # measured with aws-lc-rs only
cargo bench -q --no-default-features --features rust-crypto --bench verify -- "${args[@]}" >/dev/null
scripts/bench-report.py rust-crypto
echo
echo "## revocation (a redis-server is started if installed)"
cargo bench -q --features redis --bench revocation -- "${args[@]}" >/dev/null
scripts/bench-report.py --revocation
echo
echo "## scaling"
cargo bench -q --bench scaling
echo
echo "## load"
scripts/load-test.sh 5 5 2>/dev/null
scripts/bench-report.py --plots
