#!/usr/bin/env python3
"""A seeded chaos run over a small rill cluster (ASan build).

  python3 tests/chaos/chaos.py [--seconds N] [--seed S] [--round R]
  make chaos [CHAOS_SECONDS=N] [CHAOS_SEED=S] [CHAOS_ROUND=R]

The cluster: a master that forwards every stream to a slave, and an edge
pulling from the master and the slave (origin master slave). Each node also
serves HTTP-FLV and the HTTP API. A schedule drawn from random.Random(seed)
then does, every 0.1-0.8 s, one of:
  - publish: ffmpeg -re -c copy of a pre-encoded FLV (a 2 s GOP at 1 Mbit/s
    or a 10 s GOP at 2 Mbit/s) to the master, or through the edge, for
    10-60 s; unpublish: SIGTERM or SIGKILL of that ffmpeg;
  - play: RTMP or HTTP-FLV on any node for 5-30 s, 70% of them of a stream
    being published, 40% with an 8 KiB receive buffer; stop a player;
  - stall a player: it stops reading for 3-15 s, then resumes or vanishes
    (closed with a RST);
  - SIGKILL of the master or the slave (restarted 0.8-4 s later on the same
    address), SIGSTOP of one of them (SIGCONT 1-5 s later);
  - SIGHUP of any node (its config alternates between two play settings);
  - an API kick: DELETE /api/v1/clients/ID of one of a node's clients.
At most 20 players and 5 publishers at once.

The schedule depends on the seed only: every step draws the same values
whatever the state; what a step does depends on the state (a stall with no
player does nothing). Timing makes a replay similar, not equal.

Checks: no node exits by itself, no sanitizer report in any log of any
node (the logs of killed runs are kept and checked too), the API answers a
kick with 200 or 404, after the schedule a fresh stream plays on every node,
and every node exits 0 on SIGTERM with leak checking on, SIGTERMed while the
schedule's players (stalled ones included) and publishers are still on.

A run of N seconds is cut in rounds of at most R seconds (default 300), each
with its own seed and its own cluster. Every seed is printed before its
round starts; a failure prints the seed, the step log and the node logs'
tails, and the command that replays it.
"""

import argparse
import json
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "integration"))
sys.dont_write_bytecode = True

from lib import rill, rtmp  # noqa: E402
from lib.rill import TestFailure  # noqa: E402

STREAMS = ["c0", "c1", "c2", "c3"]
MAX_PLAYERS = 20
MAX_PUBLISHERS = len(STREAMS) + 1     # one more than the streams: duplicate publishes happen
STALL_RCVBUF = 8192
CLIP_SECONDS = 20
# name: (GOP in frames at 25 fps, video bitrate)
PROFILES = {"g2": (50, "1M"), "g10": (250, "2M")}
PLAY_VARIANTS = ("gop_cache on; queue_length 10; mw_latency 350; mw_msgs 8;",
                 "gop_cache on; queue_length 5; mw_latency 100; mw_msgs 2;")


class ChaosFailure(TestFailure):
    pass


def clip_dir():
    d = os.path.join(rill.ROOT, "objs", "chaos")
    os.makedirs(d, exist_ok=True)
    return d


def clip(profile):
    """objs/chaos/clip-PROFILE.flv, encoded once (H.264 + AAC, 640x360 25 fps)."""
    gop, rate = PROFILES[profile]
    path = os.path.join(clip_dir(), "clip-%s.flv" % profile)
    if os.path.exists(path) and os.path.getsize(path) > 0:
        return path
    tmp = "%s.%d.tmp.flv" % (path, os.getpid())
    args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-y",
            "-f", "lavfi", "-i", "testsrc2=size=640x360:rate=25",
            "-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100",
            "-t", str(CLIP_SECONDS),
            "-c:v", "libx264", "-preset", "ultrafast", "-tune", "zerolatency",
            "-g", str(gop), "-keyint_min", str(gop), "-sc_threshold", "0",
            "-b:v", rate, "-maxrate", rate, "-bufsize", rate, "-c:a", "aac", "-f", "flv", tmp]
    r = subprocess.run(args, stdin=subprocess.DEVNULL, capture_output=True, timeout=300)
    if r.returncode != 0 or not os.path.exists(tmp):
        raise ChaosFailure("could not encode %s: %s" % (path, r.stderr.decode("utf-8", "replace")[-500:]))
    os.replace(tmp, path)       # atomic: a concurrent run sees all of it or nothing
    return path


# ---------------------------------------------------------------- nodes

class ChaosNode:
    """A rill.Node with an HTTP server (HTTP-FLV) and the HTTP API, every log
    of every run of it kept for the sanitizer check."""

    def __init__(self, name, vhost_extra=""):
        self.name = name
        ip = rill.new_ip()
        ports = set()
        while len(ports) < 3:
            ports.add(rill.free_port(ip))
        self.port, self.http_port, self.api_port = sorted(ports)
        self.ip = ip
        self.vhost_extra = vhost_extra
        self.variant = 0
        g = ("http_server { enabled on; listen %s:%d; }\n"
             "http_api { enabled on; listen %s:%d; }\n" % (ip, self.http_port, ip, self.api_port))
        v = "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" + vhost_extra
        self.node = rill.Node(name=name, ip=ip, port=self.port, global_extra=g, vhost_extra=v,
                              play=PLAY_VARIANTS[0])
        self.logs = []
        self.scanned = {}           # log path: bytes already searched for a sanitizer mark
        self.state = "new"          # up, killed, stopped
        self.until = 0.0            # when a killed node restarts / a stopped one continues

    def addr(self):
        return "%s:%d" % (self.ip, self.port)

    def start(self, first=False):
        if first:
            self.node.start(timeout=20)
        else:
            self.node.restart(timeout=20)
        self.logs.append(self.node.log_path)
        self.state = "up"

    def alive(self):
        return self.node.alive()

    def reload_conf(self):
        """Rewrite the config with the other play variant; SIGHUP applies it."""
        old = PLAY_VARIANTS[self.variant]
        self.variant = 1 - self.variant
        self.node.conf = self.node.conf.replace(old, PLAY_VARIANTS[self.variant])
        with open(self.node.conf_path, "w") as f:
            f.write(self.node.conf)

    def sanitizer_reports(self):
        """(log path, first lines of the report) for every log with one. Each
        call reads only what was appended since the last (logs grow large)."""
        out = []
        for p in self.logs:
            pos = self.scanned.get(p, 0)
            try:
                with open(p, "rb") as f:
                    f.seek(max(0, pos - 128))       # a mark cut by the last read
                    chunk = f.read()
            except OSError:
                continue
            self.scanned[p] = max(0, pos - 128) + len(chunk)
            text = chunk.decode("utf-8", "replace")
            if not any(m in text for m in rill.SANITIZER_MARKS):
                continue
            with open(p, "rb") as f:
                text = f.read().decode("utf-8", "replace")
            for mark in rill.SANITIZER_MARKS:
                i = text.find(mark)
                if i >= 0:
                    start = text.rfind("\n", 0, i) + 1
                    out.append((p, rill.symbolize("\n".join(text[start:].splitlines()[:40]))))
                    break
        return out

    def api(self, method, path, timeout=2.0):
        req = urllib.request.Request("http://%s:%d%s" % (self.ip, self.api_port, path), method=method)
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


# ---------------------------------------------------------------- players

class FlvDrain:
    """An HTTP-FLV player that only counts bytes; while .paused it does not
    read (with a small receive buffer the server's writes then block)."""

    def __init__(self, ip, port, path, rcvbuf=None):
        self.ip, self.port, self.path, self.rcvbuf = ip, port, path, rcvbuf
        self.paused = False
        self.bytes = 0
        self.error = None
        self.sock = None
        self._stop = False
        self._thread = threading.Thread(target=self._run, daemon=True, name="flvdrain")

    def start(self):
        self._thread.start()
        return self

    def _run(self):
        try:
            s = self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
            if self.rcvbuf:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, self.rcvbuf)
            s.settimeout(5.0)
            s.connect((self.ip, self.port))
            s.sendall(("GET %s HTTP/1.1\r\nHost: %s:%d\r\nUser-Agent: rill-chaos\r\n\r\n" % (
                self.path, self.ip, self.port)).encode())
            s.settimeout(0.5)
            while not self._stop:
                if self.paused:
                    time.sleep(0.05)
                    continue
                try:
                    d = s.recv(65536)
                except socket.timeout:
                    continue
                if not d:
                    break
                self.bytes += len(d)
        except Exception as e:  # noqa: BLE001 - a player's end is not a failure here
            if not self._stop:
                self.error = "%s: %s" % (type(e).__name__, e)

    def alive(self):
        return self._thread.is_alive()


class Player:
    def __init__(self, kind, node, stream, life, rcvbuf):
        self.kind, self.node, self.stream = kind, node, stream
        self.end = time.monotonic() + life
        self.stall_until = None
        self.stall_then_vanish = False
        if kind == "rtmp":
            self.p = rtmp.RawPlayer(node.ip, node.port, stream, rcvbuf=rcvbuf)
        else:
            self.p = FlvDrain(node.ip, node.http_port, "/live/%s.flv" % stream, rcvbuf=rcvbuf)
        self.p.start()

    def _sock(self):
        if self.kind == "rtmp":
            return self.p.conn.sock if self.p.conn else None
        return self.p.sock

    def received(self):
        if self.kind == "rtmp":
            return self.p.conn.received if self.p.conn else 0
        return self.p.bytes

    def close(self, rst=False):
        """End the player without waiting for its thread (it may be stuck in
        a connect to a stopped node for up to its 5 s timeout)."""
        self.p._stop = True
        s = self._sock()
        if s is None:
            return
        try:
            if rst:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, b"\x01\x00\x00\x00\x00\x00\x00\x00")
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass
        try:
            s.close()
        except OSError:
            pass

    def join(self, timeout):
        self.p._thread.join(timeout)


# ---------------------------------------------------------------- the schedule

def schedule(seed):
    """Steps as (action, params): every step draws the same number of values,
    so the sequence depends on the seed only."""
    rng = random.Random(seed)
    actions = (["publish"] * 7 + ["unpublish"] * 1 + ["play"] * 12 + ["stop"] * 2 + ["stall"] * 5 +
               ["kill"] * 1 + ["sigstop"] * 1 + ["hup"] * 1 + ["kick"] * 3)
    while True:
        a = rng.choice(actions)
        p = {
            "gap": rng.uniform(0.1, 0.8),
            "stream": rng.choice(STREAMS),
            "node": rng.choice(("master", "slave", "edge")),
            "origin": rng.choice(("master", "slave")),
            "proto": rng.choice(("rtmp", "rtmp", "flv")),
            "profile": rng.choice(sorted(PROFILES)),
            "via_edge": rng.random() < 0.2,
            "seconds": rng.uniform(1.0, 5.0),
            "life": rng.uniform(5.0, 30.0),
            "live": rng.random() < 0.7,
            "pub_life": rng.uniform(10.0, 60.0),
            "small_rcvbuf": rng.random() < 0.4,
            "vanish": rng.random() < 0.5,
            "sig": rng.choice(("TERM", "KILL")),
            "pick": rng.randrange(1 << 30),
        }
        yield a, p


# ---------------------------------------------------------------- a round

class Round:
    def __init__(self, seed, seconds, out=sys.stdout):
        self.seed = seed
        self.seconds = seconds
        self.out = out
        self.steps = []
        self.t0 = None
        self.nodes = {}
        self.players = [None] * MAX_PLAYERS
        self.pubs = []              # [stream, Proc, kill_at]
        self.counts = {}
        self.clips = {}
        self.received = 0           # bytes the players read
        self.peak = 0               # most players at once

    # -- log

    def log(self, msg):
        t = time.monotonic() - self.t0 if self.t0 else 0.0
        line = "%7.2f %s" % (t, msg)
        self.steps.append(line)
        if os.environ.get("CHAOS_VERBOSE"):
            print(line, file=self.out, flush=True)

    def count(self, what):
        self.counts[what] = self.counts.get(what, 0) + 1

    # -- setup

    def setup(self):
        for prof in PROFILES:
            self.clips[prof] = clip(prof)
        slave = ChaosNode("slave")
        master = ChaosNode("master", "    forward { enabled on; destination %s; }\n" % slave.addr())
        edge = ChaosNode("edge", "    cluster { mode remote; origin %s %s; }\n" % (master.addr(), slave.addr()))
        self.nodes = {"master": master, "slave": slave, "edge": edge}
        for n in (slave, master, edge):
            n.start(first=True)
        self.t0 = time.monotonic()
        self.log("cluster up: master %s -> slave %s; edge %s pulls from both" % (
            master.addr(), slave.addr(), edge.addr()))

    # -- checks

    def fail(self, msg):
        raise ChaosFailure(msg)

    def check_nodes(self):
        # the report first: a node that halted on one also exited by itself
        for n in self.nodes.values():
            reps = n.sanitizer_reports()
            if reps:
                self.fail("%s: sanitizer report in %s:\n%s" % (n.name, reps[0][0], reps[0][1]))
        for n in self.nodes.values():
            if n.state in ("up", "stopped") and not n.alive():
                self.fail("%s exited by itself (code %s)" % (n.name, n.node.proc.p.returncode))

    # -- housekeeping between steps

    def tick(self):
        now = time.monotonic()
        for n in self.nodes.values():
            if n.state == "killed" and now >= n.until:
                n.start()
                self.log("restarted %s" % n.name)
            elif n.state == "stopped" and now >= n.until:
                n.node.resume()
                n.state = "up"
                self.log("SIGCONT %s" % n.name)
        for i, pl in enumerate(self.players):
            if pl is None:
                continue
            if pl.stall_until is not None and now >= pl.stall_until:
                if pl.stall_then_vanish:
                    self.end_player(i, rst=True)
                    self.log("player %d vanished after its stall (RST)" % i)
                    continue
                pl.p.paused = False
                pl.stall_until = None
                self.log("player %d resumed reading" % i)
            if pl.stall_until is None and (now >= pl.end or not pl.p.alive()):
                self.end_player(i)
                self.log("player %d ended (%s)" % (i, "life over" if now >= pl.end else
                                                   "server closed: %s" % pl.p.error))
        for pub in list(self.pubs):
            stream, proc, kill_at = pub
            if not proc.alive():
                proc._close_log()
                self.pubs.remove(pub)
                self.log("publisher of %s exited (%s)" % (stream, proc.p.returncode))
            elif now >= kill_at:
                proc.kill(signal.SIGKILL)       # ffmpeg stuck on a stopped node past its -t
                proc.wait(2)
                proc._close_log()
                self.pubs.remove(pub)
                self.log("publisher of %s SIGKILLed past its time" % stream)

    def end_player(self, i, rst=False):
        pl = self.players[i]
        self.received += pl.received()
        pl.close(rst)
        self.players[i] = None

    # -- actions

    def do(self, a, p):
        getattr(self, "a_" + a)(p)

    def a_publish(self, p):
        if len(self.pubs) >= MAX_PUBLISHERS:
            return
        target = self.nodes["edge" if p["via_edge"] else "master"]
        if target.state != "up":
            return
        d = int(p["pub_life"])
        args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                "-stream_loop", "-1", "-i", self.clips[p["profile"]], "-c", "copy", "-t", str(d),
                "-rw_timeout", "5000000", "-f", "flv", target.node.url(p["stream"])]
        proc = rill.Proc("pub-" + p["stream"], args,
                         os.path.join(rill.tmpdir("rill-chaos-ff-"), "ffmpeg.log"))
        self.pubs.append([p["stream"], proc, time.monotonic() + d + 15])
        self.count("publish")
        self.log("publish %s (%s) to %s for %ds" % (p["stream"], p["profile"], target.name, d))

    def a_unpublish(self, p):
        mine = [x for x in self.pubs if x[0] == p["stream"]]
        if not mine:
            return
        stream, proc, _ = mine[0]
        proc.kill(signal.SIGTERM if p["sig"] == "TERM" else signal.SIGKILL)
        self.count("unpublish")
        self.log("unpublish %s (SIG%s to ffmpeg)" % (stream, p["sig"]))

    def a_play(self, p):
        free = [i for i, x in enumerate(self.players) if x is None]
        if not free:
            return
        i = free[p["pick"] % len(free)]
        n = self.nodes[p["node"]]
        rcv = STALL_RCVBUF if p["small_rcvbuf"] else None
        stream = p["stream"]
        live = sorted(set(x[0] for x in self.pubs))
        if p["live"] and live:      # most players go where a publisher is
            stream = live[p["pick"] % len(live)]
        self.players[i] = Player(p["proto"], n, stream, p["life"], rcv)
        self.peak = max(self.peak, sum(1 for x in self.players if x is not None))
        self.count("play")
        self.log("player %d: %s %s on %s for %.0fs%s" % (
            i, p["proto"], stream, n.name, p["life"], " (small rcvbuf)" if rcv else ""))

    def playing(self, p):
        """The index of one of the players (the draw picks it), or None."""
        on = [i for i, x in enumerate(self.players) if x is not None and x.stall_until is None]
        return on[p["pick"] % len(on)] if on else None

    def a_stop(self, p):
        i = self.playing(p)
        if i is None:
            return
        self.end_player(i)
        self.count("stop")
        self.log("player %d stopped" % i)

    def a_stall(self, p):
        i = self.playing(p)
        if i is None:
            return
        pl = self.players[i]
        pl.p.paused = True
        pl.stall_until = time.monotonic() + p["seconds"] * 3
        pl.stall_then_vanish = p["vanish"]
        self.count("stall")
        self.log("player %d stalls for %.1fs, then %s" % (
            i, p["seconds"] * 3, "vanishes" if p["vanish"] else "resumes"))

    def a_kill(self, p):
        n = self.nodes[p["origin"]]
        if n.state == "killed":
            return
        n.node.kill(signal.SIGKILL)
        n.state, n.until = "killed", time.monotonic() + p["seconds"] * 0.8
        self.count("kill")
        self.log("SIGKILL %s (restart in %.1fs)" % (n.name, p["seconds"] * 0.8))

    def a_sigstop(self, p):
        n = self.nodes[p["origin"]]
        if n.state != "up":
            return
        n.node.pause()
        n.state, n.until = "stopped", time.monotonic() + p["seconds"]
        self.count("sigstop")
        self.log("SIGSTOP %s for %.1fs" % (n.name, p["seconds"]))

    def a_hup(self, p):
        n = self.nodes[p["node"]]
        if n.state == "killed":
            return
        n.reload_conf()
        n.node.proc.kill(signal.SIGHUP)
        self.count("hup")
        self.log("SIGHUP %s (play variant %d)" % (n.name, n.variant))

    def a_kick(self, p):
        n = self.nodes[p["node"]]
        if n.state != "up":
            return
        try:
            st, body = n.api("GET", "/api/v1/clients?count=1000")
            clients = json.loads(body).get("clients", []) if st == 200 else []
        except (OSError, ValueError) as e:
            self.log("kick on %s: list failed (%s)" % (n.name, e))
            return
        if not clients:
            return
        ids = sorted(str(c.get("id")) for c in clients)
        cid = ids[p["pick"] % len(ids)]
        try:
            st, body = n.api("DELETE", "/api/v1/clients/%s" % cid)
        except OSError as e:
            self.log("kick %s on %s: %s" % (cid, n.name, e))
            return
        self.count("kick")
        self.log("kick client %s on %s: HTTP %d" % (cid, n.name, st))
        if st not in (200, 404):
            self.fail("DELETE /api/v1/clients/%s on %s answered HTTP %d: %r" % (cid, n.name, st, body[:200]))

    # -- the end

    def revive(self):
        """Every node up again: killed ones restarted, stopped ones continued."""
        for n in self.nodes.values():
            if n.state == "killed":
                n.start()
                self.log("restarted %s" % n.name)
            elif n.state == "stopped":
                n.node.resume()
                n.state = "up"
                self.log("SIGCONT %s" % n.name)

    def drop_clients(self):
        for pl in self.players:
            if pl is not None:
                self.received += pl.received()
                pl.close()
        for pl in self.players:
            if pl is not None:
                pl.join(6.0)
        self.players = [None] * MAX_PLAYERS
        for stream, proc, _ in self.pubs:
            proc.stop(2.0)
        self.pubs = []

    def final_play(self):
        """A fresh stream on the master plays on every node (RTMP) and on the
        edge (HTTP-FLV): the cluster survived."""
        master = self.nodes["master"]
        args = ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-re",
                "-stream_loop", "-1", "-i", self.clips["g2"], "-c", "copy", "-t", "60",
                "-f", "flv", master.node.url("final")]
        pub = rill.Proc("pub-final", args, os.path.join(rill.tmpdir("rill-chaos-ff-"), "ffmpeg.log"))
        self.log("final: publish 'final' to master; players on every node")
        players, flv = [], None
        try:
            # The origins' players wait for the publish; the edge's start once
            # the stream is on both origins (it answers a stream no origin has
            # with StreamNotFound / 404 at once, as it should).
            players = [(n.name, "rtmp", rtmp.RawPlayer(n.ip, n.port, "final").start())
                       for n in self.nodes.values() if n.name != "edge"]
            rill.wait_until(lambda: all(pl.count() >= 1 for _, _, pl in players), 15.0, 0.1)
            edge = self.nodes["edge"]
            players.append(("edge", "rtmp", rtmp.RawPlayer(edge.ip, edge.port, "final").start()))
            flv = FlvDrain(edge.ip, edge.http_port, "/live/final.flv").start()
            ok = rill.wait_until(lambda: all(pl.count() >= 5 for _, _, pl in players) and
                                 flv.bytes > 200000, 30.0, 0.2)
            if not ok:
                self.fail("after the schedule a fresh stream did not play everywhere within 30s: %s; "
                          "edge HTTP-FLV %d bytes (%s); publisher %s" % (
                              ", ".join("%s %s %d frames (%s)" % (nm, k, pl.count(), pl.error)
                                        for nm, k, pl in players),
                              flv.bytes, flv.error, rill.proc_state(pub)))
            self.log("final: every node plays (%s; edge flv %d bytes)" % (
                ", ".join("%s %d frames" % (nm, pl.count()) for nm, _, pl in players), flv.bytes))
        finally:
            for _, _, pl in players:
                pl.stop()
            if flv is not None:
                flv._stop = True
            pub.stop(2.0)

    def stop_nodes(self):
        for name in ("edge", "master", "slave"):
            n = self.nodes[name]
            t0 = time.monotonic()
            try:
                n.node.stop(grace=20.0)
            except TestFailure as e:
                self.fail("%s at SIGTERM: %s" % (name, e))
            n.state = "done"
            self.log("SIGTERM %s: exit 0 in %.1fs" % (name, time.monotonic() - t0))

    def run(self):
        self.setup()
        steps = schedule(self.seed)
        deadline = self.t0 + self.seconds
        next_at = time.monotonic()
        last_check = 0.0
        n_steps = 0
        # bounded: by time, and by count (a step takes >= 0.1 s of schedule)
        while time.monotonic() < deadline and n_steps < self.seconds * 20 + 10:
            self.tick()
            now = time.monotonic()
            if now - last_check >= 2.0:
                self.check_nodes()
                last_check = now
            if now >= next_at:
                a, p = next(steps)
                n_steps += 1
                self.do(a, p)
                next_at = now + p["gap"]
            time.sleep(0.05)
        self.log("schedule over: %d steps" % n_steps)
        # The players (stalled ones too) and publishers of the schedule stay
        # on through the last check and the SIGTERMs: shutdown under load.
        self.revive()
        self.check_nodes()
        self.final_play()
        self.check_nodes()
        self.log("SIGTERM with %d players (%d stalled) and %d publishers on" % (
            sum(1 for x in self.players if x is not None),
            sum(1 for x in self.players if x is not None and x.stall_until is not None), len(self.pubs)))
        try:
            self.stop_nodes()
        finally:
            self.drop_clients()
        self.check_nodes()
        self.n_steps = n_steps

    def summary(self):
        return "seed %d: %d steps in %ds (%s); players read %.1f MB, at most %d at once" % (
            self.seed, getattr(self, "n_steps", 0), self.seconds,
            ", ".join("%s %d" % kv for kv in sorted(self.counts.items())), self.received / 1e6, self.peak)

    def report(self, err, max_steps=150):
        """Seed, step log and node log tails, for a failure."""
        lines = ["chaos FAILED with seed %d: %s" % (self.seed, err),
                 "replay: make chaos CHAOS_SEED=%d CHAOS_SECONDS=%d" % (self.seed, self.seconds),
                 "step log (%d steps%s):" % (len(self.steps),
                                             ", last %d" % max_steps if len(self.steps) > max_steps else "")]
        lines += self.steps[-max_steps:]
        for n in self.nodes.values():
            for p in n.logs:
                lines.append("---- %s log %s (tail)" % (n.name, p))
                try:
                    with open(p, "rb") as f:
                        lines += f.read().decode("utf-8", "replace").splitlines()[-25:]
                except OSError as e:
                    lines.append("(unreadable: %s)" % e)
        return "\n".join(lines)


def reset_registry():
    """Forget what lib.rill registered for the previous round."""
    del rill._procs[:]
    del rill._nodes[:]
    del rill._players[:]
    del rill._tmpdirs[:]


def run_round(seed, seconds, out=sys.stdout):
    """One round; raises ChaosFailure with the full report on a failure.
    Returns the Round (summary(), counts)."""
    r = Round(seed, seconds, out)
    try:
        r.run()
    except Exception as e:  # noqa: BLE001 - every failure gets the seed and the step log
        raise ChaosFailure(r.report("%s: %s" % (type(e).__name__, e))) from e
    return r


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--seconds", type=int, default=int(os.environ.get("CHAOS_SECONDS") or 60))
    ap.add_argument("--seed", type=int, default=int(os.environ["CHAOS_SEED"]) if os.environ.get("CHAOS_SEED") else None)
    ap.add_argument("--round", type=int, default=int(os.environ.get("CHAOS_ROUND") or 300))
    a = ap.parse_args()
    if "RILL_TEST_SLOT" not in os.environ:
        rill._slot = 70     # 127.0.0.220 and up: clear of the integration tests' addresses
    # a private copy of the binary: a rebuild during a long run must not
    # swap it under the nodes restarted after a kill
    bindir = tempfile.mkdtemp(prefix="rill-chaos-bin-")
    try:
        shutil.copy2(rill.rill_bin(), os.path.join(bindir, "rill"))
    except OSError as e:
        print("chaos: cannot copy %s: %s" % (rill.rill_bin(), e), flush=True)
        return 2
    os.environ["RILL_BIN"] = os.path.join(bindir, "rill")
    try:
        return run_rounds(a)
    finally:
        shutil.rmtree(bindir, ignore_errors=True)


def run_rounds(a):
    seed = a.seed if a.seed is not None else random.SystemRandom().randrange(1 << 31)
    left = a.seconds
    rounds = 0
    t_start = time.monotonic()
    while left > 0 and rounds < 10000:
        secs = min(left, a.round)
        print("chaos: round %d, seed %d, %ds (replay: make chaos CHAOS_SEED=%d CHAOS_SECONDS=%d)" % (
            rounds + 1, seed, secs, seed, secs), flush=True)
        try:
            r = run_round(seed, secs)
        except ChaosFailure as e:
            print(str(e), flush=True)
            print("chaos: FAILED in round %d (seed %d); node logs kept in %s" % (
                rounds + 1, seed, " ".join(n.dir for n in rill._nodes)), flush=True)
            rill.cleanup()
            return 1
        print("chaos: ok, " + r.summary(), flush=True)
        rill.cleanup()
        rill.remove_tmpdirs()
        reset_registry()
        rounds += 1
        left -= secs
        seed = random.SystemRandom().randrange(1 << 31)
    print("chaos: %d round(s) passed in %.0fs" % (rounds, time.monotonic() - t_start), flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
