#!/usr/bin/env python3
"""Soak: a rill cluster on loopback under churn for SOAK_MINUTES (default 20).

Run it through scripts/soak.sh. Not part of `make test`.

Cluster (objs/rill, the release build; confs, logs and CSV in SOAK_DIR,
default objs/soak):
  master  SOAK_NET.11  forwards every stream to both slaves
  slave1  SOAK_NET.12  stays up the whole run
  slave2  SOAK_NET.13  SIGKILLed every minute, restarted 5 s later
  edge1   SOAK_NET.21  pulls from slave1, slave2, master (in that order)
  edge2   SOAK_NET.22  pulls from slave2, slave1, master
(SOAK_NET defaults to 127.0.0.1, i.e. 127.0.0.111 ... 127.0.0.122; every node
has RTMP on 1935, HTTP (files, HTTP-FLV) on 8080 and the API on 1985.)

Churn:
  * publishers: 2 streams (s0, s1), each an objs/rill-bench publisher of a
    generated 10 s FLV (looped) to the master for ~30 s, then a new one
    (s1 is staggered by 15 s), so each stream is unpublished and republished
    twice a minute;
  * players: from 16 s on (both streams up), every second a new
    objs/rill-bench process starts 2 players that stay 3..20 s: RTMP or HTTP-FLV (alternating), on an edge most of the
    time, sometimes straight on the master or slave1; ~25 players at a time;
  * origins: slave2 is SIGKILLed every minute (at :30) and restarted 5 s
    later; the master's forwarders and the edges fail over and come back.

Every 10 s each node is sampled into SOAK_DIR/samples.csv: VmRSS, open fds
(/proc/PID/fd), and from its /metrics the RTMP and HTTP connections,
forwarders and edge upstreams (each a coroutine, as is each connection).
At the end: a table of start vs end per node, growth flagged, and the
players' totals (failed, dropped, stalls) from rill-bench's JSON.

Everything started is stopped by its pid (SIGTERM, then SIGKILL); only
127.0.0.0/8 addresses are used; every wait is bounded.
"""

import csv
import ctypes
import json
import os
import random
import signal
import socket
import statistics
import subprocess
import sys
import time
import urllib.request

ROOT = os.path.abspath(os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
MINUTES = float(os.environ.get("SOAK_MINUTES", "20"))
NET = os.environ.get("SOAK_NET", "127.0.0.1")          # node addresses are NET + "11", "12", ...
DIR = os.path.abspath(os.environ.get("SOAK_DIR", os.path.join(ROOT, "objs", "soak")))
RILL = os.path.abspath(os.environ.get("SOAK_RILL", os.path.join(ROOT, "objs", "rill")))
BENCH = os.path.abspath(os.environ.get("SOAK_BENCH", os.path.join(ROOT, "objs", "rill-bench")))
SAMPLE_EVERY = 10.0
KILL_EVERY = 60.0
PUBLISH_FOR = 30.0
RTMP, HTTP, API = 1935, 8080, 1985
RNG = random.Random(int(os.environ.get("SOAK_SEED", "8")))

T0 = time.monotonic()
PROCS = {}            # pid -> (name, Popen): everything we started and have not reaped
NODES = {}            # name -> Node


def log(msg):
    print("[soak %6.0fs] %s" % (time.monotonic() - T0, msg), flush=True)


def ip_of(suffix):
    ip = NET + suffix
    parts = ip.split(".")
    if len(parts) != 4 or parts[0] != "127" or not all(p.isdigit() and 0 <= int(p) <= 255 for p in parts):
        sys.exit("soak: %s is not a 127.0.0.0/8 address (SOAK_NET=%s)" % (ip, NET))
    return ip


def _child_setup():
    # Own session (a Ctrl-C reaches only the driver, which stops everything
    # by pid), and the kernel kills the child if the driver dies.
    os.setsid()
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGKILL, 0, 0, 0)   # PR_SET_PDEATHSIG
    except Exception:  # noqa: BLE001
        pass


def spawn(name, args, logfile):
    f = open(logfile, "ab")
    p = subprocess.Popen(args, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE if name.startswith("play") else f,
                         stderr=f, cwd=DIR, preexec_fn=_child_setup)
    f.close()
    PROCS[p.pid] = (name, p)
    return p


def stop(p, grace=5.0):
    """SIGTERM p (by its pid), SIGKILL after grace seconds; reap it."""
    if p.poll() is None:
        try:
            os.kill(p.pid, signal.SIGTERM)
        except ProcessLookupError:
            pass
        try:
            p.wait(grace)
        except subprocess.TimeoutExpired:
            try:
                os.kill(p.pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
            try:
                p.wait(5)
            except subprocess.TimeoutExpired:
                pass
    PROCS.pop(p.pid, None)
    return p.returncode


# ---------------------------------------------------------------- nodes

class Node:
    def __init__(self, name, suffix, vhost):
        self.name = name
        self.ip = ip_of(suffix)
        self.conf = os.path.join(DIR, name + ".conf")
        self.logfile = os.path.join(DIR, name + ".log")
        self.proc = None
        self.starts = 0
        with open(self.conf, "w") as f:
            f.write("listen %s:%d;\nmax_connections 1000;\ndaemon off;\nsrs_log_tank console;\n"
                    "srs_log_level trace;\npid %s;\nchunk_size 60000;\n"
                    "http_server { enabled on; listen %s:%d; dir %s; }\n"
                    "http_api { enabled on; listen %s:%d; }\n"
                    "vhost __defaultVhost__ {\n"
                    "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n"
                    "    play { gop_cache on; queue_length 10; mw_latency 350; mw_msgs 8; }\n"
                    "%s}\n" % (self.ip, RTMP, os.path.join(DIR, name + ".pid"), self.ip, HTTP, DIR,
                               self.ip, API, vhost))
        NODES[name] = self

    def start(self, timeout=10.0):
        self.proc = spawn(self.name, [RILL, "-c", self.conf], self.logfile)
        self.starts += 1
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                sys.exit("soak: %s exited (code %s) at start; see %s" % (self.name, self.proc.returncode, self.logfile))
            try:
                socket.create_connection((self.ip, API), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.1)
        sys.exit("soak: %s did not listen on %s:%d within %.0f s" % (self.name, self.ip, API, timeout))

    def alive(self):
        return self.proc is not None and self.proc.poll() is None

    def kill(self):
        os.kill(self.proc.pid, signal.SIGKILL)
        self.proc.wait(5)
        PROCS.pop(self.proc.pid, None)

    def sample(self):
        """dict of figures, or None when the node is down."""
        if not self.alive():
            return None
        pid = self.proc.pid
        row = {"node": self.name, "pid": pid}
        try:
            with open("/proc/%d/status" % pid) as f:
                for line in f:
                    if line.startswith("VmRSS:"):
                        row["rss_kb"] = int(line.split()[1])
            row["fds"] = len(os.listdir("/proc/%d/fd" % pid))
        except OSError:
            return None
        try:
            with urllib.request.urlopen("http://%s:%d/metrics" % (self.ip, API), timeout=2) as r:
                text = r.read().decode()
        except OSError:
            text = ""
        m = {}
        for line in text.splitlines():
            if line and not line.startswith("#"):
                k, _, v = line.rpartition(" ")
                try:
                    m[k] = float(v)
                except ValueError:
                    pass
        row["rtmp_conns"] = int(m.get('rill_connections{proto="rtmp"}', -1))
        row["http_conns"] = int(m.get('rill_connections{proto="http"}', -1))
        row["forwarders"] = int(sum(v for k, v in m.items() if k.startswith("rill_forwarders{")))
        row["edge_upstreams"] = int(sum(v for k, v in m.items() if k.startswith("rill_edge_upstreams{")))
        row["streams"] = int(m.get("rill_streams", -1))
        row["players"] = int(m.get("rill_players", -1))
        # one coroutine per connection, forwarder and edge upstream (plus a fixed few: listeners, stats)
        row["coroutines"] = (max(row["rtmp_conns"], 0) + max(row["http_conns"], 0) + row["forwarders"] +
                             row["edge_upstreams"])
        return row


def origins(*names):
    return " ".join("%s:%d" % (ip_of(s), RTMP) for s in names)


# ---------------------------------------------------------------- media

def make_flv(path):
    if os.path.exists(path) and os.path.getsize(path) > 100000:
        return
    log("making %s (10 s, 640x360 25 fps H.264 800 kbit/s + AAC)" % os.path.relpath(path, ROOT))
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25", "-f", "lavfi", "-i", "sine=frequency=440",
            "-t", "10", "-c:v", "libx264", "-preset", "veryfast", "-g", "50", "-sc_threshold", "0",
            "-b:v", "800k", "-maxrate", "800k", "-bufsize", "800k", "-pix_fmt", "yuv420p",
            "-c:a", "aac", "-b:a", "64k", "-f", "flv", path + ".tmp"]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, timeout=300)
    if r.returncode != 0:
        sys.exit("soak: ffmpeg could not make %s" % path)
    os.rename(path + ".tmp", path)


# ---------------------------------------------------------------- run

def main():
    for b in (RILL, BENCH):
        if not os.access(b, os.X_OK):
            sys.exit("soak: %s is missing (run make)" % b)
    os.makedirs(DIR, exist_ok=True)
    for fn in os.listdir(DIR):
        if fn.endswith((".log", ".conf", ".pid", ".jsonl")) or fn == "samples.csv":
            os.unlink(os.path.join(DIR, fn))
    flv = os.path.join(DIR, "stream.flv")
    make_flv(flv)
    for s in ("11", "12", "13", "21", "22"):
        ip = ip_of(s)
        for port in (RTMP, HTTP, API):
            try:
                socket.create_connection((ip, port), timeout=0.3).close()
                sys.exit("soak: something already listens on %s:%d (another soak or cluster?)" % (ip, port))
            except OSError:
                pass

    Node("slave1", "12", "")
    Node("slave2", "13", "")
    Node("master", "11", "    forward { enabled on; destination %s; }\n" % origins("12", "13"))
    edge = "    cluster { mode remote; origin %s; }\n"
    Node("edge1", "21", edge % origins("12", "13", "11"))
    Node("edge2", "22", edge % origins("13", "12", "11"))
    for n in NODES.values():
        n.start()
    log("cluster up: %s" % ", ".join("%s %s (pid %d)" % (n.name, n.ip, n.proc.pid) for n in NODES.values()))

    csv_path = os.path.join(DIR, "samples.csv")
    fields = ["time", "elapsed_s", "node", "pid", "rss_kb", "fds", "rtmp_conns", "http_conns", "forwarders",
              "edge_upstreams", "streams", "players", "coroutines"]
    out = open(csv_path, "w", newline="")
    w = csv.DictWriter(out, fieldnames=fields)
    w.writeheader()

    master = NODES["master"]
    pubs = {}                 # stream -> (Popen, started)
    players = []              # (Popen, kind)
    totals = {"players": 0, "failed": 0, "dropped": 0, "stalls": 0, "no_frame": 0, "runs": 0, "bad_json": 0,
              "stopped": 0}
    pub_starts = 0
    kills = 0
    next_sample = time.monotonic()
    next_player = next_sample + 16.0          # once both streams are published (s1 starts at 15 s)
    next_kill = time.monotonic() + 30.0
    restart_at = None
    end = time.monotonic() + MINUTES * 60.0
    offsets = {"s0": 0.0, "s1": 15.0}
    log("running %.0f min; samples every %.0f s into %s" % (MINUTES, SAMPLE_EVERY, os.path.relpath(csv_path, ROOT)))
    samples = []

    notable = open(os.path.join(DIR, "players-notable.jsonl"), "w")

    def reap_players(block=False):
        keep = []
        for p, kind, url, dur, started in players:
            if p.poll() is None and not block:
                keep.append((p, kind, url, dur, started))
                continue
            if p.poll() is None:
                stop(p, 3)
            try:
                text = p.stdout.read().decode("utf-8", "replace")
            except (OSError, ValueError):
                text = ""
            p.stdout.close()
            PROCS.pop(p.pid, None)
            last = [l for l in text.splitlines() if l.startswith("{")]
            try:
                j = json.loads(last[-1])
                totals["runs"] += 1
                for k in ("failed", "dropped", "stalls", "no_frame"):
                    totals[k] += int(j.get(k) or 0)
                totals["players"] += sum(int(x.get("connected", 0)) + int(x.get("failed", 0)) +
                                         int(x.get("dropped", 0)) for x in j.get("jobs", []))
                if any(int(j.get(k) or 0) for k in ("failed", "dropped", "stalls", "no_frame")):
                    # players that did not simply play: which URL, when, how long
                    notable.write(json.dumps({"url": url, "started_s": round(started - T0, 1), "duration_s": dur,
                                              "failed": j.get("failed"), "dropped": j.get("dropped"),
                                              "stalls": j.get("stalls"), "no_frame": j.get("no_frame"),
                                              "first_frame_ms_max": j.get("first_frame_ms_max")}) + "\n")
                    notable.flush()
            except (IndexError, ValueError, TypeError):
                totals["stopped" if block else "bad_json"] += 1
        players[:] = keep

    try:
        while time.monotonic() < end:
            now = time.monotonic()
            # publishers: each stream republished every PUBLISH_FOR seconds
            for s, off in offsets.items():
                p = pubs.get(s)
                if now - T0 < off:
                    continue
                if p is None or p[0].poll() is not None:
                    if p is not None:
                        stop(p[0])
                    dur = PUBLISH_FOR if p is not None or off == 0 else PUBLISH_FOR - off
                    pp = spawn("publish-" + s, [BENCH, "--report", "0", "publish", "-d", "%.0f" % dur, "-i", flv,
                                                "rtmp://%s:%d/live/%s" % (master.ip, RTMP, s)],
                               os.path.join(DIR, "publishers.log"))
                    pubs[s] = (pp, now)
                    pub_starts += 1
            # players: 2 per second, 3..20 s each
            if now >= next_player:
                next_player += 1.0
                reap_players()
                r = RNG.random()
                target = "edge1" if r < 0.4 else "edge2" if r < 0.8 else "master" if r < 0.9 else "slave1"
                n = NODES[target]
                s = RNG.choice(("s0", "s1"))
                http = (len(players) + pub_starts) % 2 == 0
                url = ("http://%s:%d/live/%s.flv" % (n.ip, HTTP, s)) if http else (
                    "rtmp://%s:%d/live/%s" % (n.ip, RTMP, s))
                dur = RNG.uniform(3, 20)
                p = spawn("play", [BENCH, "--report", "0", "--stall-ms", "2000", "play", "-n", "2",
                                   "-d", "%.1f" % dur, "--timeout", "10", url],
                          os.path.join(DIR, "players.log"))
                players.append((p, "http" if http else "rtmp", url, round(dur, 1), now))
            # origin failures: slave2 killed every minute, back 5 s later
            if now >= next_kill:
                next_kill += KILL_EVERY
                s2 = NODES["slave2"]
                if s2.alive():
                    s2.kill()
                    kills += 1
                    restart_at = now + 5.0
                    log("slave2 SIGKILLed (%d)" % kills)
            if restart_at is not None and now >= restart_at:
                restart_at = None
                NODES["slave2"].start()
                log("slave2 restarted (pid %d)" % NODES["slave2"].proc.pid)
            # samples
            if now >= next_sample:
                next_sample += SAMPLE_EVERY
                stamp = time.strftime("%Y-%m-%dT%H:%M:%S")
                for n in NODES.values():
                    row = n.sample()
                    if row is None:
                        continue
                    row["time"] = stamp
                    row["elapsed_s"] = round(now - T0, 1)
                    w.writerow(row)
                    samples.append(row)
                out.flush()
                line = "  ".join("%s %.0fM/%dfd/%dc" % (r["node"], r["rss_kb"] / 1024.0, r["fds"], r["coroutines"])
                                 for r in samples[-len(NODES):] if r["elapsed_s"] == round(now - T0, 1))
                log(line)
            for name in ("master", "slave1", "edge1", "edge2"):
                if not NODES[name].alive():
                    log("%s exited with code %s: the run is void; see %s" % (
                        name, NODES[name].proc.returncode, NODES[name].logfile))
                    raise SystemExit(2)
            time.sleep(0.1)
    finally:
        out.close()
        log("stopping")
        reap_players(block=True)
        notable.close()
        for p, _ in pubs.values():
            stop(p)
        codes = {}
        for n in NODES.values():
            if n.alive():
                codes[n.name] = stop(n.proc, 10)
        for pid, (name, p) in list(PROCS.items()):
            stop(p, 2)
    return report(samples, totals, kills, pub_starts, codes)


def report(samples, totals, kills, pub_starts, codes):
    by = {}
    for r in samples:
        by.setdefault(r["node"], []).append(r)
    minutes = (samples[-1]["elapsed_s"] if samples else 0) / 60.0
    print()
    print("soak: %.1f minutes, %d samples per node, slave2 killed %d times, %d publishes, %d player runs (%d players)" % (
        minutes, len(by.get("master", [])), kills, pub_starts, totals["runs"], totals["players"]))
    print()
    hdr = "| node | samples | RSS start | RSS end | RSS max | fds start | fds end | fds max | conns start | conns end | coroutines max | flag |"
    print(hdr)
    print("|" + "---|" * (hdr.count("|") - 1))
    flagged = 0
    for name in ("master", "slave1", "slave2", "edge1", "edge2"):
        rows = by.get(name, [])
        if not rows:
            continue
        # start: the second minute (cluster warmed up, players and forwarders in place); end: the last minute
        if name == "slave2":
            last_pid = rows[-1]["pid"]
            rows = [r for r in rows if r["pid"] == last_pid] or rows
        t_first = rows[0]["elapsed_s"]
        head = [r for r in rows if t_first + 60 <= r["elapsed_s"] < t_first + 120] or rows[:6]
        tail = [r for r in rows if r["elapsed_s"] > rows[-1]["elapsed_s"] - 60] or rows[-6:]

        def med(rs, k):
            return statistics.median([r[k] for r in rs])
        rss0, rss1 = med(head, "rss_kb") / 1024.0, med(tail, "rss_kb") / 1024.0
        fd0, fd1 = med(head, "fds"), med(tail, "fds")
        c0 = med(head, "rtmp_conns") + med(head, "http_conns")
        c1 = med(tail, "rtmp_conns") + med(tail, "http_conns")
        flags = []
        if rss1 > rss0 * 1.25 + 4:
            flags.append("RSS +%.0f%%" % ((rss1 / rss0 - 1) * 100))
        if fd1 > fd0 + 20 + (c1 - c0):
            flags.append("fds +%d" % (fd1 - fd0))
        flagged += bool(flags)
        note = " (since its last restart)" if name == "slave2" else ""
        print("| %s%s | %d | %.1f MiB | %.1f MiB | %.1f MiB | %d | %d | %d | %d | %d | %d | %s |" % (
            name, note, len(rows), rss0, rss1, max(r["rss_kb"] for r in rows) / 1024.0, fd0, fd1,
            max(r["fds"] for r in rows), c0, c1, max(r["coroutines"] for r in rows), ", ".join(flags) or "flat"))
    print()
    print("(start = median of the second minute, end = median of the last minute; flagged when RSS grew more "
          "than 25% + 4 MiB or fds more than connections + 20)")
    print("players: %d failed to start, %d dropped, %d stalls over 2 s, %d without a keyframe (from rill-bench's "
          "totals; %d runs without totals, %d still running at the end and stopped)" % (
              totals["failed"], totals["dropped"], totals["stalls"], totals["no_frame"], totals["bad_json"],
              totals["stopped"]))
    print("exit codes at the end (SIGTERM): %s" % ", ".join("%s %s" % kv for kv in sorted(codes.items())))
    print("samples: %s; players that failed, dropped, stalled or saw no keyframe: %s" % (
        os.path.relpath(os.path.join(DIR, "samples.csv"), ROOT),
        os.path.relpath(os.path.join(DIR, "players-notable.jsonl"), ROOT)))
    bad = [k for k, v in codes.items() if v != 0]
    return 1 if flagged or bad else 0


def on_signal(signum, frame):
    raise KeyboardInterrupt()


if __name__ == "__main__":
    signal.signal(signal.SIGTERM, on_signal)
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        log("interrupted")
        for pid, (name, p) in list(PROCS.items()):
            stop(p, 3)
        sys.exit(130)
