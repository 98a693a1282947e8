#!/usr/bin/env python3
"""The import graph of src/: which module uses which, and whether it has a cycle.

    scripts/module-graph.py          # exits 1 and prints each cycle, if there is one
    scripts/module-graph.py --edges  # prints every edge, module -> modules it uses

A node is a file module (`verifier::jws`, `service`). An edge M -> T means M's code (tests
excluded) names an item of T: `use crate::…`, `super::…`, `self::…` or a path in an
expression. A name re-exported by a module (`pub use`) counts as a use of the module that
defines it, so `crate::AuthError` is a use of `error`, not of the crate root. Comments and
doc links are not uses.
"""
import re
import sys
from pathlib import Path

SRC = Path(__file__).resolve().parent.parent / "src"


def module_of(path: Path) -> tuple:
    parts = list(path.relative_to(SRC).with_suffix("").parts)
    if parts[-1] in ("mod", "lib"):
        parts.pop()
    return tuple(parts)


def code_of(text: str) -> str:
    # Unit tests sit at the end of a file, behind `#[cfg(test)]`; they are not the graph.
    text = re.split(r"\n#\[cfg\(test\)\]\s*\nmod ", text)[0]
    lines = []
    for line in text.splitlines():
        if line.lstrip().startswith("//"):
            continue
        lines.append(re.sub(r"\s//\s.*$", "", line))
    text = "\n".join(lines)
    # Strings and characters are not code: `"use at least 32 bytes;"` is no `use`.
    text = re.sub(r"'(?:\\.|[^'\\])'", "' '", text)
    text = re.sub(r'r#"(?s:.*?)"#', '""', text)
    return re.sub(r'(?s)"(?:\\.|[^"\\])*"', '""', text)


def expand(tree: str) -> list:
    """`a::{b, c::{d, e}}` -> [a::b, a::c::d, a::c::e]; `x as y` keeps `x`."""
    tree = re.sub(r"\s+", "", tree)
    out, depth, start, prefix_end = [], 0, 0, None
    if "{" not in tree:
        return [tree.split("as")[0] if "as" in tree.split("::")[-1] else tree]
    i = tree.index("{")
    prefix, inner = tree[:i], tree[i + 1 : tree.rindex("}")]
    items, depth, cur = [], 0, ""
    for ch in inner:
        if ch == "," and depth == 0:
            items.append(cur)
            cur = ""
            continue
        depth += ch == "{"
        depth -= ch == "}"
        cur += ch
    items.append(cur)
    for item in filter(None, items):
        out.extend(prefix + p for p in expand(item))
    return out


modules = {module_of(p): code_of(p.read_text()) for p in SRC.rglob("*.rs")}
# What each module re-exports: name -> the absolute path it names.
exports = {m: {} for m in modules}
uses = {m: [] for m in modules}


def absolute(module: tuple, path: str):
    segs = path.split("::")
    if segs[0] == "crate":
        return list(segs[1:])
    base = list(module)
    while segs and segs[0] in ("super", "self"):
        if segs.pop(0) == "super":
            base.pop()
    return base + segs


for m, code in modules.items():
    for vis, tree in re.findall(r"(?m)^\s*(pub(?:\([^)]*\))?\s+)?use\s+([^;]+);", code):
        for path in expand(tree):
            if not re.match(r"(crate|super|self)\b", path):
                continue
            full = absolute(m, path)
            uses[m].append(full)
            if vis:
                exports[m][full[-1]] = full
    body = re.sub(r"(?m)^\s*(pub(?:\([^)]*\))?\s+)?use\s+[^;]+;", "", code)
    for path in re.findall(r"\b((?:crate|super|self)(?:::\w+)+)", body):
        uses[m].append(absolute(m, path))
    # A child module named directly: `jws::parse(..)` in the module that declares `mod jws`.
    for child in re.findall(r"(?m)^\s*(?:pub(?:\([^)]*\))?\s+)?mod\s+(\w+);", code):
        if re.search(rf"(?<!::)\b{child}::\w", body):
            uses[m].append(list(m) + [child])


def resolve(full: list, seen=0):
    """The module that defines the item `full` names, or None (outside the crate)."""
    for n in range(len(full), -1, -1):
        if tuple(full[:n]) in modules:
            owner, rest = tuple(full[:n]), full[n:]
            break
    if rest and rest[0] in exports[owner] and seen < 10:
        return resolve(exports[owner][rest[0]] + rest[1:], seen + 1)
    return owner if owner else None


edges = {m: set() for m in modules}
for m, paths in uses.items():
    for full in paths:
        target = resolve(full)
        if target is not None and target != m:
            edges[m].add(target)

name = lambda m: "::".join(m) or "crate"
if "--edges" in sys.argv:
    for m in sorted(edges):
        print(f"{name(m)} -> {', '.join(sorted(map(name, edges[m])))}")

# Tarjan's strongly connected components: any with two modules or more is a cycle.
index, low, stack, on, cycles, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        scc = []
        while True:
            w = stack.pop()
            on.discard(w)
            scc.append(w)
            if w == v:
                break
        if len(scc) > 1:
            cycles.append(scc)


sys.setrecursionlimit(10000)
for v in sorted(edges):
    if v not in index:
        visit(v)
for scc in cycles:
    print("cycle:", " <-> ".join(sorted(map(name, scc))))
print(f"{len(modules)} modules, {sum(map(len, edges.values()))} edges, {len(cycles)} cycles")
sys.exit(1 if cycles else 0)
