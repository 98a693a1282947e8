#!/usr/bin/env bash
# Load test on loopback (issue #23): the same one-route axum app (`GET /me`, the handler
# reads `sub` from the verified claims; benches/load_server.rs) with no layer and with the
# layer in several configurations, driven by wrk with valid tokens.
#
#   scripts/load-test.sh [SECONDS] [ROUNDS] [MODE...]   # default: 5 s a run, 5 rounds, every mode
#
# Modes: none none-rs256 none-rs256-mix none-dpop hs256 hs256-cached rs256 rs256-cached
# rs256-cached-mix hs256-revocation dpop introspection-cached (see benches/load_server.rs;
# the last is not run by default). The RS256 modes are
# compared with `none-rs256`, the bare server receiving an RS256 token (300 bytes more per
# request), the mix with `none-rs256-mix` (the bare server receiving the mix's requests from
# the same wrk script), the others with `none`. (`none-dpop`, the bare server receiving the DPoP requests, is there
# but not run by default: wrk's Lua, which sends each proof once, is slower than the bare
# server, so its runs are discarded as the load generator's; `dpop` is compared with `none`.) The modes run interleaved, round after round, so that the
# machine's drift hits them all alike. The server runs on one tokio worker pinned to CPU 0,
# wrk (one thread, 32 connections) on CPU 1.
#
# Each run also records the server's CPU time over the run (it must have had its core:
# below 90 % of the wall time, the run measured the load generator or a stalled machine),
# the steal time of CPU 0 (the hypervisor giving the core to someone else; above 2 % the run
# is not the server's), and the server's heap allocations per request. A run that fails
# either check is discarded, and said so; the ratio to `none` is taken per round, from the
# rounds whose `none` run was kept, and the table gives medians.
# Writes benches/results/load.json for scripts/bench-report.py --plots.
set -euo pipefail
cd "$(dirname "$0")/.."
secs=${1:-5}
rounds=${2:-5}
shift $(($# < 2 ? $# : 2))
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(none none-rs256 none-rs256-mix hs256 hs256-cached rs256 rs256-cached rs256-cached-mix hs256-revocation dpop)
[ "${modes[0]}" = none ] || modes=(none "${modes[@]}")

if ! command -v wrk >/dev/null; then
  echo "load-test: installing wrk from Debian's packages (apt-get): it is the load generator" >&2
  sudo_=""; [ "$(id -u)" = 0 ] || sudo_=sudo
  $sudo_ apt-get install -y -qq wrk >/dev/null 2>&1 ||
    { $sudo_ apt-get update -qq && $sudo_ apt-get install -y -qq wrk >/dev/null; }
fi
# benches/load_server.rs: a bench target that `cargo bench` leaves alone (bench = false).
# With `jwks` for the introspection mode (every mode runs the same binary).
server_bin=$(cargo build -q --release --features jwks --bench load_server --message-format=json |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
raw="$work/raw"
cat >"$work/mix.lua" <<'LUA'
-- One token after the other from the server's list, as many users would send them.
local tokens = {}
for line in io.lines(os.getenv("TOKENS_FILE")) do tokens[#tokens + 1] = line end
local i = 0
request = function()
  i = i % #tokens + 1
  return wrk.format("GET", "/me", { ["Authorization"] = "Bearer " .. tokens[i] })
end
LUA
cat >"$work/dpop.lua" <<'LUA'
-- The bound token with a fresh proof each time (RFC 9449): every proof is sent once.
local token = os.getenv("TOKEN")
local proofs = {}
for line in io.lines(os.getenv("PROOFS_FILE")) do proofs[#proofs + 1] = line end
local i = 0
request = function()
  i = i + 1
  return wrk.format("GET", "/me", { ["Authorization"] = "DPoP " .. token, ["DPoP"] = proofs[i] })
end
LUA

cpu0() { awk '$1 == "cpu0" { t = 0; for (i = 2; i <= NF; i++) t += $i; print t, $9 }' /proc/stat; }
cputime() { awk '{ print $14 + $15 }' "/proc/$1/stat"; }

for round in $(seq 1 "$rounds"); do
  for mode in "${modes[@]}"; do
    log="$work/server.log"
    MODE=$mode ADDR=127.0.0.1:0 WORKERS=1 taskset -c 0 "$server_bin" >"$log" &
    server=$!
    for _ in $(seq 1 300); do grep -q '^listening' "$log" && break; sleep 0.1; done
    token=$(sed -n 's/^TOKEN=//p' "$log")
    url=$(sed -n 's/^listening on //p' "$log")
    export TOKENS_FILE PROOFS_FILE TOKEN="$token"
    TOKENS_FILE=$(sed -n 's/^TOKENS_FILE=//p' "$log")
    PROOFS_FILE=$(sed -n 's/^PROOFS_FILE=//p' "$log")
    if [ "${mode%dpop}" != "$mode" ]; then
      how=(-s "$work/dpop.lua")
    elif [ "${mode%-mix}" != "$mode" ]; then
      how=(-s "$work/mix.lua")
      # Warm the cache with every token once, so the run measures hits, as a server
      # that has been up a while serves them.
      taskset -c 1 wrk -t1 -c4 -d1s "${how[@]}" "$url/me" >/dev/null
    else
      how=(-H "Authorization: Bearer $token")
    fi
    allocs_before=$(curl -s "$url/allocations")
    read -r total_before steal_before < <(cpu0)
    cpu_before=$(cputime "$server")
    out=$(taskset -c 1 wrk -t1 -c32 -d"${secs}s" --latency "${how[@]}" "$url/me")
    cpu_after=$(cputime "$server")
    read -r total_after steal_after < <(cpu0)
    allocs_after=$(curl -s "$url/allocations")
    kill "$server"; wait "$server" 2>/dev/null || true
    rm -f "$TOKENS_FILE" "$PROOFS_FILE"
    if echo "$out" | grep -q "Non-2xx"; then echo "$out"; echo "requests failed in mode $mode"; exit 1; fi
    ticks=$(getconf CLK_TCK)
    echo "$out" | awk -v round="$round" -v mode="$mode" -v secs="$secs" -v ticks="$ticks" \
      -v cpu=$((cpu_after - cpu_before)) -v steal=$((steal_after - steal_before)) \
      -v total=$((total_after - total_before)) -v allocs=$((allocs_after - allocs_before)) '
      /^Requests\/sec/ {rps=$2} $1=="50%" {p50=$2} $1=="99%" {p99=$2}
      / requests in / {requests=$1}
      END {
        share = cpu / ticks / secs; stolen = total ? steal / total : 0
        kept = (share >= 0.90 && stolen <= 0.02) ? "kept" : "discarded"
        printf "%s %s %s %s %s %.3f %.4f %.2f %s\n", round, mode, rps, p50, p99, share, stolen, allocs / requests, kept
      }' >>"$raw"
    echo "round $round: $(tail -1 "$raw")" >&2
  done
done

python3 - "$raw" "${modes[@]}" <<'PY'
import json, statistics, sys
rows = [l.split() for l in open(sys.argv[1])]
modes = sys.argv[2:]
def ms(v):  # wrk prints 241.00us / 1.05ms / 1.20s
    return float(v[:-2]) / 1000 if v.endswith("us") else float(v[:-2]) if v.endswith("ms") else float(v[:-1]) * 1000
kept = [r for r in rows if r[8] == "kept"]
for r in rows:
    if r[8] != "kept":
        print(f"discarded: round {r[0]} {r[1]}: server CPU {float(r[5]):.0%} of the wall time, CPU 0 stolen {float(r[6]):.1%}")
bases = {b: {r[0]: r for r in kept if r[1] == b} for b in ("none", "none-rs256", "none-rs256-mix", "none-dpop")}
def base_of(m):
    if m == "rs256-cached-mix" and "none-rs256-mix" in modes:
        return bases["none-rs256-mix"]
    if m.startswith("rs256") and "none-rs256" in modes:
        return bases["none-rs256"]
    if m == "dpop" and "none-dpop" in modes:
        return bases["none-dpop"]
    return bases["none"]
out = []
print(f"{'mode':<18}{'req/s':>9}{'vs none':>9}{'p50 ms':>8}{'p50/none':>9}{'p99 ms':>8}{'allocs/req':>11}{'rounds':>7}")
for m in modes:
    mine = [r for r in kept if r[1] == m]
    base = base_of(m)
    paired = [r for r in mine if r[0] in base]
    if not mine:
        print(f"{m:<18} every run discarded"); continue
    rps = statistics.median(float(r[2]) for r in mine)
    ratio = statistics.median(float(r[2]) / float(base[r[0]][2]) for r in paired) if paired else float("nan")
    p50 = statistics.median(ms(r[3]) for r in mine)
    p50_ratio = statistics.median(ms(r[3]) / ms(base[r[0]][3]) for r in paired) if paired else float("nan")
    p99 = statistics.median(ms(r[4]) for r in mine)
    allocs = statistics.median(float(r[7]) for r in mine)
    print(f"{m:<18}{rps:>9.0f}{ratio:>8.1%}{p50:>8.3f}{p50_ratio:>8.2f}×{p99:>8.3f}{allocs:>11.2f}{len(paired):>4}/{len([r for r in rows if r[1] == m])}")
    out.append({"name": m, "rps": round(rps), "vs_none": round(ratio, 3), "p50_ms": p50, "p50_vs_none": round(p50_ratio, 3),
                "p99_ms": p99, "allocations_per_request": allocs, "rounds": len(paired)})
json.dump(out, open("benches/results/load.json", "w"), indent=2)
PY
