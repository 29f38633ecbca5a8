"""Edge: pull on demand from a list of origins, fail over without players noticing.

Every node is a real process on its own 127.0.0.x and free port. The players
through an edge are a python RTMP player (lib.rtmp.RawPlayer) and an HTTP-FLV
player (lib.httpflv.HttpFlvPlayer); both record the wall-clock arrival of every
video frame, so "the longest gap" is what a viewer would see as a freeze.

HTTP-FLV assertions are left out (and listed as SKIPPED under the test's PASS
line) only when the edge answers the .flv URL with 404 or refuses the
connection, i.e. while HTTP-FLV is not served there yet; any other failure of
the HTTP-FLV player fails the test.

One cluster (origins A and B, an edge with `origin A B`) goes through: A down
at the start, SIGKILL of the origin in use, SIGSTOP/SIGCONT of the origin in
use, and the publisher moving from the origin in use to the other one. Other
tests: one upstream for 30 players and the grace stop, publish through an edge
(and an edge chained to an edge), token_traverse, give-up, and nginx-rtmp as
the origin and as the puller.
"""

import http.server
import re
import shutil
import socket
import socketserver
import subprocess
import threading
import time
import types

from lib import httpflv
from lib import nginx
from lib import rtmp
from lib import rill
from lib.rill import check

STREAM = "s"
LOG_TS = re.compile(r"^\[(\d{4})-(\d\d)-(\d\d) (\d\d):(\d\d):(\d\d)\.(\d{3})\]")


# ---------------------------------------------------------------- helpers

def addr(node):
    return "%s:%d" % (node.ip, node.port)


def cluster(origins, extra=""):
    return "    cluster { mode remote; origin %s; %s}\n" % (" ".join(addr(o) for o in origins), extra)


def edge_node(name, origins, extra="", http=True, **kw):
    """An edge of `origins`; with http=True it also has an HTTP server with
    an HTTP-FLV mount (node.http_port), as the HTTP-FLV work will serve it."""
    ip = rill.new_ip()
    port = rill.free_port(ip)
    vhost_extra = cluster(origins, extra)
    global_extra = ""
    http_port = None
    if http:
        http_port = rill.free_port(ip)
        while http_port == port:
            http_port = rill.free_port(ip)
        global_extra = "http_server { enabled on; listen %s:%d; }\n" % (ip, http_port)
        vhost_extra += "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n"
    n = rill.Node(name=name, ip=ip, port=port, vhost_extra=vhost_extra, global_extra=global_extra, **kw)
    n.http_port = http_port
    return n


def flv_player(node, stream=STREAM, app="live"):
    pl = httpflv.HttpFlvPlayer(node.ip, node.http_port, "/%s/%s.flv" % (app, stream))
    rill._players.append(pl)      # cleanup() stops it with the RTMP players
    return pl.start()


def start_flv(node, what):
    """An HTTP-FLV player of node's stream, or None (with a SKIPPED note) when
    node does not serve HTTP-FLV (404 or connection refused)."""
    pl = flv_player(node)
    st = pl.wait_status(5.0)
    if pl.not_served():
        rill.note_skip("HTTP-FLV %s: %s answered %s for %s (HTTP-FLV not served yet)" % (
            what, node.name, st, pl.url()))
        pl.stop()
        return None
    check(st == 200, "expected HTTP 200 for %s on %s; %s" % (pl.url(), node.name, pl.describe()))
    return pl


def log_ms(line):
    """Milliseconds (wall clock of the node) of a rill log line, or None."""
    m = LOG_TS.match(line)
    if not m:
        return None
    y, mo, d, h, mi, s, ms = (int(x) for x in m.groups())
    return ((((d * 24 + h) * 60 + mi) * 60) + s) * 1000 + ms   # one day is enough: differences only


def log_lines(node, needle):
    return [l for l in node.log().splitlines() if needle in l]


def current_origin(edge):
    """host:port the edge's upstream last started playing from."""
    lines = log_lines(edge, "playing from origin ")
    return lines[-1].rsplit("playing from origin ", 1)[1].strip() if lines else None


def wait_playing_from(edge, origin, timeout, after=0):
    """Wait until the edge logs playing from `origin` (its n-th such line, n > after)."""
    def ok():
        lines = log_lines(edge, "playing from origin " + addr(origin))
        return len(lines) > after
    return rill.wait_until(ok, timeout)


def wait_published(node, stream, timeout=10.0, count=1):
    return rill.wait_until(
        lambda: len(log_lines(node, "publish __defaultVhost__/live/%s" % stream)) >= count, timeout)


def publish_on(node, name, stream=STREAM):
    pub = rill.publish(node.url(stream), name=name)
    n = len(log_lines(node, "publish __defaultVhost__/live/%s" % stream)) if node.alive() else 0
    check(wait_published(node, stream, 10.0, n + 1),
          "expected %s to log the publish of %s within 10 s; %s; log:\n%s" % (
              node.name, stream, rill.proc_state(pub), node.tail(8)))
    return pub


def first_frame_delay(pl, timeout):
    """Seconds from the player's start to its first video frame, or None."""
    pl.wait_frames(1, timeout)
    fr = pl.frames()
    return fr[0][0] - pl.started_at if fr else None


def check_gap(players, since, limit, what, until=None):
    """Each (name, player) stayed connected and its longest video gap in
    [since, until] is under limit seconds. Returns {name: gap}."""
    gaps = {}
    for name, pl in players:
        if pl is None:
            continue
        check(pl.error is None and pl.alive(),
              "expected the %s player to stay connected %s; it ended: %s" % (name, what, pl.describe()))
        g = pl.max_gap(since, until)
        gaps[name] = g
        check(g < limit, "expected the %s player's longest video gap %s to be under %.1fs; it was %.2fs (%s)" % (
            name, what, limit, g, pl.describe()))
    return gaps


def fmt_gaps(gaps):
    return ", ".join("%s %.2fs" % kv for kv in sorted(gaps.items()))


# ---------------------------------------------------------------- failover

@rill.timeout(150)
def test_edge_failover_origin_down_kill_stop_and_publisher_move():
    report = []
    A = rill.Node(name="originA")            # not started: A is down at the start
    B = rill.Node(name="originB").start()
    edge = edge_node("edge", [A, B]).start()
    pubs = {"B": publish_on(B, "publisherB")}
    time.sleep(0.5)                          # B's GOP cache holds a keyframe

    # A down (nothing listens): the first frame reaches a new player within 1 s.
    rtmp = rill.raw_player(edge, STREAM)
    dt = first_frame_delay(rtmp, 5.0)
    check(dt is not None and dt <= 1.0,
          "expected the first video frame within 1 s of playing through the edge while origin A is down; "
          "%s (%s)" % ("it took %.2fs" % dt if dt is not None else "none in 5 s", rtmp.describe()))
    check(current_origin(edge) == addr(B), "expected the edge to play from B (A is down); it logged %s" %
          current_origin(edge))
    report.append("A down at start: first frame %.2fs after play" % dt)
    flv = start_flv(edge, "players")
    if flv:
        fdt = first_frame_delay(flv, 5.0)
        check(fdt is not None and fdt <= 2.0, "expected the HTTP-FLV player's first frame within 2 s; %s" %
              flv.describe())
        report.append("HTTP-FLV first frame %.2fs" % fdt)
    players = [("RTMP", rtmp), ("HTTP-FLV", flv)]

    # A comes up with the stream too.
    A.start()
    pubs["A"] = publish_on(A, "publisherA")
    time.sleep(1.5)
    nodes = {"A": A, "B": B}
    names = {addr(A): "A", addr(B): "B"}
    seq_before = len([v for v in rtmp.video if v[3]])
    switches = 0

    # SIGKILL the origin in use: gap under 1.5 s, players stay connected.
    # An ffprobe (libavformat, as ffplay and VLC read RTMP) plays across it too.
    cur = names[current_origin(edge)]
    other = "A" if cur == "B" else "B"
    probe = rill.Probe(edge.url(STREAM), seconds=7)
    check(rill.wait_until(lambda: len(probe.video()) >= 10 or not probe.proc.alive(), 8.0),
          "expected ffprobe through the edge to decode video; %s" % rill.sanitize_lines(probe.errors(), 5))
    # count the edge's lines before the kill: it may switch (and log) before
    # kill() returns
    seen = len(log_lines(edge, "playing from origin " + addr(nodes[other])))
    t0 = time.monotonic()
    nodes[cur].kill()
    ok = wait_playing_from(edge, nodes[other], 5.0, seen)
    check(ok, "expected the edge to switch to %s within 5 s of SIGKILL of %s; edge log:\n%s" % (
        other, cur, edge.tail(10)))
    switches += 1
    time.sleep(max(0.0, t0 + 4.0 - time.monotonic()))
    gaps = check_gap(players, t0, 1.5, "across SIGKILL of the origin in use (%s)" % cur)
    report.append("SIGKILL %s: longest gap %s" % (cur, fmt_gaps(gaps)))
    rc = probe.wait(20)
    video = probe.video()
    arr = [f["arrival"] for f in video]
    pgap = rill.max_gap([a for a in arr if a >= t0 - 1.0])
    bad = rill.non_monotonic([rill.frame_time(f) for f in video])
    check(rc == 0 and len(video) >= 100 and bad is None and pgap < 1.5,
          "expected ffprobe through the edge to play on across SIGKILL of %s (exit 0, >= 100 video frames, "
          "increasing timestamps, no gap >= 1.5 s); exit %s, %d frames, timestamps %s, gap %.2fs: %s" % (
              cur, rc, len(video), "ok" if bad is None else "went back at %r" % (bad,), pgap,
              rill.sanitize_lines(probe.errors(), 5)))
    report.append("ffprobe across SIGKILL %s: %d video frames, increasing timestamps, longest gap %.2fs" % (
        cur, len(video), pgap))
    pubs[cur].stop(1.0)
    nodes[cur].restart()
    pubs[cur] = publish_on(nodes[cur], "publisher%s-2" % cur)
    time.sleep(1.5)

    # SIGSTOP the origin in use (a hung origin): noticed from the stream's
    # rhythm (about 0.3 s), gap under 1.5 s; SIGCONT disturbs nothing.
    cur = names[current_origin(edge)]
    other = "A" if cur == "B" else "B"
    n_other = len(log_lines(edge, "playing from origin " + addr(nodes[other])))
    t0 = time.monotonic()
    nodes[cur].pause()
    ok = wait_playing_from(edge, nodes[other], 6.0, n_other)
    check(ok, "expected the edge to switch to %s within 6 s of SIGSTOP of %s; edge log:\n%s" % (
        other, cur, edge.tail(10)))
    t_sw = time.monotonic() - t0
    switches += 1
    time.sleep(max(0.0, t0 + 4.5 - time.monotonic()))
    gaps = check_gap(players, t0, 1.5, "across SIGSTOP of the origin in use (%s)" % cur)
    report.append("SIGSTOP %s: longest gap %s, switched after %.2fs" % (
        cur, fmt_gaps(gaps), t_sw))
    t1 = time.monotonic()
    nodes[cur].resume()
    time.sleep(3.0)
    gaps = check_gap(players, t1, 1.0, "after SIGCONT of %s (it must disturb nothing)" % cur)
    check(current_origin(edge) == addr(nodes[other]),
          "expected the edge to stay on %s after SIGCONT of %s; it plays from %s" % (
              other, cur, current_origin(edge)))
    report.append("SIGCONT %s: longest gap in the 3 s after %s" % (cur, fmt_gaps(gaps)))
    for n in (A, B, edge):
        n.assert_running("after SIGSTOP/SIGCONT")

    # The publisher moves from the origin in use to the other one (which
    # stays up): first the other origin drops its own publisher, then the
    # encoder leaves the origin in use and starts on the other.
    cur = names[current_origin(edge)]
    other = "A" if cur == "B" else "B"
    pubs[other].stop(1.0)
    time.sleep(1.0)
    t0 = time.monotonic()
    pubs[cur].stop(1.0)
    pubs[other] = publish_on(nodes[other], "publisher%s-moved" % other)
    ok = wait_playing_from(edge, nodes[other], 6.0,
                           len(log_lines(edge, "playing from origin " + addr(nodes[other]))) - 1)
    switches += 1
    time.sleep(max(0.0, t0 + 5.0 - time.monotonic()))
    gaps = check_gap(players, t0, 3.0, "when the publisher moved from %s (in use) to %s" % (cur, other))
    check(current_origin(edge) == addr(nodes[other]),
          "expected the edge to play from %s after the publisher moved there; it plays from %s; log:\n%s" % (
              other, current_origin(edge), edge.tail(10)))
    report.append("publisher moved %s -> %s: longest gap %s" % (cur, other, fmt_gaps(gaps)))

    # Whole run: timestamps continue, new sequence headers came with each switch.
    for name, pl in players:
        rill.check_timestamps(name, pl)
    seq_after = len([v for v in rtmp.video if v[3]])
    check(seq_after - seq_before >= switches,
          "expected the RTMP player to get new sequence headers with each of the %d switches; got %d" % (
              switches, seq_after - seq_before))
    edge.assert_running("after the failovers")
    for name, pl in players:
        check(pl is None or (pl.error is None and pl.alive()),
              "expected the %s player to be connected still after every switch; %s" % (name, pl.describe()))
    report.append("%d switches, RTMP player got %d frames, %d sequence headers after A came up" % (
        switches, rtmp.count(), seq_after - seq_before))
    print("\n".join(report))


# ---------------------------------------------------------------- one upstream, grace

def _close_now(players):
    """Close players at once (FIN now, threads joined after): returns the
    monotonic time the last socket was shut down."""
    import socket as _s
    for pl in players:
        pl._stop = True
        sock = getattr(getattr(pl, "conn", None), "sock", None) or getattr(pl, "_sock", None)
        if sock is not None:
            try:
                sock.shutdown(_s.SHUT_RDWR)
            except OSError:
                pass
    t = time.monotonic()
    for pl in players:
        pl.stop()
    return t


def _upstream_conns(origin, edge):
    """Established TCP connections from the edge's process to origin's port
    (ss -tnp), or None when ss cannot tell."""
    if not shutil.which("ss"):
        return None
    try:
        r = subprocess.run(["ss", "-Htnp", "state", "established", "dst", addr(origin)],
                           capture_output=True, timeout=5, stdin=subprocess.DEVNULL)
    except (OSError, subprocess.TimeoutExpired):
        return None
    out = r.stdout.decode("utf-8", "replace")
    if r.returncode != 0 or ("pid=" not in out and out.strip()):
        return None
    return sum(1 for l in out.splitlines() if "pid=%d," % edge.proc.pid in l)


@rill.timeout(60)
def test_edge_rebases_after_the_new_origins_headers_with_time_jitter_off():
    """time_jitter off on the edge (timestamps passed on as they are, but for
    the rebase across origins). Origin B's publisher started 6 s before
    origin A's; the edge plays from A, then A is SIGKILLed. B's cached
    headers come at its timestamp 0 and its GOP at about 6 s: the rebase is
    set by B's first frame, so the player's video continues without a jump
    (before, the headers set it and the player jumped by B's stream age)."""
    ob = rill.start_node(name="origin-b")
    pub_b = publish_on(ob, "pub-b")
    time.sleep(6.0)
    oa = rill.start_node(name="origin-a")
    publish_on(oa, "pub-a")
    play = "gop_cache on; queue_length 10; mw_latency 0; time_jitter off;"
    edge = edge_node("edge", [oa, ob], extra="origin_read_timeout 2000; ", http=False, play=play).start()
    pl = rill.raw_player(edge, STREAM)
    check(pl.wait_frames(25, 15.0), "expected the edge's player to get frames from origin A; %s" % pl.describe())
    check(wait_playing_from(edge, oa, 5.0), "expected the edge to play from origin A first")
    time.sleep(1.0)
    t_kill = time.monotonic()
    oa.kill()
    check(wait_playing_from(edge, ob, 10.0), "expected the edge to switch to origin B")
    n = pl.count()
    check(rill.wait_until(lambda: pl.count() >= n + 50, 15.0), "expected frames from origin B; %s" % pl.describe())
    rill.check_timestamps("edge", pl, max_step_ms=1500, what="across the switch to an older stream (time_jitter off)")
    ts = [t for (a, t, _) in pl.frames() if a >= t_kill]
    print("after the switch: video timestamps %d..%d ms, largest step %d ms" % (
        ts[0], ts[-1], max(b - a for a, b in zip(ts, ts[1:]))), flush=True)
    check(pub_b.alive(), "expected origin B's publisher to go on")
    pl.stop()


@rill.timeout(120)
def test_edge_one_upstream_for_30_players_grace_stop_and_arrivals_at_the_grace_end():
    grace = 1000
    race_grace = 400
    report = []
    origin = rill.Node(name="origin").start()
    edge = edge_node("edge", [origin], "ingest_grace %d; " % grace, http=False).start()
    # With merged writes a player that leaves is noticed at its next write
    # (within mw_latency); low latency notices at once, so the grace period
    # starts when the test's clock says it does.
    edge2 = edge_node("edge-short-grace", [origin], "ingest_grace %d; " % race_grace, http=False,
                      play="gop_cache on; queue_length 10; mw_latency 0; mw_msgs 0;").start()
    pub = publish_on(origin, "publisher")
    time.sleep(0.5)

    # 30 players, one upstream.
    players = [rill.raw_player(edge, STREAM) for _ in range(30)]
    deadline = time.monotonic() + 15
    for i, pl in enumerate(players):
        check(pl.wait_frames(5, max(0.1, deadline - time.monotonic())),
              "expected each of 30 players on the edge to get 5 video frames within 15 s; player %d: %s" % (
                  i, pl.describe()))
    ups = log_lines(origin, "(edge upstream)")
    plays = log_lines(origin, "play __defaultVhost__/live/%s" % STREAM)
    check(len(ups) == 1 and len(plays) == 1,
          "expected exactly one upstream connection from the edge to the origin for 30 players; the origin "
          "logged %d edge connects and %d plays:\n%s" % (len(ups), len(plays), "\n".join(ups + plays)))
    ss = _upstream_conns(origin, edge)
    if ss is not None:
        check(ss == 1, "expected ss to show exactly 1 connection from the edge (pid %d) to the origin %s; it "
                       "shows %d" % (edge.proc.pid, addr(origin), ss))
    report.append("30 players: %d upstream connect(s) in the origin's log, ss: %s" % (len(ups), ss))
    check(len(log_lines(edge, "starting upstream")) == 1,
          "expected the edge to start one upstream; it logged:\n%s" % "\n".join(log_lines(edge, "upstream")))

    # The last player leaves: the upstream stops when the grace period ends.
    t_close = _close_now(players)
    ok = rill.wait_until(lambda: log_lines(edge, "upstream stopped"), (grace + 3000) / 1000.0)
    check(ok, "expected the edge to log 'upstream stopped' within %d ms of the last player leaving; log:\n%s" % (
        grace + 3000, edge.tail(10)))
    stop_line = log_lines(edge, "upstream stopped")[0]
    closes = [l for l in log_lines(edge, "close ") if " player " in l]
    check(len(closes) == 30, "expected the edge to log 30 player closes; it logged %d" % len(closes))
    dt = log_ms(stop_line) - max(log_ms(l) for l in closes)
    check("no players" in stop_line, "expected the upstream to stop for 'no players'; it logged: %s" % stop_line)
    check(grace - 50 <= dt <= grace + 500,
          "expected the upstream to stop %d..%d ms after the last player left (ingest_grace %d); it stopped "
          "after %d ms" % (grace - 50, grace + 500, grace, dt))
    ok = rill.wait_until(lambda: any("(edge upstream)" not in l and " player " in l
                                     for l in log_lines(origin, "close ")), 3.0)
    check(ok, "expected the origin to log the close of the edge's upstream; log:\n%s" % origin.tail(8))
    if ss is not None:
        check(rill.wait_until(lambda: _upstream_conns(origin, edge) == 0, 2.0),
              "expected no connection from the edge to the origin after the grace stop; ss shows %s" %
              _upstream_conns(origin, edge))
    report.append("grace %d ms: upstream stopped %d ms after the last player left (%.0f ms by the test's clock)" % (
        grace, dt, (time.monotonic() - t_close) * 1000))

    # A player arriving right at the end of the grace period (-100..+100 ms)
    # plays normally: 20 times on an edge with a short grace.
    pl = rill.raw_player(edge2, STREAM)
    check(pl.wait_frames(3, 5.0), "expected a player on the short-grace edge to play; %s" % pl.describe())
    firsts = []
    n = 20
    for i in range(n):
        offset = -0.1 + 0.2 * i / (n - 1)
        t_left = _close_now([pl])
        time.sleep(max(0.0, t_left + race_grace / 1000.0 + offset - time.monotonic()))
        pl = rill.raw_player(edge2, STREAM)
        ok = pl.wait_frames(5, 5.0)
        check(ok and pl.error is None,
              "expected a player arriving %+d ms from the end of the %d ms grace period to play (5 frames "
              "within 5 s), round %d; %s; edge log:\n%s" % (
                  offset * 1000, race_grace, i + 1, pl.describe(), edge2.tail(8)))
        firsts.append(pl.frames()[0][0] - pl.started_at)
        edge2.assert_running("after a player arrived at the end of the grace period")
    _close_now([pl])
    starts = len(log_lines(edge2, "starting upstream"))
    stops = len(log_lines(edge2, "upstream stopped"))
    report.append("grace-end arrivals (%d ms grace, offsets -100..+100 ms): 20/20 played, first frame %.2f..%.2fs, "
                  "%d fresh upstreams (the rest reused the one in its grace period)" % (
                      race_grace, min(firsts), max(firsts), starts - 1))
    check(starts - 1 >= 1 and stops >= 1,
          "expected some of the 20 arrivals to come after the upstream stopped (a fresh upstream); the edge "
          "started %d and stopped %d upstreams" % (starts, stops))
    check(pub.alive(), "expected the publisher to keep running; %s" % rill.proc_state(pub))
    print("\n".join(report))


# ---------------------------------------------------------------- publish through an edge, chains

@rill.timeout(90)
def test_edge_publish_through_edge_play_from_origin_second_edge_and_chained_edge():
    report = []
    origin = rill.Node(name="origin").start()
    unused = rill.Node(name="play-origin-unused")   # never started: plays on edge1 would fail there
    # edge1 pulls from `unused` but publishes to `origin` (publish_origin).
    edge1 = edge_node("edge1", [unused], "publish_origin %s; " % addr(origin), http=False).start()
    edge2 = edge_node("edge2", [origin], http=False).start()
    edge3 = edge_node("edge3-chained", [edge2], http=False).start()   # an edge whose origin is an edge
    pub = rill.publish(edge1.url(STREAM), name="publisher-on-edge1")
    check(wait_published(origin, STREAM, 10.0),
          "expected the publish on edge1 to reach the origin (publish_origin) within 10 s; %s; edge1 log:\n%s" % (
              rill.proc_state(pub), edge1.tail(10)))
    players = {}
    for n in (origin, edge1, edge2, edge3):
        players[n.name] = rill.raw_player(n, STREAM)
    for name, pl in players.items():
        check(pl.wait_frames(25, 10.0),
              "expected a player on %s to get 25 video frames within 10 s of the publish through edge1; %s" % (
                  name, pl.describe()))
        report.append("%s: first frame %.2fs after play" % (name, pl.frames()[0][0] - pl.started_at))
    t0 = time.monotonic()
    time.sleep(3.0)
    for name, pl in players.items():
        rill.check_player_smooth(pl, t0, "on %s (published through edge1)" % name)
    check(not log_lines(edge1, "starting upstream"),
          "expected edge1 to serve its local player from the local publish (no upstream pull); it logged:\n%s" %
          "\n".join(log_lines(edge1, "upstream")))
    check(len(log_lines(edge2, "(edge upstream)")) >= 1 and log_lines(edge3, "playing from origin " + addr(edge2)),
          "expected edge3 to pull from edge2 (an edge upstream connect on edge2); edge2 log:\n%s" % edge2.tail(8))
    probe = rill.Probe(edge3.url(STREAM), seconds=3)
    rc = probe.wait(20)
    video = probe.video()
    check(rc == 0 and len(video) >= 40,
          "expected ffprobe through the chained edge3 to exit 0 with >= 40 video frames; exit %s, %d frames: %s" % (
              rc, len(video), rill.sanitize_lines(probe.errors(), 5)))
    v, a = probe.stream("video"), probe.stream("audio")
    check(v and v.get("codec_name") == "h264" and a and a.get("codec_name") == "aac",
          "expected h264 + aac through the chained edge3; ffprobe saw %r" % probe.streams)
    bad = rill.non_monotonic([rill.frame_time(f) for f in video])
    check(bad is None, "expected increasing video timestamps through edge3; %r" % (bad,))
    report.append("ffprobe via edge3 (edge -> edge -> origin): %d video frames, h264 + aac" % len(video))
    for n in (origin, edge1, edge2, edge3):
        n.assert_running("after the publish through edge1")
    print("\n".join(report))


@rill.timeout(60)
def test_edge_publish_of_a_stream_it_pulls_goes_to_the_origin():
    """An edge pulling S for a player takes a publish of S the way it takes
    any publish: the origin answers. Busy while the origin's own publisher is
    live (the encoder gets the refusal, as for a stream the edge does not
    pull); once that one left, the publish goes to the origin and the edge's
    player gets it back through its pull."""
    origin = rill.Node(name="origin").start()
    edge = edge_node("edge", [origin], http=False).start()
    first = rill.publish(origin.url(STREAM), name="publisher-on-origin", size="320x180")
    other = rill.publish(origin.url("s2"), name="s2-publisher-on-origin", size="320x180")   # not pulled
    rill.watch(origin, STREAM, frames=1, pub=first)
    check(rill.wait_until(lambda: log_lines(origin, "] publish __defaultVhost__/live/s2"), 10),
          "expected the origin to log the publish of s2; %s" % rill.proc_state(other))
    pl = rill.raw_player(edge, STREAM)
    check(pl.wait_frames(10, 10), "expected a player on the edge to get 10 frames; %s" % pl.describe())

    def published_on_origin():
        return [l for l in origin.log().splitlines() if l.endswith("] publish __defaultVhost__/live/" + STREAM)]

    busy = rill.publish(edge.url(STREAM), name="second-publisher-on-edge", size="320x180")
    busy2 = rill.publish(edge.url("s2"), name="s2-publisher-on-edge", size="320x180")
    rc = busy.wait(10)
    rc2 = busy2.wait(10)
    check(rc2 is not None and rc2 != 0 and log_lines(edge, "live/s2 refused: stream busy at origin "),
          "expected a publish of s2 on the edge (which does not pull it) to be refused as busy by the origin "
          "too; ffmpeg exit %s; edge log:\n%s" % (rc2, edge.tail(8)))
    check(rc is not None and rc != 0 and log_lines(edge, "live/%s refused: stream busy at origin %s" % (STREAM, addr(origin))),
          "expected a publish of %s on the edge, while the origin's publisher is live, to be refused with the "
          "origin's answer (stream busy) and ffmpeg to exit with an error; ffmpeg exit %s; edge log:\n%s" % (
              STREAM, rc, edge.tail(8)))
    check(len(published_on_origin()) == 1 and first.alive(),
          "expected the origin to keep its first publisher; %s" % rill.proc_state(first))

    first.stop()
    check(rill.wait_until(lambda: log_lines(origin, "unpublish __defaultVhost__/live/" + STREAM), 5),
          "expected the origin to log the unpublish of its first publisher; log:\n%s" % origin.tail(5))
    t_move = time.monotonic()
    pub = rill.publish(edge.url(STREAM), name="publisher-on-edge", size="320x180")
    check(rill.wait_until(lambda: len(published_on_origin()) == 2, 10),
          "expected the publish on the edge (which pulls %s for a player) to reach the origin; %s; edge log:\n%s" % (
              STREAM, rill.proc_state(pub), edge.tail(10)))
    t_up = time.monotonic()
    check(log_lines(edge, "the edge pulls it for players, the publish goes to " + addr(origin)),
          "expected the edge to log that the publish goes to the origin; edge log:\n%s" % edge.tail(10))
    check(rill.wait_until(lambda: pl.count() and pl.frames()[-1][0] > t_up + 1.0, 15) and pl.error is None,
          "expected the edge's player to play on with the publish made on the edge (through its pull); %s; "
          "edge log:\n%s" % (pl.describe(), edge.tail(10)))
    check(pub.alive(), "expected the publisher on the edge to keep running; %s" % rill.proc_state(pub))
    t_back = next(t for t, *_ in pl.frames() if t > t_up)
    print("busy publish on the edge refused (ffmpeg exit %d); after the origin's publisher left, the publish on "
          "the edge reached the origin %.2f s after it started, and the edge's player had video again %.2f s "
          "after that" % (rc, t_up - t_move, t_back - t_up), flush=True)
    for n in (origin, edge):
        n.assert_running("after the publish on the edge")


# ---------------------------------------------------------------- token_traverse

class _HookHandler(http.server.BaseHTTPRequestHandler):
    """SRS-style hooks: 200 with body "0" allows, 403 denies. Allows a
    request whose JSON mentions token=good anywhere."""

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        body = self.rfile.read(min(n, 65536)) if n else b""
        allow = b"token=good" in body
        self.server.calls.append((self.path, allow, body.decode("utf-8", "replace")))
        out = b"0" if allow else b"denied"
        self.send_response(200 if allow else 403)
        self.send_header("Content-Type", "text/plain")
        self.send_header("Content-Length", str(len(out)))
        self.end_headers()
        self.wfile.write(out)

    def log_message(self, *a):
        pass


class _HookServer(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def hook_server():
    ip = rill.new_ip()
    srv = _HookServer((ip, 0), _HookHandler)
    srv.calls = []
    srv.timeout = 0.5
    t = threading.Thread(target=srv.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True)
    t.start()
    return srv


class TokenPlayer(rill.rtmp.RawPlayer):
    """A RawPlayer whose connect carries ?token=T in app and tcUrl, as an
    SRS client puts it (rtmp://host/live?token=T/stream)."""

    def __init__(self, node, stream, token):
        super().__init__(node.ip, node.port, stream, app="live?token=%s" % token)


@rill.timeout(60)
def test_edge_token_traverse_with_origin_hooks():
    hooks = hook_server()
    try:
        base = "http://%s:%d" % hooks.server_address
        origin = rill.Node(name="origin", vhost_extra=(
            "    http_hooks { enabled on; on_connect %s/on_connect; on_play %s/on_play; on_publish %s/on_publish; }\n"
            % (base, base, base))).start()
        no_hooks = rill.wait_until(lambda: "'http_hooks' is not supported" in origin.log(), 0.5)
        edge = edge_node("edge", [origin], "token_traverse on; ").start()
        # SRS clients carry the token in the tcUrl: rtmp://host/live?token=T/stream
        pub = rill.publish("rtmp://%s:%d/live?token=good/%s" % (origin.ip, origin.port, STREAM), name="publisher")
        check(wait_published(origin, STREAM, 10.0),
              "expected the publisher with token=good to publish on the origin; %s; origin log:\n%s; hooks: %r" % (
                  rill.proc_state(pub), origin.tail(8), hooks.calls[-5:]))
        good = TokenPlayer(edge, STREAM, "good")
        rill._players.append(good)
        good.start()
        check(good.wait_frames(10, 8.0),
              "expected a player with token=good to play through the edge (token_traverse on); %s; statuses %r; "
              "hooks %r; edge log:\n%s" % (good.describe(), good.conn and good.conn.statuses, hooks.calls[-6:],
                                          edge.tail(10)))
        # Every connect the edge makes to the origin for this player (connect
        # check, play check, upstream) carries its token.
        ups = log_lines(origin, "(edge upstream)")
        check(len(ups) >= 2 and all("token=good" in l for l in ups),
              "expected every connect from the edge to the origin to carry the player's ?token=good; the origin "
              "logged:\n%s" % "\n".join(ups))
        if no_hooks:
            rill.skip("the origin does not implement http_hooks yet (it logged \"directive 'http_hooks' is not "
                      "supported by rill yet, ignored\"), so nothing can refuse a bad token; checked without hooks: "
                      "a token=good player played through the edge and all %d edge connects to the origin carried "
                      "the token" % len(ups))
        bad = TokenPlayer(edge, STREAM, "bad")
        rill._players.append(bad)
        bad.start()
        ok = rill.wait_until(lambda: not bad.alive(), 8.0)
        check(ok and bad.count() == 0 and bad.error,
              "expected the edge to refuse a player with token=bad (the origin's hook denies it); %s; hooks %r" % (
                  bad.describe(), hooks.calls[-6:]))
        check(log_lines(edge, "token_traverse"),
              "expected the edge to log the refusal (token_traverse); log:\n%s" % edge.tail(10))
        denied = [c for c in hooks.calls if not c[1]]
        check(denied, "expected the origin's hooks to have denied something (token=bad); calls %r" % hooks.calls)
        print("good token played (%d frames); bad token refused: %s; %d hook calls, %d denied" % (
            good.count(), bad.error, len(hooks.calls), len(denied)))
        # HTTP-FLV players: the edge checks their play (with the URL's params) on the origin.
        fgood = httpflv.HttpFlvPlayer(edge.ip, edge.http_port, "/live/%s.flv?token=good" % STREAM)
        rill._players.append(fgood)
        fgood.start()
        if fgood.wait_status(5.0) in ("refused", 404) and not fgood.count():
            rill.note_skip("HTTP-FLV token_traverse: the edge answered %s for %s (HTTP-FLV not served)" % (
                fgood.status, fgood.url()))
            return
        check(fgood.wait_frames(10, 8.0),
              "expected an HTTP-FLV player with token=good to play through the edge; %s" % fgood.describe())
        fbad = httpflv.HttpFlvPlayer(edge.ip, edge.http_port, "/live/%s.flv?token=bad" % STREAM)
        rill._players.append(fbad)
        fbad.start()
        st = fbad.wait_status(8.0)
        check(st == 403 and fbad.count() == 0,
              "expected the edge to answer an HTTP-FLV player with token=bad with 403 (token_traverse); %s" %
              fbad.describe())
        print("HTTP-FLV: good token played (%d frames), bad token got %s" % (fgood.count(), st))
    finally:
        hooks.shutdown()
        hooks.server_close()


# ---------------------------------------------------------------- give-up

@rill.timeout(60)
def test_edge_gives_up_when_no_origin_answers_and_keeps_running():
    give_up = 3000
    o1 = rill.Node(name="origin1-down")
    o2 = rill.Node(name="origin2-down")
    edge = edge_node("edge", [o1, o2], "origin_give_up %d; " % give_up, http=False).start()
    pl = rill.raw_player(edge, STREAM)
    ok = rill.wait_until(lambda: not pl.alive(), give_up / 1000.0 + 5.0)
    check(ok, "expected the edge to close the player within %.1f s when no origin answers (origin_give_up %d); "
              "it is still connected; edge log:\n%s" % (give_up / 1000.0 + 5.0, give_up, edge.tail(10)))
    took = pl.closed_at - pl.play_sent_at if pl.play_sent_at else None
    statuses = pl.conn.statuses if pl.conn else []
    failed = [s for s in statuses if s.get("level") == "error"]
    check(failed and failed[-1].get("code") == "NetStream.Play.Failed",
          "expected the player to get an error onStatus NetStream.Play.Failed before the close; got %r" % statuses)
    check(took is not None and give_up / 1000.0 - 0.2 <= took <= give_up / 1000.0 + 1.5,
          "expected the player to be closed %.1f..%.1f s after its play (origin_give_up %d ms); it took %s" % (
              give_up / 1000.0 - 0.2, give_up / 1000.0 + 1.5, give_up, took))
    check(log_lines(edge, "every origin failed"),
          "expected the edge to log that every origin failed; log:\n%s" % edge.tail(10))
    edge.assert_running("after giving up")
    # The edge still works: an origin comes up, a new player plays.
    o2.start()
    pub = publish_on(o2, "publisher")
    time.sleep(0.5)
    pl2 = rill.raw_player(edge, STREAM)
    check(pl2.wait_frames(5, 5.0),
          "expected a new player to play through the edge once an origin has the stream; %s; edge log:\n%s" % (
              pl2.describe(), edge.tail(10)))
    print("player closed %.2fs after play with %s (%s); a later player played (first frame %.2fs)" % (
        took, failed[-1].get("code"), failed[-1].get("description"), pl2.frames()[0][0] - pl2.started_at))


# ---------------------------------------------------------------- nginx-rtmp interop

@rill.timeout(60)
def test_edge_pulls_from_nginx_rtmp_origin():
    ok, why = nginx.available()
    check(ok, "expected nginx with the RTMP module: " + why)
    ng = nginx.Nginx()
    pub = rill.publish(ng.url(STREAM), name="publisher-on-nginx")
    time.sleep(1.5)
    check(pub.alive(), "expected ffmpeg to keep publishing on nginx-rtmp; %s; nginx log:\n%s" % (
        rill.proc_state(pub), ng.log(10)))
    edge = edge_node("edge", [ng], http=False).start()
    pl = rill.raw_player(edge, STREAM)
    check(pl.wait_frames(25, 10.0),
          "expected a player on our edge to get 25 video frames pulled from nginx-rtmp within 10 s; %s; edge log:\n%s"
          "\nnginx log:\n%s" % (pl.describe(), edge.tail(10), ng.log(10)))
    first = pl.frames()[0][0] - pl.started_at
    t0 = time.monotonic()
    probe = rill.Probe(edge.url(STREAM), seconds=3)
    rc = probe.wait(20)
    video = probe.video()
    check(rc == 0 and len(video) >= 40,
          "expected ffprobe through the edge (origin nginx-rtmp) to exit 0 with >= 40 video frames; exit %s, %d "
          "frames: %s" % (rc, len(video), rill.sanitize_lines(probe.errors(), 5)))
    v, a = probe.stream("video"), probe.stream("audio")
    check(v and v.get("codec_name") == "h264" and a and a.get("codec_name") == "aac",
          "expected h264 + aac through the edge from nginx-rtmp; ffprobe saw %r" % probe.streams)
    bad = rill.non_monotonic([rill.frame_time(f) for f in video])
    check(bad is None, "expected increasing video timestamps through the edge from nginx-rtmp; %r" % (bad,))
    rill.check_player_smooth(pl, t0, "pulling from nginx-rtmp")
    check(ng.alive(), "expected nginx-rtmp to keep running; %s" % rill.proc_state(ng.proc))
    edge.assert_running("after pulling from nginx-rtmp")
    print("edge <- nginx-rtmp: first frame %.2fs, ffprobe %d video frames h264 + aac" % (first, len(video)))


@rill.timeout(60)
def test_nginx_rtmp_pulls_from_our_origin():
    origin = rill.Node(name="origin").start()
    pub = publish_on(origin, "publisher")
    ng = nginx.Nginx(apps={"live": "live on; pull rtmp://%s/live;" % addr(origin)})
    probe = rill.Probe(ng.url(STREAM), seconds=4)
    rc = probe.wait(25)
    video = probe.video()
    check(rc == 0 and len(video) >= 40,
          "expected ffprobe of nginx-rtmp (pulling from our origin) to exit 0 with >= 40 video frames; exit %s, %d "
          "frames: %s\nnginx log:\n%s\norigin log:\n%s" % (rc, len(video), rill.sanitize_lines(probe.errors(), 5),
                                                          ng.log(10), origin.tail(8)))
    v, a = probe.stream("video"), probe.stream("audio")
    check(v and v.get("codec_name") == "h264" and a and a.get("codec_name") == "aac",
          "expected h264 + aac from nginx-rtmp pulling our origin; ffprobe saw %r" % probe.streams)
    bad = rill.non_monotonic([rill.frame_time(f) for f in video])
    check(bad is None, "expected increasing video timestamps from nginx-rtmp pulling our origin; %r" % (bad,))
    plays = log_lines(origin, "play __defaultVhost__/live/%s" % STREAM)
    check(plays, "expected the origin to log nginx-rtmp's play; log:\n%s" % origin.tail(8))
    origin.assert_running("while nginx-rtmp pulled from it")
    check(pub.alive(), "expected the publisher to keep running; %s" % rill.proc_state(pub))
    print("nginx-rtmp pull <- our origin: ffprobe %d video frames, h264 + aac" % len(video))


# ---------------------------------------------------------------- a bad createStream answer

class FakeOrigin:
    """An RTMP origin that accepts connect and answers each createStream with
    the next number of `ids` (the last one again once they run out), and
    records every command it gets. Bounded: at most 50 connections, each
    served for at most 5 s."""

    def __init__(self, ip, ids):
        self.ip = ip
        self.ids = list(ids)
        self.served = []        # the number each createStream got
        self.commands = []
        self.errors = []
        self.lsock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.lsock.bind((ip, 0))
        self.lsock.listen(16)
        self.lsock.settimeout(0.2)
        self.port = self.lsock.getsockname()[1]
        self.stopping = False
        self.thread = threading.Thread(target=self._accept, daemon=True)
        self.thread.start()

    def _accept(self):
        n = 0
        while not self.stopping and n < 50:
            try:
                s, _ = self.lsock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            n += 1
            threading.Thread(target=self._serve, args=(s,), daemon=True).start()

    def _serve(self, sock):
        deadline = time.monotonic() + 5.0
        try:
            c = rtmp.RtmpConn.accepted(sock, timeout=1.0)
            c.serve_handshake()
            while not self.stopping and time.monotonic() < deadline:
                try:
                    m = c.read_message()
                except socket.timeout:
                    continue
                if m.type != rtmp.MSG_CMD_AMF0:
                    continue
                v = rtmp.amf0_decode_all(m.payload)
                self.commands.append(v[0])
                if v[0] == "connect":
                    c.send_message(3, rtmp.MSG_CMD_AMF0, rtmp.amf0_encode_all(
                        "_result", v[1], {"fmsVer": "FMS/3,0,1,123"},
                        {"level": "status", "code": "NetConnection.Connect.Success"}))
                elif v[0] == "createStream":
                    sid = self.ids[min(len(self.served), len(self.ids) - 1)]
                    self.served.append(sid)
                    c.send_message(3, rtmp.MSG_CMD_AMF0, rtmp.amf0_encode_all("_result", v[1], None, sid))
        except (rtmp.RtmpError, OSError, ValueError, IndexError) as e:
            self.errors.append(repr(e))
        finally:
            sock.close()

    def stop(self):
        self.stopping = True
        self.lsock.close()
        self.thread.join(2.0)


@rill.timeout(60)
def test_edge_refuses_a_bad_create_stream_answer():
    """An origin whose createStream answer is not a stream id (NaN, negative,
    over 32 bits, not whole): the edge refuses it with a clear log line and
    never plays on it (no `play` reaches that origin), and keeps running."""
    ip = rill.new_ip()
    bad = [float("nan"), -1.0, 2.0 ** 40, 1.5]
    fake = FakeOrigin(ip, bad)
    try:
        o = types.SimpleNamespace(ip=ip, port=fake.port)
        edge = edge_node("edge", [o], "origin_backoff 100; origin_give_up 20000; ", http=False).start()
        pl = rill.raw_player(edge, STREAM)
        ok = rill.wait_until(lambda: len(fake.served) >= len(bad) + 1, 15.0)
        check(ok, "expected the edge to ask the fake origin for a stream at least %d times within 15 s; it asked %d "
                  "times (commands %r, errors %r); edge log:\n%s" % (len(bad) + 1, len(fake.served),
                                                                     fake.commands[-8:], fake.errors, edge.tail(10)))
        check("play" not in fake.commands,
              "expected the edge never to send play after a bad createStream answer; the origin got %r" %
              fake.commands)
        refusals = log_lines(edge, "createStream answered")
        check(len(refusals) >= len(bad), "expected the edge to log each bad createStream answer (%d); it logged %d; "
                                         "log:\n%s" % (len(bad), len(refusals), edge.tail(10)))
        check(pl.count() == 0, "expected no frames for the player; it got %d" % pl.count())
        edge.assert_running("after bad createStream answers")
        print("refused createStream answers: %s" % "; ".join(l.split("] ", 1)[-1] for l in refusals[:4]), flush=True)
    finally:
        fake.stop()
