#!/usr/bin/env python3
"""Tables and plots from scripts/bench.sh's results (python3 stdlib + gnuplot).

    scripts/bench_report.py RESULTS.jsonl OUT.md IMG_DIR

RESULTS.jsonl has one line per step and run (kind, n, run, cpu_pct,
rss0_kb, rss1_kb, kbps, stalls, first_frame_ms_p50/p99, latency_ms_p50, ...).
Each figure is the median over the runs of a step. OUT.md keeps whatever is
outside the `<!-- bench:begin -->` / `<!-- bench:end -->` markers (the
hand-written analysis); the part between them is replaced. The plots go to
IMG_DIR/bench-gbps.png and IMG_DIR/bench-cpu.png.

Definitions:
  Gbit/s per core  = delivered bit/s (rill-bench's kbps) / (server CPU / 100 %)
  RSS per player   = (RSS with N players - RSS with the stream and no player) / N
  ratio vs nginx   = rill's Gbit/s per core / nginx-rtmp's, same N
  CPU vs floor     = server CPU / rill-floor CPU at the same N and bytes per second
  server waited %  = time the server was runnable but not running (/proc/PID/schedstat),
                     as a % of the window: other processes on its core (a shared machine)
  sends            = the server's send calls per second (sendto, sendmsg, writev, write and
                     io_uring requests, counted by `perf stat` in a window after the CPU window)
  CPU per send     = server CPU (its window) / sends per second, in microseconds
"""

import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import time

BEGIN, END = "<!-- bench:begin -->", "<!-- bench:end -->"
NAMES = {
    "rill-ll": "rill, low latency (`mw_latency 0`)",
    "rill-merged": "rill, merged writes (350 ms, default)",
    "nginx": "nginx-rtmp 1 worker",
    "peer": "peer (BENCH_PEER_CMD)",
    "base-ll": "base %s, low latency" % os.environ.get("BENCH_BASE_REV", "(BENCH_BASE)"),
    "base-merged": "base %s, merged writes" % os.environ.get("BENCH_BASE_REV", "(BENCH_BASE)"),
    "rill-http": "rill HTTP-FLV (merged)",
    "rill-edge": "rill edge (merged), players on the edge",
    "floor-40": "floor, one writev per 40 ms",
    "floor-350": "floor, one writev per 350 ms",
}
MAIN = ["rill-ll", "base-ll", "rill-merged", "base-merged", "nginx", "peer"]
FLOOR_OF = {"rill-ll": "floor-40", "rill-merged": "floor-350", "rill-http": "floor-350", "rill-edge": "floor-350"}


def load(path):
    rows = []
    with open(path) as f:
        for line in f:
            line = line.strip()
            if line:
                rows.append(json.loads(line))
    return rows


def med(values):
    v = [x for x in values if x is not None]
    return statistics.median(v) if v else None


def derive(r):
    """Per-run figures that need both CPU and bytes."""
    cpu = r.get("cpu_pct") or 0
    kbps = r.get("kbps")
    r["gbps_core"] = kbps * 1000 / (cpu / 100.0) / 1e9 if kbps and cpu > 0 else None
    r["rss_per_player_kb"] = (r["rss1_kb"] - r["rss0_kb"]) / r["n"] if r.get("n") else None
    r["mbps"] = kbps / 1000 if kbps is not None else None
    sends = r.get("sends_per_s")
    r["sends_per_player_s"] = sends / r["n"] if sends and r.get("n") else None
    r["us_per_send"] = cpu / 100.0 * 1e6 / sends if sends and cpu > 0 else None
    r["bytes_per_send"] = kbps * 1000 / 8 / sends if sends and kbps else None
    return r


def summarize(rows):
    """{(kind, n): {field: median, 'runs': k, 'spread': (min, max) of gbps_core}}"""
    groups = {}
    for r in rows:
        groups.setdefault((r["kind"], r["n"]), []).append(derive(r))
    out = {}
    for key, rs in groups.items():
        s = {"runs": len(rs)}
        for f in ("cpu_pct", "bench_cpu_pct", "wait_pct", "load1", "mbps", "gbps_core", "rss_per_player_kb", "first_frame_ms_p50",
                  "first_frame_ms_p99", "latency_ms_p50", "latency_ms_p99", "cold_first_frame_ms",
                  "sends_per_player_s", "us_per_send", "bytes_per_send"):
            s[f] = med([r.get(f) for r in rs])
        for f in ("stalls", "failed", "dropped"):
            vals = [r.get(f) for r in rs if r.get(f) is not None]
            s[f] = max(vals) if vals else None          # worst run: a stall in any run shows
        s["connected"] = min([r.get("connected") or 0 for r in rs])
        g = [r["gbps_core"] for r in rs if r.get("gbps_core") is not None]
        s["spread"] = (min(g), max(g)) if g else None
        s["dead"] = any(not r.get("alive", True) for r in rs)
        out[key] = s
    return out


def fmt(v, d=1, none="–"):
    if v is None:
        return none
    return "%.*f" % (d, v)


def kinds_in(summary, order):
    present = {k for (k, _) in summary}
    return [k for k in order if k in present]


def ns_of(summary, kind):
    return sorted(n for (k, n) in summary if k == kind)


def server_table(summary, kinds, cold=False):
    head = ["server", "players", "runs", "server CPU % of a core", "delivered Mbit/s", "Gbit/s per core (min–max)",
            "RSS per player KB", "first frame p50 / p99 ms"]
    if cold:
        head.append("cold edge first frame ms")
    head += ["latency p50 / p99 ms", "stalls", "failed", "rill-bench CPU %", "server waited % / load"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for kind in kinds:
        for n in ns_of(summary, kind):
            s = summary[(kind, n)]
            sp = " (%s–%s)" % (fmt(s["spread"][0], 2), fmt(s["spread"][1], 2)) if s["spread"] and s["runs"] > 1 else ""
            cells = [NAMES.get(kind, kind), str(n), str(s["runs"]), fmt(s["cpu_pct"]), fmt(s["mbps"], 0),
                     fmt(s["gbps_core"], 2) + sp, fmt(s["rss_per_player_kb"], 1),
                     "%s / %s" % (fmt(s["first_frame_ms_p50"]), fmt(s["first_frame_ms_p99"]))]
            if cold:
                cells.append(fmt(s["cold_first_frame_ms"]))
            cells += ["%s / %s" % (fmt(s["latency_ms_p50"]), fmt(s["latency_ms_p99"])), fmt(s["stalls"], 0),
                      "%s%s" % (fmt(s["failed"], 0), " (server died)" if s["dead"] else ""),
                      fmt(s["bench_cpu_pct"], 0), "%s / %s" % (fmt(s["wait_pct"], 0), fmt(s["load1"], 1))]
            lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def ratio(a, b):
    return a / b if a is not None and b not in (None, 0) else None


def ratio_table(summary):
    ns = sorted({n for (k, n) in summary if k in MAIN or k.startswith("floor")})
    head = ["players", "rill-ll / nginx (Gbit/s per core)", "rill-merged / nginx", "rill-ll CPU / floor-40 CPU",
            "rill-merged CPU / floor-350 CPU", "floor-40 Gbit/s per core", "floor-350 Gbit/s per core"]
    g = lambda k, n, f: summary.get((k, n), {}).get(f)
    base = any(k.startswith("base-") for (k, n) in summary)
    if base:
        head += ["rill-ll / base-ll (Gbit/s per core)", "rill-merged / base-merged",
                 "latency p99 rill-ll / base-ll", "latency p99 rill-merged / base-merged"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for n in ns:
        cells = [str(n),
                 fmt(ratio(g("rill-ll", n, "gbps_core"), g("nginx", n, "gbps_core")), 2),
                 fmt(ratio(g("rill-merged", n, "gbps_core"), g("nginx", n, "gbps_core")), 2),
                 fmt(ratio(g("rill-ll", n, "cpu_pct"), g("floor-40", n, "cpu_pct")), 2),
                 fmt(ratio(g("rill-merged", n, "cpu_pct"), g("floor-350", n, "cpu_pct")), 2),
                 fmt(g("floor-40", n, "gbps_core"), 2), fmt(g("floor-350", n, "gbps_core"), 2)]
        if base:
            cells += [fmt(ratio(g("rill-" + m, n, f), g("base-" + m, n, f)), 2)
                      for f in ("gbps_core", "latency_ms_p99") for m in ("ll", "merged")]
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def sends_table(summary):
    """What each server's CPU buys per send call: None when no step counted its sends."""
    rows = [(k, n) for k in kinds_in(summary, MAIN + ["rill-http", "rill-edge", "floor-40", "floor-350"])
            for n in ns_of(summary, k) if summary[(k, n)]["sends_per_player_s"] is not None]
    if not rows:
        return None
    head = ["server", "players", "sends per player per s", "bytes per send", "server CPU per send, us"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for k, n in rows:
        s = summary[(k, n)]
        lines.append("| %s | %d | %s | %s | %s |" % (NAMES.get(k, k), n, fmt(s["sends_per_player_s"]),
                                                   fmt(s["bytes_per_send"], 0), fmt(s["us_per_send"], 2)))
    return "\n".join(lines)


def machine():
    model = "?"
    try:
        out = subprocess.run(["lscpu"], capture_output=True, text=True, timeout=10).stdout
        for line in out.splitlines():
            if line.startswith("Model name:"):
                model = line.split(":", 1)[1].strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        load = open("/proc/loadavg").read().split()[:3]
    except OSError:
        load = ["?"]
    mem = "?"
    try:
        for line in open("/proc/meminfo"):
            if line.startswith("MemTotal:"):
                mem = "%.0f GB" % (int(line.split()[1]) / 1024 / 1024)
    except OSError:
        pass
    return ("%d cores (`nproc`), %s (`lscpu` model name), Linux %s, %s RAM; load average at the end of the run: %s" % (
        os.cpu_count() or 0, model, platform.release(), mem, " ".join(load)))


def plot(summary, img):
    if not shutil.which("gnuplot"):
        return []
    os.makedirs(img, exist_ok=True)
    kinds = kinds_in(summary, MAIN + ["rill-http", "rill-edge", "floor-40", "floor-350"])
    made = []
    for field, fname, ylabel, scale in (
            ("gbps_core", "bench-gbps.png", "delivered Gbit/s per core of server CPU (log scale)", "set logscale y\n"),
            ("cpu_pct", "bench-cpu.png", "server CPU, % of one core", "set yrange [0:*]\n")):
        dat = os.path.join(img, fname + ".dat")
        series = []
        with open(dat, "w") as f:
            for kind in kinds:
                pts = [(n, summary[(kind, n)][field]) for n in ns_of(summary, kind)
                       if summary[(kind, n)][field] is not None]
                if not pts:
                    continue
                f.write("# %s\n" % kind)
                for n, v in pts:
                    f.write("%d %.4f\n" % (n, v))
                f.write("\n\n")
                series.append(kind)
        if not series:
            os.remove(dat)
            continue
        plots = ", ".join("'%s' index %d with linespoints lw 2 title '%s'" % (dat, i, NAMES.get(k, k).replace("`", ""))
                          for i, k in enumerate(series))
        script = ("set terminal pngcairo size 900,600 noenhanced\nset output '%s'\nset key below\n"
                  "set grid\nset xlabel 'players (one 1 Mbit/s stream)'\nset ylabel '%s'\n%s"
                  "set xtics (100, 500, 1000, 2000, 4000)\nplot %s\n" % (os.path.join(img, fname), ylabel, scale, plots))
        r = subprocess.run(["gnuplot"], input=script, text=True, capture_output=True, timeout=60)
        os.remove(dat)
        if r.returncode == 0:
            made.append(fname)
        else:
            sys.stderr.write("gnuplot failed: %s\n" % r.stderr)
    return made


def section(rows, img, out_path):
    summary = summarize(rows)
    rel = os.path.relpath(img, os.path.dirname(os.path.abspath(out_path)) or ".")
    parts = [BEGIN, "", "_Generated by `scripts/bench.sh` on %s; re-running it replaces this part._" %
             time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "",
             "Machine: " + machine() + ".", "",
             "Parameters: " + os.environ.get("BENCH_PARAMS", "(see scripts/bench.sh)") + ".", ""]
    main = kinds_in(summary, MAIN)
    if main:
        parts += ["### RTMP players of one stream on the origin", "", server_table(summary, main), ""]
    parts += ["### Ratios per ladder step", "", ratio_table(summary), ""]
    for kind, title, cold in (("rill-http", "HTTP-FLV players (rill)", False),
                              ("rill-edge", "Edge: players on a rill edge pulling from a rill origin", True)):
        if kinds_in(summary, [kind]):
            parts += ["### " + title, "", server_table(summary, [kind], cold=cold), ""]
    floors = kinds_in(summary, ["floor-40", "floor-350"])
    if floors:
        parts += ["### The raw-write floor (research/floor)", "", server_table(summary, floors), ""]
    sends = sends_table(summary)
    if sends:
        parts += ["### Send calls (counted after each CPU window)", "", sends, ""]
    for fname in plot(summary, img):
        parts += ["![%s](%s)" % (fname, os.path.join(rel, fname)), ""]
    parts.append(END)
    return "\n".join(parts)


def main(argv):
    if len(argv) != 4:
        sys.stderr.write(__doc__)
        return 2
    results, out_path, img = argv[1:]
    rows = load(results)
    if not rows:
        sys.stderr.write("bench_report: no results in %s\n" % results)
        return 1
    sec = section(rows, img, out_path)
    try:
        doc = open(out_path).read()
    except OSError:
        doc = "# rill benchmark\n\n" + BEGIN + "\n" + END + "\n"
    if BEGIN in doc and END in doc:
        doc = doc[:doc.index(BEGIN)] + sec + doc[doc.index(END) + len(END):]
    else:
        doc = doc.rstrip("\n") + "\n\n" + sec + "\n"
    with open(out_path, "w") as f:
        f.write(doc)
    print(sec)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
