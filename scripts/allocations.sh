#!/usr/bin/env bash
# Where the heap allocations of a request come from (BENCHMARKS.md, "Under load"): the load
# server of scripts/load-test.sh under valgrind's DHAT, answering N requests over one
# keep-alive connection; prints the allocation sites, grouped by their first two frames,
# in allocations per request.
#
#   scripts/allocations.sh [MODE] [N]     # default: hs256, 2000 requests
#
# In mode `dpop` the server makes N proofs at start (not counted: their allocation sites
# are left out) and each request sends one.
set -euo pipefail
cd "$(dirname "$0")/.."
mode=${1:-hs256}
n=${2:-2000}
command -v valgrind >/dev/null || { echo "allocations: valgrind is needed (Debian package valgrind)"; exit 1; }
server_bin=$(cargo build -q --release --bench load_server --message-format=json |
  sed -n 's/.*"executable":"\([^"]*\)".*/\1/p' | tail -1)
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
PROOFS=$n MODE=$mode ADDR=127.0.0.1:0 WORKERS=1 valgrind -q --tool=dhat --num-callers=40 --dhat-out-file="$work/dhat.json" \
  "$server_bin" >"$work/log" 2>"$work/err" &
server=$!
for _ in $(seq 1 600); do grep -q '^listening' "$work/log" && break; sleep 0.2; done
python3 - "$(sed -n 's/^listening on //p' "$work/log")" "$(sed -n 's/^TOKEN=//p' "$work/log")" "$n" \
  "$(sed -n 's/^PROOFS_FILE=//p' "$work/log")" "$mode" <<'PY'
import http.client, sys, urllib.parse
url = urllib.parse.urlparse(sys.argv[1])
conn = http.client.HTTPConnection(url.hostname, url.port)
proofs = open(sys.argv[4]).read().split() if sys.argv[5].endswith("dpop") else None
for i in range(int(sys.argv[3])):
    if proofs:
        headers = {"Authorization": "DPoP " + sys.argv[2], "DPoP": proofs[i]}
    else:
        headers = {"Authorization": "Bearer " + sys.argv[2]}
    conn.request("GET", "/me", headers=headers)
    answer = conn.getresponse()
    answer.read()
    assert answer.status == 200, answer.status
PY
kill -TERM "$server"
wait "$server" 2>/dev/null || true
python3 - "$work/dhat.json" "$n" <<'PY'
import collections, json, re, sys
dhat = json.load(open(sys.argv[1]))
n = int(sys.argv[2])
skip = ("alloc::", "__rust", "malloc", "realloc", "RawVec", "raw_vec", "Counting", "core::ptr",
        "<alloc", "do_reserve", "grow_", "finish_grow", "memalign")
sites = collections.Counter()
for point in dhat["pps"]:
    # The proofs the server made at start are not a request's.
    if any("write_proofs" in dhat["ftbl"][i] for i in point["fs"]):
        continue
    names = []
    for i in point["fs"]:
        frame = dhat["ftbl"][i]
        match = re.search(r": (.*?) \(", frame)
        name = match.group(1) if match else frame
        if any(s in name for s in skip):
            continue
        names.append(re.sub(r"<[^<>]*>", "", re.sub(r"<[^<>]*>", "", name))[:90])
        if len(names) == 2:
            break
    sites[tuple(names)] += point["tbk"]
total = 0
for names, count in sites.most_common():
    if count / n < 0.45:
        break
    total += count / n
    print(f"{count / n:6.2f}  " + "  <-  ".join(names))
print(f"{total:6.2f}  in all, per request")
PY
