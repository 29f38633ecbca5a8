#!/usr/bin/env python3
"""Checks that rill's includes point one way (doc/architecture.md "Layout").

Every folder of trunk/src has a layer (LAYERS, bottom up). A file may include
a header of its own folder or of a folder on a lower layer; folders that share
a layer (rtmp and http) do not include each other. Between modules (X.c and
X.h of one folder are one module) the includes must not close a circle.

Headers are named by basename (every folder is on the include path), so a
basename must be unique in the tree. System headers (<...>) and quoted names
found nowhere in the tree (libraries' headers) are not ours and are skipped.

    python3 scripts/layering.py [--root trunk/src]

research/bench links objs/release/librill-net.a (core, protocol, app/net), so
its files may include only headers of those folders (and their own).

    python3 scripts/layering.py [--root trunk/src] [--bench research/bench]

Prints one line per problem, "file:line: what", and exits 1 when there is any.
"""
import argparse
import os
import re
import sys

# Bottom up. A folder not listed here is itself an error: a new wing must
# be given its place.
LAYERS = [
    ["core"],
    ["protocol"],
    ["app/conf"],
    ["app/net"],
    ["app/stream"],
    ["app/cluster"],
    ["app/session"],
    ["app/rtmp", "app/http"],
    ["app/hls"],
    ["app/api"],
    ["app/server"],
    ["main"],
]

# What librill-net.a holds, the only part of rill research/bench may use.
BENCH_LIB = ["core", "protocol", "app/net"]

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')
SOURCE = (".c", ".h")


def layer_of():
    return {folder: i for i, group in enumerate(LAYERS) for folder in group}


def scan(root):
    """(files, problems): files maps the path below root to its includes, a
    list of (line number, included name)."""
    files, problems = {}, []
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(filenames):
            if not name.endswith(SOURCE):
                continue
            path = os.path.relpath(os.path.join(dirpath, name), root)
            incs = []
            with open(os.path.join(root, path), encoding="utf-8", errors="replace") as f:
                for n, line in enumerate(f, 1):
                    m = INCLUDE.match(line)
                    if m:
                        incs.append((n, m.group(1)))
            files[path] = incs
    return files, problems


def module(path):
    return os.path.splitext(path)[0]


def check(root):
    layers = layer_of()
    files, problems = scan(root)
    shown = lambda p: os.path.join(root, p)

    by_base = {}
    for path in files:
        by_base.setdefault(os.path.basename(path), []).append(path)
    for base, paths in sorted(by_base.items()):
        if len(paths) > 1:
            problems.append("%s:1: header name %s is not unique (%s)" % (shown(paths[1]), base, ", ".join(paths)))

    folders = sorted({os.path.dirname(p) for p in files})
    for folder in folders:
        if folder not in layers:
            first = min(p for p in files if os.path.dirname(p) == folder)
            problems.append("%s:1: folder %s has no layer in scripts/layering.py LAYERS" % (shown(first), folder))

    # module -> {module it includes: (file, line)}
    edges = {}
    for path, incs in sorted(files.items()):
        src_dir = os.path.dirname(path)
        for line, name in incs:
            targets = by_base.get(os.path.basename(name))
            if not targets:
                continue            # a library's header
            target = targets[0]
            dst_dir = os.path.dirname(target)
            a, b = module(path), module(target)
            if a != b:
                edges.setdefault(a, {}).setdefault(b, (path, line))
            if src_dir == dst_dir or src_dir not in layers or dst_dir not in layers:
                continue
            ls, ld = layers[src_dir], layers[dst_dir]
            if ld > ls:
                problems.append('%s:%d: upward include "%s": %s (layer %d) may not use %s (layer %d)'
                                % (shown(path), line, name, src_dir, ls, dst_dir, ld))
            elif ld == ls:
                problems.append('%s:%d: sideways include "%s": %s and %s share layer %d and stay apart'
                                % (shown(path), line, name, src_dir, dst_dir, ls))

    for cycle in circles(edges):
        hops = []
        for i, a in enumerate(cycle):
            b = cycle[(i + 1) % len(cycle)]
            f, line = edges[a][b]
            hops.append("%s:%d includes %s" % (shown(f), line, b))
        problems.append("%s: include circle %s: %s" % (hops[0].split(" includes ")[0],
                        " -> ".join(cycle + [cycle[0]]), "; ".join(hops)))
    return problems, len(files)


def check_bench(bench, root):
    """research/bench includes only what librill-net.a holds."""
    if not bench or not os.path.isdir(bench):
        return []
    ours, _ = scan(root)
    where = {os.path.basename(p): os.path.dirname(p) for p in ours}
    files, problems = scan(bench)
    for path, incs in sorted(files.items()):
        for line, name in incs:
            folder = where.get(os.path.basename(name))
            if folder is not None and folder not in BENCH_LIB:
                problems.append('%s:%d: "%s" is in %s: research/bench links librill-net.a (%s) and nothing else'
                                % (os.path.join(bench, path), line, name, folder, ", ".join(BENCH_LIB)))
    return problems


def circles(edges):
    """One circle per strongly connected group of modules (Tarjan)."""
    index, low, on, stack, groups = {}, {}, set(), [], []
    counter = [0]
    nodes = sorted(set(edges) | {b for d in edges.values() for b in d})

    def visit(v):
        # iterative, so a deep graph cannot hit the recursion limit
        work = [(v, iter(sorted(edges.get(v, {}))))]
        index[v] = low[v] = counter[0]; counter[0] += 1
        stack.append(v); on.add(v)
        while work:
            node, it = work[-1]
            nxt = next(it, None)
            if nxt is not None:
                if nxt not in index:
                    index[nxt] = low[nxt] = counter[0]; counter[0] += 1
                    stack.append(nxt); on.add(nxt)
                    work.append((nxt, iter(sorted(edges.get(nxt, {})))))
                elif nxt in on:
                    low[node] = min(low[node], index[nxt])
                continue
            work.pop()
            if work:
                low[work[-1][0]] = min(low[work[-1][0]], low[node])
            if low[node] == index[node]:
                group = []
                while True:
                    w = stack.pop(); on.discard(w); group.append(w)
                    if w == node:
                        break
                if len(group) > 1:
                    groups.append(set(group))

    for v in nodes:
        if v not in index:
            visit(v)
    out = []
    for group in groups:
        out.append(path_in(group, edges))
    return sorted(out)


def path_in(group, edges):
    """A shortest circle through the group's first module (breadth first)."""
    start = min(group)
    prev, queue = {start: None}, [start]
    while queue:
        a = queue.pop(0)
        for b in sorted(edges.get(a, {})):
            if b not in group:
                continue
            if b == start:
                cycle = [a]
                while prev[cycle[-1]] is not None:
                    cycle.append(prev[cycle[-1]])
                return list(reversed(cycle))
            if b not in prev:
                prev[b] = a
                queue.append(b)
    return sorted(group)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    top = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
    ap.add_argument("--root", default=os.path.join(top, "trunk", "src"))
    ap.add_argument("--bench", default=os.path.join(top, "research", "bench"))
    args = ap.parse_args()
    root = os.path.relpath(args.root)
    problems, nfiles = check(root)
    problems += check_bench(os.path.relpath(args.bench), root)
    for p in problems:
        print(p)
    if problems:
        print("layering: %d problems in %d files" % (len(problems), nfiles))
        return 1
    print("layering: %d files, includes point one way, no circle; research/bench uses only %s"
          % (nfiles, ", ".join(BENCH_LIB)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
