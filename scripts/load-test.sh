#!/usr/bin/env bash
# Load test on loopback: the same axum app without the layer, with HS256, RS256, and RS256
# with the token cache; wrk sends a valid token with every request.
#
#   scripts/load-test.sh [SECONDS] [ROUNDS]     # default: 5 s a run, 5 rounds
#
# The modes run interleaved, round after round, so that the machine's drift hits them all
# alike; the table gives medians, and each ratio is the median of the per-round ratios to
# `none`. The server runs on one tokio worker pinned to CPU 0, wrk on CPU 1 (this is a
# 2-core machine: the two must not fight over one core). Writes benches/results/load.json
# for scripts/bench-report.py --plots.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-5}

if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  apt-get update -qq && apt-get install -y -qq wrk >/dev/null
fi
# benches/load_server.rs: a bench target that `cargo bench` leaves alone (bench = false).
server_bin=$(cargo build -q --release --bench load_server --message-format=json |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)

raw=$(mktemp)
trap 'rm -f "$raw"' EXIT
for round in $(seq 1 "$rounds"); do
  for mode in none hs256 rs256 rs256-cached; do
    log=$(mktemp)
    MODE=$mode ADDR=127.0.0.1:0 WORKERS=1 taskset -c 0 "$server_bin" >"$log" &
    server=$!
    for _ in $(seq 1 50); do grep -q '^listening' "$log" && break; sleep 0.1; done
    token=$(sed -n 's/^TOKEN=//p' "$log")
    url=$(sed -n 's/^listening on //p' "$log")
    out=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" --latency -H "Authorization: Bearer $token" "$url/")
    kill "$server"; wait "$server" 2>/dev/null || true; rm -f "$log"
    if echo "$out" | grep -q "Non-2xx"; then echo "$out"; echo "requests failed in mode $mode"; exit 1; fi
    echo "$out" | awk -v round="$round" -v mode="$mode" '
      /^Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="90%" {p90=$2} $1=="99%" {p99=$2}
      END {print round, mode, rps, p50, p90, p99}' >>"$raw"
    echo "round $round: $(tail -1 "$raw")" >&2
  done
done

python3 - "$raw" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
modes = ["none", "hs256", "rs256", "rs256-cached"]
by = {m: [r for r in rows if r[1] == m] for m in modes}
base = {r[0]: float(r[2]) for r in by["none"]}
def ms(v):  # wrk prints 241.00us / 1.05ms
    return float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-2]) if v.endswith("ms") else float(v[:-1]) * 1000
out = []
print(f"{'mode':<14}{'requests/s':>12}{'vs none':>9}{'p50 ms':>9}{'p90 ms':>9}{'p99 ms':>9}")
for m in modes:
    rps = statistics.median(float(r[2]) for r in by[m])
    ratio = statistics.median(float(r[2]) / base[r[0]] for r in by[m])
    p = [statistics.median(ms(r[i]) for r in by[m]) for i in (3, 4, 5)]
    print(f"{m:<14}{rps:>12.0f}{ratio:>8.1%}{p[0]:>9.3f}{p[1]:>9.3f}{p[2]:>9.3f}")
    out.append({"name": m, "rps": round(rps), "vs_none": round(ratio, 3), "p50_ms": p[0], "p90_ms": p[1], "p99_ms": p[2], "rounds": len(by[m])})
json.dump(out, open("benches/results/load.json", "w"), indent=2)
PY
