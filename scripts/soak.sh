#!/usr/bin/env bash
# The soak run (tests/soak.rs): two replicas under load while Redis and the key server fail
# and heal, phase by phase; prints a table per phase and fails on any wrong accept.
#
#   scripts/soak.sh [SECONDS]    # default 36 (six phases of 6 s)
set -euo pipefail
cd "$(dirname "$0")/.."
SOAK_SECONDS=${1:-36} cargo test -q --all-features --test soak -- --ignored --nocapture
