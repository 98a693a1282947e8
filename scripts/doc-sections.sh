#!/usr/bin/env bash
# docs.rs is the manual (issue #21): after `cargo doc --all-features`, check that every page
# still has the sections a user looks for. A section renamed or dropped fails here, so the
# README's promise ("the manual: getting started, defaults, rejections, …") stays true.
set -euo pipefail
cd "$(dirname "$0")/.."
doc=target/doc/tower_jwt_auth
missing=0
need() { # need PAGE SECTION-ID...
  page=$1; shift
  for id in "$@"; do
    grep -q "id=\"$id\"" "$doc/$page" || { echo "docs: $page has no section #$id"; missing=1; }
  done
}
need index.html getting-started tokens-from-an-openid-provider-in-axum \
  tokens-you-issue-with-a-shared-secret safe-defaults-and-how-to-relax-each the-manual \
  features in-production
need struct.JwtAuthBuilder.html options-and-their-defaults
need response/index.html the-answers answering-in-your-own-format-which-to-reach-for
need jwks/index.html getting-started defaults-jwksoptions-set-with-jwks_options \
  proxies-private-cas-your-own-http-client
need tenant/index.html identity-provider-presets other-shapes-claim-paths tenants-known-at-run-time
need revocation/index.html stores redis-propagation-outages-durability
need introspection/index.html getting-started local-verification-introspection-or-both signed-answers-rfc-9701 \
  what-is-kept-and-for-how-long
need issue/index.html access-tokens refresh-tokens
need dpop/index.html turning-it-on what-is-checked replay-caches issuing-bound-tokens
need metadata/index.html an-mcp-server
need authorize/index.html step-up-authentication-rfc-9470
need mtls/index.html how-the-layer-learns-the-certificate
need observability/index.html metrics the-jwt_auth-span logs
need axum/index.html getting-started the-example
need tonic/index.html getting-started
need service/index.html with-hyper-or-towerservicebuilder
[ "$missing" = 0 ] && echo "docs: every manual section is there"
exit "$missing"
