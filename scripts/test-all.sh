#!/usr/bin/env bash
# Every test, with each crypto backend:
#   1. all features: both backends compiled in (aws-lc-rs is chosen), the axum extractor,
#      remote keys, the Redis store (against a real redis-server, a six-node Redis Cluster
#      and Redis Sentinel, each started by the tests);
#   2. rust-crypto alone (with the axum extractor, and the client side without tonic);
#   3. no backend at all: building a layer must fail with a ConfigError, not panic.
set -euo pipefail
cd "$(dirname "$0")/.."
# tests/lifecycle/redis.rs starts its own redis-server (and makes TLS certificates with
# openssl): install them from Debian's packages if missing.
for tool in redis-server openssl; do
  if ! command -v $tool >/dev/null; then
    echo "test-all: installing $tool from Debian's packages (apt-get): tests/lifecycle/redis.rs runs a real redis-server, with TLS certificates made by openssl" >&2
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get install -y -q $tool >/dev/null 2>&1 ||
      { $sudo_ apt-get update -q >/dev/null && $sudo_ apt-get install -y -q $tool >/dev/null; }
  fi
done
cargo test --all-features
cargo test --no-default-features --features rust-crypto,axum,client
cargo test --no-default-features --test no_backend
