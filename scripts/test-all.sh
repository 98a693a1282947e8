#!/usr/bin/env bash
# Every test, with each crypto backend:
#   1. all features: both backends compiled in (aws-lc-rs is chosen), the axum extractor;
#   2. rust-crypto alone;
#   3. no backend at all: building a layer must fail with a ConfigError, not panic.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo test --all-features
cargo test --no-default-features --features rust-crypto,axum
cargo test --no-default-features --test no_backend
