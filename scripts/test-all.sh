#!/usr/bin/env bash
# Every test, with each crypto backend:
#   1. all features: both backends compiled in (aws-lc-rs is chosen), the axum extractor,
#      remote keys (and a real OpenID provider's tokens), the Redis store (against a real
#      redis-server, a six-node Redis Cluster and Redis Sentinel, each started by the tests);
#   2. rust-crypto alone (with the axum extractor, and the client side without tonic);
#   3. no backend at all: building a layer must fail with a ConfigError, not panic.
set -euo pipefail
cd "$(dirname "$0")/.."
# tests/lifecycle/redis.rs starts its own redis-server (and makes TLS certificates with
# openssl), tests/oidc_provider.rs a real OpenID provider on Node.js (its package from the
# npm registry): install what is missing from Debian's packages.
for need in redis-server:redis-server openssl:openssl node:nodejs npm:npm; do
  tool=${need%%:*} package=${need#*:}
  if ! command -v "$tool" >/dev/null; then
    echo "test-all: installing $package from Debian's packages (apt-get): the tests run a real redis-server (TLS certificates made by openssl) and a real OpenID provider on Node.js" >&2
    sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
    $sudo_ apt-get install -y -q "$package" >/dev/null 2>&1 ||
      { $sudo_ apt-get update -q >/dev/null && $sudo_ apt-get install -y -q "$package" >/dev/null; }
  fi
done
cargo test --all-features
cargo test --no-default-features --features rust-crypto,axum,client
cargo test --no-default-features --test no_backend
