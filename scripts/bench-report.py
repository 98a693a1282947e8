#!/usr/bin/env python3
"""Turns criterion's results (target/criterion) and the load test's results into the tables
and plots of BENCHMARKS.md.

    scripts/bench-report.py BACKEND            # per-request table for one crypto backend
    scripts/bench-report.py --plots            # SVG plots from benches/results/*.json
    scripts/bench-report.py --hostile          # the hostile-input table
    scripts/bench-report.py --revocation       # what the revocation check adds

The per-request table uses criterion's median for each benchmark and keeps the results in
benches/results/per-request-BACKEND.json so that the plots can be redrawn later.
Standard library only.
"""
import json
import pathlib
import sys

ROOT = pathlib.Path(__file__).resolve().parent.parent
CRITERION = ROOT / "target" / "criterion"
RESULTS = ROOT / "benches" / "results"
ALGS = ["HS256", "RS256", "ES256", "EdDSA"]
BENCHES = ["noop_service", "signature", "decode", "layer", "layer_cached"]
FLOOR = ["signature_keyed_once", "payload_base64", "claims_json", "extensions"]


def median_ns(alg, bench):
    est = json.loads((CRITERION / alg / bench / "new" / "estimates.json").read_text())
    return est["median"]["point_estimate"]


def fmt(ns):
    return f"{ns / 1000:.2f} µs" if ns >= 1000 else f"{ns:.0f} ns"


def per_request(backend):
    rows = {alg: {b: median_ns(alg, b) for b in BENCHES} for alg in ALGS}
    for alg in ALGS:
        if (CRITERION / alg / "layer_jwks" / "new" / "estimates.json").exists():
            rows[alg]["layer_jwks"] = median_ns(alg, "layer_jwks")
    if (CRITERION / "HS256_floor").exists():
        rows["HS256_floor"] = {b: median_ns("HS256_floor", b) for b in FLOOR}
    RESULTS.mkdir(parents=True, exist_ok=True)
    (RESULTS / f"per-request-{backend}.json").write_text(json.dumps(rows, indent=2) + "\n")
    print(f"Backend `{backend}`, criterion medians. *Net* = minus `noop_service` (building the")
    print("request and calling the no-op service), i.e. what the layer itself adds.\n")
    print("| alg | noop service | signature | jsonwebtoken::decode | layer | layer, net | net / decode | net / signature | cache hit, net | hit / layer |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for alg in ALGS:
        r = rows[alg]
        net = r["layer"] - r["noop_service"]
        hit = r["layer_cached"] - r["noop_service"]
        print(
            f"| {alg} | {fmt(r['noop_service'])} | {fmt(r['signature'])} | {fmt(r['decode'])} "
            f"| {fmt(r['layer'])} | {fmt(net)} | {net / r['decode']:.2f}× | {net / r['signature']:.2f}× "
            f"| {fmt(hit)} | {hit / net:.3f}× |"
        )
    if "HS256_floor" in rows:
        parts = rows["HS256_floor"]
        r = rows["HS256"]
        floor = sum(parts.values())
        net = r["layer"] - r["noop_service"]
        print("\nHS256, the floor: what any layer pays, each part measured alone (`HS256_floor`):\n")
        print("| HMAC, key schedule built once | base64url payload | serde_json `Claims` | extensions map | floor (sum) | floor / decode | floor / signature | layer net − floor |")
        print("|---|---|---|---|---|---|---|---|")
        print(
            f"| {fmt(parts['signature_keyed_once'])} | {fmt(parts['payload_base64'])} "
            f"| {fmt(parts['claims_json'])} | {fmt(parts['extensions'])} | {fmt(floor)} "
            f"| {floor / r['decode']:.2f}× | {floor / r['signature']:.2f}× | {fmt(net - floor)} |"
        )
    with_jwks = [alg for alg in ALGS if "layer_jwks" in rows[alg]]
    if with_jwks:
        print("\nThe same key, static or fetched from a JWKS (feature `jwks`):\n")
        print("| alg | layer, static key | layer, key from a JWKS | JWKS / static |")
        print("|---|---|---|---|")
        for alg in with_jwks:
            r = rows[alg]
            print(f"| {alg} | {fmt(r['layer'])} | {fmt(r['layer_jwks'])} | {r['layer_jwks'] / r['layer']:.2f}× |")


def hostile():
    """The hostile-input group: each input's median."""
    group = CRITERION / "hostile"
    print("| input | answered in (median) |")
    print("|---|---|")
    for case in sorted(p.name for p in group.iterdir() if (p / "new").exists()):
        est = json.loads((group / case / "new" / "estimates.json").read_text())
        print(f"| {case} | {fmt(est['median']['point_estimate'])} |")


def revocation():
    """The revocation group: the layer alone and with each store, in one run."""
    def med(group, bench):
        path = CRITERION / group / bench / "new" / "estimates.json"
        if not path.exists():
            return None
        return json.loads(path.read_text())["median"]["point_estimate"]

    print("| request | layer alone | + MemoryStore, 10k revoked | + RedisStore, 10k revoked (local copy) |")
    print("|---|---|---|---|")
    for alg, what in [("HS256", "HS256, verified"), ("RS256", "RS256, cache hit")]:
        group = f"revocation_{alg}"
        base = med(group, "layer")
        cells = [fmt(base)]
        for bench in ["layer_memory_10k", "layer_redis_10k"]:
            ns = med(group, bench)
            cells.append("not run" if ns is None else f"{fmt(ns)} (+{fmt(ns - base)}, {ns / base:.2f}×)")
        print(f"| {what} | " + " | ".join(cells) + " |")
    ask = med("revocation_redis", "ask_redis")
    propagation = med("revocation_redis", "propagation")
    if ask is not None:
        print(f"\nAsking Redis directly (one `MGET`, while the local copy is out of sync): {fmt(ask)}.")
        print(f"From `revoke` on one replica to the token refused by another: {fmt(propagation)}.")


def bars_svg(title, groups, series, unit, log=False):
    """A grouped bar chart: groups on the x axis, one bar per series."""
    import math

    width, height, left, bottom, top = 760, 360, 70, 40, 40
    values = [v for g in groups for v in g[1].values() if v > 0]
    vmax = max(values)
    vmin = min(values)
    scale = (lambda v: math.log10(v)) if log else (lambda v: v)
    lo = math.floor(scale(vmin)) if log else 0
    hi = math.ceil(scale(vmax)) if log else vmax * 1.1
    plot_h = height - bottom - top
    gw = (width - left - 20) / len(groups)
    bw = gw * 0.8 / len(series)
    colors = ["#4e79a7", "#f28e2b", "#e15759", "#76b7b2", "#59a14f", "#edc948"]
    out = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" font-family="sans-serif" font-size="12">',
        f'<rect width="{width}" height="{height}" fill="white"/>',
        f'<text x="{width / 2}" y="20" text-anchor="middle" font-size="15">{title}</text>',
    ]
    y = lambda v: top + plot_h * (1 - (scale(v) - lo) / (hi - lo))
    ticks = [10**e for e in range(lo, int(hi) + 1)] if log else [hi * i / 5 for i in range(6)]
    for t in ticks:
        out.append(f'<line x1="{left}" x2="{width - 20}" y1="{y(t):.1f}" y2="{y(t):.1f}" stroke="#ddd"/>')
        label = (fmt(t) if unit == "ns" else f"{t:,.0f}")
        out.append(f'<text x="{left - 6}" y="{y(t) + 4:.1f}" text-anchor="end">{label}</text>')
    for gi, (name, vals) in enumerate(groups):
        x0 = left + gi * gw + gw * 0.1
        for si, s in enumerate(series):
            v = vals.get(s)
            if not v or v <= 0:
                continue
            x = x0 + si * bw
            out.append(
                f'<rect x="{x:.1f}" y="{y(v):.1f}" width="{bw - 2:.1f}" height="{top + plot_h - y(v):.1f}" fill="{colors[si % len(colors)]}"/>'
            )
        out.append(f'<text x="{left + gi * gw + gw / 2:.1f}" y="{height - bottom + 16}" text-anchor="middle">{name}</text>')
    for si, s in enumerate(series):
        out.append(f'<rect x="{left + 10 + si * 125}" y="{height - 16}" width="10" height="10" fill="{colors[si % len(colors)]}"/>')
        out.append(f'<text x="{left + 24 + si * 125}" y="{height - 7}">{s}</text>')
    out.append("</svg>")
    return "\n".join(out) + "\n"


def plots():
    for path in sorted(RESULTS.glob("per-request-*.json")):
        backend = path.stem.removeprefix("per-request-")
        rows = json.loads(path.read_text())
        groups = [
            (alg, {
                "signature": r["signature"],
                "decode": r["decode"],
                "layer (net)": r["layer"] - r["noop_service"],
                "cache hit (net)": r["layer_cached"] - r["noop_service"],
            })
            for alg, r in rows.items()
            if alg in ALGS
        ]
        svg = bars_svg(f"Per-request cost, {backend} (log scale, lower is better)", groups,
                       ["signature", "decode", "layer (net)", "cache hit (net)"], "ns", log=True)
        (RESULTS / f"per-request-{backend}.svg").write_text(svg)
        print(f"wrote {RESULTS / f'per-request-{backend}.svg'}")
    load = RESULTS / "load.json"
    if load.exists():
        runs = json.loads(load.read_text())
        groups = [(r["name"], {"requests/s": r["rps"]}) for r in runs]
        svg = bars_svg("Throughput under load (wrk, loopback, higher is better)", groups, ["requests/s"], "rps")
        (RESULTS / "load.svg").write_text(svg)
        print(f"wrote {RESULTS / 'load.svg'}")


if __name__ == "__main__":
    if sys.argv[1:] == ["--plots"]:
        plots()
    elif sys.argv[1:] == ["--revocation"]:
        revocation()
    elif sys.argv[1:] == ["--hostile"]:
        hostile()
    elif len(sys.argv) == 2:
        per_request(sys.argv[1])
    else:
        sys.exit(__doc__)
