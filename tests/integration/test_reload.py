"""Config reload (SIGHUP and GET /api/v1/raw?rpc=reload) without dropping
anyone: forward destinations of a live stream change, an edge's origin list
changes under load, a new vhost and an http_remux appear, and a conf with an
error is refused with FILE:LINE: reason while the running config stays.

Each test writes the node's conf file again (same listen, pid and ports) and
asks for a reload; connected publishers and players are checked for gaps
over 1 s across it."""

import json
import os
import re
import signal
import time
import urllib.error
import urllib.parse
import urllib.request

from lib import httpflv, rill
from lib.rill import check

API_ALLOWED = 5.0


# ---------------------------------------------------------------- helpers

class Reloadable:
    """A node whose conf this test rewrites: the top of the file (listen,
    pid, http_server/http_api) stays, the rest (vhosts, global extras) is
    given to start() and reload()."""

    def __init__(self, name, http=False, api=False):
        self.ip = rill.new_ip()
        self.port = rill.free_port(self.ip)
        ports = {self.port}
        self.http_port = self.api_port = None
        if http:
            self.http_port = self._port(ports)
        if api:
            self.api_port = self._port(ports)
        self.node = rill.Node(name=name, ip=self.ip, port=self.port)
        self.reloads = 0

    def _port(self, taken):
        while True:
            p = rill.free_port(self.ip)
            if p not in taken:
                taken.add(p)
                return p

    def conf_text(self, body):
        top = ("listen %s:%d;\nmax_connections 1000;\ndaemon off;\nsrs_log_tank console;\n"
               "srs_log_level trace;\npid %s;\n" % (self.ip, self.port, os.path.join(self.node.dir, "rill.pid")))
        if self.http_port:
            top += "http_server { enabled on; listen %s:%d; }\n" % (self.ip, self.http_port)
        if self.api_port:
            top += "http_api { enabled on; listen %s:%d; }\n" % (self.ip, self.api_port)
        return top + body

    def write(self, body):
        text = self.conf_text(body)
        with open(self.node.conf_path, "w") as f:
            f.write(text)
        return text

    def start(self, body):
        self.write(body)
        self.node.start()
        if self.api_port:
            check(rill.wait_until(lambda: self.api("/api/v1/versions")[0] == 200, 5.0, 0.1),
                  "expected %s's API on %s:%d" % (self.node.name, self.ip, self.api_port))
        return self

    def applied(self):
        return self.node.log().count("reload: %s applied" % self.node.conf_path)

    def sighup(self, body=None, expect_ok=True, timeout=5.0):
        """Rewrite the conf (when body is given) and send SIGHUP; wait for the
        log to say it was applied (or refused). Returns the refusal line."""
        if body is not None:
            self.write(body)
        n_ok = self.applied()
        n_bad = self.node.log().count("reload refused")
        self.node.proc.kill(signal.SIGHUP)
        ok = rill.wait_until(lambda: self.applied() > n_ok or self.node.log().count("reload refused") > n_bad,
                             timeout, 0.05)
        check(ok, "expected %s to log the reload within %.0fs of SIGHUP" % (self.node.name, timeout))
        refused = [l for l in self.node.log().splitlines() if "reload refused" in l]
        if expect_ok:
            check(self.applied() > n_ok, "expected %s to apply the new conf on SIGHUP; it refused it: %s" % (
                self.node.name, refused[-1] if refused else "?"))
            return None
        check(len(refused) > n_bad, "expected %s to refuse the conf on SIGHUP; it applied it" % self.node.name)
        return refused[-1]

    def api(self, path, timeout=API_ALLOWED):
        """(HTTP status, JSON document or None) of GET path on the API."""
        url = "http://%s:%d%s" % (self.ip, self.api_port, path)
        try:
            with urllib.request.urlopen(url, timeout=timeout) as r:
                st, body = r.status, r.read()
        except urllib.error.HTTPError as e:
            st, body = e.code, e.read()
        except OSError:
            return None, None
        try:
            return st, json.loads(body)
        except ValueError:
            return st, None

    def api_reload(self, body=None):
        if body is not None:
            self.write(body)
        return self.api("/api/v1/raw?rpc=reload")

    def flv(self, path):
        pl = httpflv.HttpFlvPlayer(self.ip, self.http_port, path)
        rill._players.append(pl)
        return pl.start()


def vhost(name="__defaultVhost__", extra=""):
    return "vhost %s {\n    play { %s }\n    publish { %s }\n%s}\n" % (
        name, rill.DEFAULT_PLAY, rill.DEFAULT_PUBLISH, extra)


def forward_to(*nodes):
    return "    forward { enabled on; destination %s; backoff_min 200; backoff_max 1000; }\n" % " ".join(
        "%s:%d" % (n.ip, n.port) for n in nodes)


def smooth(players, since, what):
    for p in players:
        rill.check_player_smooth(p, since, what)
    gaps = [p.max_gap(since) for p in players]
    print("%s: %d players, longest gap %.2fs" % (what, len(players), max(gaps)), flush=True)


# ---------------------------------------------------------------- (a) forward destinations

@rill.timeout(90)
def test_reload_changes_forward_destinations_of_a_live_stream():
    """A master forwards a live stream to slave A. SIGHUP with slave B as the
    destination instead: B gets the stream, A loses it (it unpublishes), and
    the publisher and the master's player go on. Then the API's reload with
    both: A gets it again, B's session is kept."""
    a = rill.start_node(name="slaveA")
    b = rill.start_node(name="slaveB")
    m = Reloadable("master", api=True).start(vhost(extra=forward_to(a)))
    pub = rill.publish(m.node.url("fw"))
    on_m = rill.watch(m.node, "fw", frames=10, timeout=15, pub=pub)
    on_a = rill.watch(a, "fw", frames=10, timeout=15, pub=pub)
    on_b = rill.raw_player(b, "fw")            # waits for a publisher on B
    time.sleep(1.0)
    check(on_b.count() == 0, "expected slave B to have no stream before the reload; its player got %d frames" %
          on_b.count())

    t0 = time.monotonic()
    m.sighup(vhost(extra=forward_to(b)))
    ok = on_b.wait_frames(25, 10.0)
    check(ok, "expected slave B to get the stream within 10 s of the reload that made it a destination; its "
              "player got %d frames (error %s)" % (on_b.count(), on_b.error))
    first_b = on_b.frames()[0][0] - t0
    ok = rill.wait_until(lambda: "unpublish __defaultVhost__/live/fw" in a.log(), 5.0)
    check(ok, "expected slave A to unpublish fw within 5 s of the reload that removed it")
    n_a = on_a.count()
    time.sleep(2.0)
    check(on_a.count() - n_a <= 2, "expected slave A's player to get nothing once A is no longer a destination; "
                                   "it got %d more frames in 2 s" % (on_a.count() - n_a))
    log = m.node.log()
    check("reload: forward __defaultVhost__/live/fw to %s:%d no longer listed" % (a.ip, a.port) in log,
          "expected the master to log that the forward to slave A is no longer listed")
    check("reload: forward __defaultVhost__/live/fw to %s:%d added" % (b.ip, b.port) in log,
          "expected the master to log that the forward to slave B was added")
    smooth([on_m], t0, "master's player across the forward reload")
    check(pub.alive(), "expected the publisher to keep going across the reload; %s" % rill.proc_state(pub))
    check(on_a.alive() and on_a.error is None,
          "expected slave A's player to stay connected (waiting) after its stream left; %s" % on_a.error)
    print("slave B's first frame %.2fs after SIGHUP" % first_b, flush=True)

    # The API, both destinations: A gets it back, B's forward is not touched.
    t1 = time.monotonic()
    n_a = on_a.count()
    st, doc = m.api_reload(vhost(extra=forward_to(a, b)))
    check(st == 200 and doc and doc.get("code") == 0,
          "expected GET /api/v1/raw?rpc=reload to answer 200 with code 0; got %s %r" % (st, doc))
    ok = on_a.wait_frames(n_a + 25, 10.0)
    check(ok, "expected slave A to get the stream again after the API reload listed it; %d -> %d frames" % (
        n_a, on_a.count()))
    time.sleep(1.0)
    smooth([on_m, on_b], t1, "master's and slave B's players across the API reload")
    smooth([on_m], t0, "master's player across both reloads")
    check(m.node.log().count("forward __defaultVhost__/live/fw to %s:%d: publishing" % (b.ip, b.port)) == 1,
          "expected the forward to slave B to keep its session across the second reload (one 'publishing')")
    m.node.assert_running()


# ---------------------------------------------------------------- (b) edge origin list

@rill.timeout(90)
def test_reload_changes_edge_origins_under_load():
    """An edge pulls 'old' from origin 1 for 10 RawPlayers. SIGHUP with
    origin 2 as the only origin: a pull of 'new' (published on origin 2 only)
    goes to origin 2, while the 10 players of 'old' go on from origin 1
    without a gap or a switch. origin 1's "absent" for 'new' is remembered for
    30 s: the reload forgets it (it was the old list's answer)."""
    o1 = rill.start_node(name="origin1")
    o2 = rill.start_node(name="origin2")
    pub_old = rill.publish(o1.url("old"), name="pub-old")
    pub_new = rill.publish(o2.url("new"), name="pub-new")
    rill.watch(o1, "old", frames=5, timeout=15, pub=pub_old)
    rill.watch(o2, "new", frames=5, timeout=15, pub=pub_new)

    def edge_body(origin):
        return vhost(extra="    cluster { mode remote; origin %s:%d; origin_give_up 3000; ingest_grace 500; "
                                 "origin_absent_cache 30000; }\n" % (
            origin.ip, origin.port))

    e = Reloadable("edge", api=True).start(edge_body(o1))
    players = [rill.raw_player(e.node, "old") for _ in range(10)]
    for p in players:
        check(p.wait_frames(10, 15.0), "expected a player of 'old' on the edge to get frames; %s" % p.describe())
    # With origin 1 only, 'new' cannot be pulled (origin 1 does not have it).
    probe = rill.raw_player(e.node, "new")
    time.sleep(2.0)
    check(probe.count() == 0, "expected 'new' not to play through the edge before the reload (origin 1 does "
                              "not have it); got %d frames" % probe.count())
    probe.stop()
    ok = rill.wait_until(lambda: "edge __defaultVhost__/live/new" in e.node.log() and
                         e.node.log().count("upstream stopped") + e.node.log().count("closing players") >= 1, 8.0)
    check(ok, "expected the edge's upstream of 'new' (origin 1 only) to end once its player left")

    again = rill.raw_player(e.node, "new")
    ok = rill.wait_until(lambda: "less than origin_absent_cache ago" in e.node.log(), 5.0)
    again.stop()
    check(ok, "expected a second play of 'new' before the reload to be answered from the absent memory")

    t0 = time.monotonic()
    e.sighup(edge_body(o2))
    check("remembered absent on the old origin lists forgotten" in e.node.log(),
          "expected the reload to forget the names origin 1 said were absent")
    late = rill.raw_player(e.node, "new")
    ok = late.wait_frames(25, 10.0)
    check(ok, "expected a new pull ('new') after the reload to use the new origin list (origin 2) and play; "
              "%s" % late.describe())
    first_new = late.frames()[0][0] - t0
    log = e.node.log()
    want = "edge __defaultVhost__/live/new: playing from origin %s:%d" % (o2.ip, o2.port)
    check(want in log, "expected the edge to log '%s'" % want)
    time.sleep(2.0)
    smooth(players, t0, "the edge's 10 players of 'old' across the origin-list reload")
    log = e.node.log()
    n_old = log.count("edge __defaultVhost__/live/old: playing from origin")
    check(n_old == 1, "expected the upstream of 'old' to stay on origin 1 across the reload (one 'playing from "
                      "origin'); the log has %d" % n_old)
    check("%s:%d" % (o1.ip, o1.port) in [l for l in log.splitlines()
                                         if "edge __defaultVhost__/live/old: playing from origin" in l][0],
          "expected 'old' to be pulled from origin 1")
    check(pub_old.alive() and pub_new.alive(), "expected both publishers to keep going")
    print("first frame of the new pull %.2fs after SIGHUP" % first_new, flush=True)


@rill.timeout(60)
def test_reload_moves_a_waiting_pull_to_the_new_origins():
    """An edge whose vhost waits for absent streams (origin_wait_stream 20 s)
    pulls 'late' from origin 1, which does not have it: the player waits.
    SIGHUP with origin 2 (which has it) as the only origin: the waiting pull
    asks origin 2 at once (it has played nothing from the old list) and the
    player plays, long before its 20 s wait would end in a 404."""
    o1 = rill.start_node(name="origin1")
    o2 = rill.start_node(name="origin2")
    pub = rill.publish(o2.url("late"), name="pub-late")
    rill.watch(o2, "late", frames=5, timeout=15, pub=pub)

    def edge_body(origin):
        return vhost(extra="    cluster { mode remote; origin %s:%d; origin_wait_stream 20000; origin_backoff 2000; }\n"
                     % (origin.ip, origin.port))

    e = Reloadable("edge", api=True).start(edge_body(o1))
    p = rill.raw_player(e.node, "late")
    ok = rill.wait_until(lambda: o1.log().count("live/late: stream not found") >= 2, 8.0)
    check(ok, "expected origin 1 to be asked for 'late' twice (the edge waits for the stream)")
    check(p.count() == 0, "expected no frames of 'late' from origin 1; got %d" % p.count())
    t0 = time.monotonic()
    e.sighup(edge_body(o2))
    ok = p.wait_frames(10, 10.0)
    check(ok, "expected the waiting player of 'late' to play from origin 2 after the reload; %s" % p.describe())
    first = p.frames()[0][0] - t0
    # the pull leaves its backoff on the reload: one connect and play away (1 s connect, 2 s read timeouts)
    check(first < 4.0, "expected the first frame within 4 s of SIGHUP; it came after %.2f s" % first)
    want = "edge __defaultVhost__/live/late: not played yet; asks the reloaded origin list (1 origin)"
    check(want in e.node.log(), "expected the edge to log '%s'" % want)
    check("live/late: stream not found" not in o2.log(), "expected origin 2 to have 'late' when asked")
    p.stop()
    print("the waiting player's first frame %.2fs after SIGHUP" % first, flush=True)


@rill.timeout(90)
def test_reload_restarts_hls_under_new_segment_names():
    """HLS of a live stream with [app]/[stream]-[seq].ts segments. SIGHUP with
    hls_ts_file [app]/ts/[stream]-[seq].ts: the stream's playlist starts over
    under the new names and its segments are served by them (before, the
    playlist kept the old names, which the new pattern answered 404); an
    RTMP player goes on without a gap. SIGHUP without hls: segmenting stops
    and the playlist is 404."""
    hls = "    hls { enabled on; hls_fragment 1; hls_window 6; %s}\n"
    n = Reloadable("rill", http=True).start(vhost(extra=hls % ""))
    pub = rill.publish(n.node.url("cam"))
    player = rill.raw_player(n.node, "cam")
    check(player.wait_frames(10, 15.0), "expected an RTMP player of 'cam'; %s" % player.describe())
    base = "http://%s:%d/live/cam.m3u8" % (n.ip, n.http_port)

    def get(url):
        try:
            with urllib.request.urlopen(url, timeout=10) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()

    def segments():
        st, body = get(base)
        if st != 200:
            return st, []
        return st, [l for l in body.decode("utf-8", "replace").splitlines() if l and not l.startswith("#")]

    got = []

    def playlist_has(pred):
        got[:] = segments()[1]
        return pred(got)

    rill.wait_until(lambda: playlist_has(lambda g: len(g) >= 2), 15.0, 0.3)
    check(len(got) >= 2 and all("/ts/" not in u for u in got),
          "expected a playlist of old-named segments before the reload; got %r" % got)
    st, body = get(urllib.parse.urljoin(base, got[-1]))
    check(st == 200 and body[:1] == b"\x47", "expected %s served as TS before the reload; got %s" % (got[-1], st))

    t0 = time.monotonic()
    n.sighup(vhost(extra=hls % "hls_ts_file [app]/ts/[stream]-[seq].ts; "))
    ok = rill.wait_until(lambda: playlist_has(lambda g: g and all("ts/cam-" in u for u in g)), 15.0, 0.3)
    check(ok, "expected the playlist after the reload to name its segments [app]/ts/[stream]-[seq].ts; got %r" % got)
    check("hls __defaultVhost__/live/cam: settings reloaded, the playlist starts over" in n.node.log(),
          "expected the reload to log that the live stream's playlist starts over")
    for u in got:
        st, body = get(urllib.parse.urljoin(base, u))
        check(st == 200 and body[:1] == b"\x47", "expected %s served as TS after the reload; got %s" % (u, st))
    smooth([player], t0, "the RTMP player of 'cam' across the HLS reload")

    n.sighup(vhost())
    check("hls __defaultVhost__/live/cam: hls off after the reload, segmenting stops" in n.node.log(),
          "expected the reload without hls to stop segmenting 'cam'")
    st, _ = get(base)
    check(st == 404, "expected /live/cam.m3u8 to be 404 once the vhost has no hls; got %s" % st)
    check(pub.alive() and player.count() > 0, "expected the publisher to go on")
    print("segments after the reload: %s" % ", ".join(got), flush=True)


@rill.timeout(90)
def test_reload_while_plays_wait_for_their_hook():
    """An edge with a slow on_play hook (2.5 s) and HLS pulls from origin 1,
    which has neither stream. An RTMP play of 'x' and an HLS playlist
    request of 'y' wait for the hook; SIGHUP meanwhile with origin 2 (which
    has both) and another hls_fragment. Both plays took the old file before
    the hook: the pulls they start still ask the new origins, and the HLS
    stream made under the old settings is replaced at once by one under the
    new (before the review fix, the request then wrote into the freed one);
    the edge exits cleanly, no sanitizer report."""
    import threading
    import test_hooks

    def slow(path, body):
        if path.startswith("/on_play"):
            time.sleep(2.5)
        return 200, "0"

    hooks = test_hooks.HookServer(decide=slow)
    try:
        o1 = rill.start_node(name="origin1")
        o2 = rill.start_node(name="origin2")
        pubs = {s: rill.publish(o2.url(s), name="pub-" + s) for s in ("x", "y")}
        for s, pub in pubs.items():
            rill.watch(o2, s, frames=5, timeout=15, pub=pub)

        def edge_body(origin, fragment):
            return vhost(extra="    cluster { mode remote; origin %s:%d; }\n"
                               "    hls { enabled on; hls_fragment %d; hls_window 6; }\n%s" % (
                                   origin.ip, origin.port, fragment,
                                   test_hooks.hooks_block({"on_play": [hooks.url("/on_play")]})))

        e = Reloadable("edge", http=True).start(edge_body(o1, 1))
        got = {}

        def fetch():
            url = "http://%s:%d/live/y.m3u8" % (e.ip, e.http_port)
            try:
                with urllib.request.urlopen(url, timeout=40) as r:
                    got["y"] = (r.status, r.read().decode("utf-8", "replace"))
            except urllib.error.HTTPError as ex:
                got["y"] = (ex.code, "")
            except OSError as ex:
                got["y"] = (None, str(ex))

        th = threading.Thread(target=fetch, daemon=True)
        th.start()
        p = rill.raw_player(e.node, "x")
        time.sleep(0.7)
        check(not hooks.calls("/on_play"), "expected both plays still waiting for their hook at the reload")
        e.sighup(edge_body(o2, 2))
        ok = p.wait_frames(10, 15.0)
        check(ok, "expected the RTMP play admitted under the old file to play from origin 2; %s" % p.describe())
        th.join(45)
        st, text = got.get("y", (None, "no answer"))
        check(st == 200 and "#EXTINF" in text, "expected the HLS playlist of 'y' admitted under the old file "
              "to answer with a segment; got %s %r" % (st, text[:300]))
        log = e.node.log()
        for s in ("x", "y"):
            want = "edge __defaultVhost__/live/%s: playing from origin %s:%d" % (s, o2.ip, o2.port)
            check(want in log, "expected the edge to log '%s'" % want)
        check("playing from origin %s:%d" % (o1.ip, o1.port) not in log, "expected nothing played from origin 1")
        p.stop()
        dt = e.node.stop()
        print("hls of y: %s; edge exit %.1fs after SIGTERM" % (
            "restarted under the new settings" if "live/y: settings reloaded" in log else "made under them", dt),
            flush=True)
    finally:
        hooks.close()


@rill.timeout(60)
def test_reload_turns_an_edge_into_an_origin():
    """An edge pulls 'x' from an origin for a player. SIGHUP without the
    cluster block: the vhost is an origin now, so its pull stops and a
    publisher of 'x' on this node is taken (before, it was refused "stream
    busy" for as long as the pull ran); the player goes on with it."""
    o = rill.start_node(name="origin")
    pub = rill.publish(o.url("x"), name="pub-origin")
    rill.watch(o, "x", frames=5, timeout=15, pub=pub)
    e = Reloadable("edge").start(vhost(extra="    cluster { mode remote; origin %s:%d; }\n" % (o.ip, o.port)))
    p = rill.raw_player(e.node, "x")
    check(p.wait_frames(10, 15.0), "expected the edge's player of 'x'; %s" % p.describe())
    e.sighup(vhost())
    stopped = "edge __defaultVhost__/live/x: upstream stopped (the vhost is no longer an edge)"
    rill.wait_until(lambda: stopped in e.node.log(), 3.0)
    local = rill.publish(e.node.url("x"), name="pub-local")
    rill.wait_until(lambda: "publish __defaultVhost__/live/x" in e.node.log() or "stream busy" in e.node.log(), 10.0)
    check("refused: stream busy" not in e.node.log(), "expected the local publish not to be refused")
    n = p.count()
    ok = rill.wait_until(lambda: p.count() >= n + 25, 15.0)
    check(ok, "expected the player to go on with the publisher on this node; %s" % p.describe())
    check(stopped in e.node.log(), "expected the edge to log '%s'" % stopped)
    check(local.alive(), "expected the local publisher to go on")
    p.stop()


@rill.timeout(60)
def test_reload_closes_a_publish_relayed_past_an_edge_pull():
    """A player of 'r' waits on an edge (origin_wait_stream); ffmpeg
    publishes 'r' on the edge, which relays it to the origin, and the player
    gets it back through the pull. SIGHUP without the cluster block: the
    pull stops, and the relayed publish is closed (its players could not get
    it any more) so that the encoder's next publish is taken here; one is,
    and the player goes on with it."""
    o = rill.start_node(name="origin")
    e = Reloadable("edge").start(vhost(extra="    cluster { mode remote; origin %s:%d; origin_wait_stream 20000; }\n"
                                       % (o.ip, o.port)))
    p = rill.raw_player(e.node, "r")
    rill.wait_until(lambda: "edge __defaultVhost__/live/r: starting upstream" in e.node.log(), 5.0)
    first = rill.publish(e.node.url("r"), name="pub-relayed")
    ok = rill.wait_until(lambda: "publish __defaultVhost__/live/r: the edge pulls it for players" in e.node.log(), 10.0)
    check(ok, "expected the edge to relay the publish of 'r' past its pull")
    check(p.wait_frames(10, 15.0), "expected the player to get the relayed publish back; %s" % p.describe())
    e.sighup(vhost())
    ok = rill.wait_until(lambda: not first.alive(), 5.0)
    check(ok, "expected the relayed publish to be closed by the reload")
    check("went past the edge's pull; the vhost is an origin now: closed to publish here" in e.node.log(),
          "expected the edge to log why the relayed publish was closed")
    again = rill.publish(e.node.url("r"), name="pub-local")
    n = p.count()
    ok = rill.wait_until(lambda: p.count() >= n + 25, 15.0)
    check(ok, "expected the player to go on with the publish taken here; %s" % p.describe())
    check("refused: stream busy" not in e.node.log(), "expected the new publish not to be refused")
    check(again.alive(), "expected the new publisher to go on")
    p.stop()


# ---------------------------------------------------------------- (c) new vhost and http_remux

@rill.timeout(60)
def test_reload_adds_a_vhost_and_http_remux():
    """A node without http_remux: /live/cam.flv is 404 and vhost=news.example
    falls into __defaultVhost__. SIGHUP adds http_remux to __defaultVhost__
    and a vhost news.example with its own http_remux: the live stream plays
    over HTTP-FLV, new RTMP connections land in news.example (and its
    streams play over HTTP-FLV with ?vhost=), and the publisher and player
    connected before go on."""
    n = Reloadable("rill", http=True, api=True).start(vhost())
    pub = rill.publish(n.node.url("cam"))
    pl = rill.watch(n.node, "cam", frames=10, timeout=15, pub=pub)
    before = n.flv("/live/cam.flv")
    before.wait_status(5.0)
    check(before.status == 404, "expected /live/cam.flv to be 404 without http_remux; got %s" % before.status)
    before.stop()
    r = rill.raw_player(n.node, "x", app="live?vhost=news.example")
    rill.wait_until(lambda: "tcUrl=rtmp://%s:%d/live?vhost=news.example" % (n.ip, n.port) in n.node.log(), 5.0)
    r.stop()
    check(re.search(r"connect vhost=__defaultVhost__ app=live tcUrl=\S+vhost=news\.example", n.node.log()),
          "expected a connect to vhost news.example to land in __defaultVhost__ before the reload")
    st, doc = n.api("/api/v1/vhosts")
    names = [v.get("name") for v in (doc or {}).get("vhosts", [])]
    check("news.example" not in names, "expected no vhost news.example before the reload; the API lists %r" % names)

    remux = "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n"
    t0 = time.monotonic()
    n.sighup(vhost(extra=remux) + vhost("news.example", extra=remux))
    flv = n.flv("/live/cam.flv")
    ok = flv.wait_frames(25, 10.0)
    check(ok, "expected /live/cam.flv to play over HTTP-FLV after the reload added http_remux; %s" % flv.describe())
    st, doc = n.api("/api/v1/vhosts")
    names = [v.get("name") for v in (doc or {}).get("vhosts", [])]
    check("news.example" in names, "expected the API to list vhost news.example after the reload; got %r" % names)

    # A publisher in the new vhost; its stream is its own and plays over HTTP-FLV.
    news = rill.publish("rtmp://%s:%d/live?vhost=news.example/headline" % (n.ip, n.port), name="pub-news")
    ok = rill.wait_until(lambda: "publish news.example/live/headline" in n.node.log(), 10.0)
    check(ok, "expected a publisher with vhost=news.example to publish in the new vhost after the reload; %s" %
          rill.proc_state(news))
    hflv = n.flv("/live/headline.flv?vhost=news.example")
    ok = hflv.wait_frames(25, 10.0)
    check(ok, "expected news.example's stream to play over HTTP-FLV with ?vhost=news.example; %s" % hflv.describe())
    other = n.flv("/live/headline.flv")
    time.sleep(1.5)
    check(other.count() == 0, "expected /live/headline.flv in __defaultVhost__ not to be news.example's stream; "
                              "it got %d frames" % other.count())
    other.stop()
    smooth([pl], t0, "the RTMP player connected before the vhost/http_remux reload")
    check(pub.alive(), "expected the publisher connected before the reload to go on; %s" % rill.proc_state(pub))


# ---------------------------------------------------------------- (d) a conf with an error

@rill.timeout(60)
def test_reload_refuses_a_bad_conf_and_keeps_running():
    """A conf with an unknown directive (SIGHUP) or a value out of range (the
    API) is refused with FILE:LINE: reason, in the log and in the API's
    answer; the running config stays (the bad file's http_remux does not
    appear), players go on, and a later good reload works."""
    n = Reloadable("rill", http=True, api=True).start(vhost())
    pub = rill.publish(n.node.url("cam"))
    pl = rill.watch(n.node, "cam", frames=10, timeout=15, pub=pub)
    path = n.node.conf_path
    remux = "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n"
    t0 = time.monotonic()

    # SIGHUP, unknown directive
    text = n.write(vhost(extra=remux + "    lisen 1935;\n"))
    line = text.splitlines().index("    lisen 1935;") + 1
    refused = n.sighup(expect_ok=False)
    want = "%s:%d: unknown directive 'lisen'" % (path, line)
    check(want in refused, "expected the log to say '%s'; it said: %s" % (want, refused))
    check("the running config stays" in refused, "expected the refusal to say the running config stays: %s" % refused)

    # The API, a value out of range
    text = n.write(vhost(extra=remux) + "chunk_size 100;\n")
    line = text.splitlines().index("chunk_size 100;") + 1
    st, doc = n.api("/api/v1/raw?rpc=reload")
    check(st is not None and st != 200 and doc and doc.get("code") not in (None, 0),
          "expected the API to refuse the reload with an error code; got %s %r" % (st, doc))
    err = doc.get("error", "")
    want = "%s:%d: chunk_size '100' is out of range" % (path, line)
    check(want in err, "expected the API's error to be '%s...'; got %r" % (want, err))
    check(want in n.node.log(), "expected the log to name %s too" % want)
    print("refused: SIGHUP %r; API %s %r" % (refused.split("stays: ", 1)[-1], st, err), flush=True)

    # Nothing of either file was taken.
    flv = n.flv("/live/cam.flv")
    flv.wait_status(5.0)
    check(flv.status == 404, "expected the running config to stay (no http_remux) after refused reloads; "
                             "/live/cam.flv answered %s" % flv.status)
    flv.stop()
    smooth([pl], t0, "the player across two refused reloads")
    fresh = rill.raw_player(n.node, "cam")
    check(fresh.wait_frames(10, 8.0), "expected a new player after refused reloads; %s" % fresh.describe())
    fresh.stop()

    # A good file now works.
    st, doc = n.api_reload(vhost(extra=remux))
    check(st == 200 and doc and doc.get("code") == 0,
          "expected a good conf to be applied after the refused ones; got %s %r" % (st, doc))
    flv = n.flv("/live/cam.flv")
    check(flv.wait_frames(25, 10.0), "expected http_remux from the good reload to serve /live/cam.flv; %s" %
          flv.describe())
    smooth([pl], t0, "the player across refused and good reloads")
    check(pub.alive(), "expected the publisher to go on; %s" % rill.proc_state(pub))


# ---------------------------------------------------------------- (e) listens, API credentials, static dir

class HttpReloadable(Reloadable):
    """A Reloadable whose http_server and http_api blocks change between
    reloads (their listens stay the same)."""

    def __init__(self, name):
        super().__init__(name, http=True, api=True)
        self.http_extra = ""
        self.api_extra = ""
        self.api_enabled = "on"

    def conf_text(self, body):
        top = ("listen %s:%d;\nmax_connections 1000;\ndaemon off;\nsrs_log_tank console;\n"
               "srs_log_level trace;\npid %s;\n" % (self.ip, self.port, os.path.join(self.node.dir, "rill.pid")))
        top += "http_server { enabled on; listen %s:%d; %s }\n" % (self.ip, self.http_port, self.http_extra)
        top += "http_api { enabled %s; listen %s:%d; %s }\n" % (self.api_enabled, self.ip, self.api_port,
                                                              self.api_extra)
        return top + body

    def start(self, body):
        """Start without waiting on the API: it may ask for credentials."""
        self.write(body)
        self.node.start()
        return self

    def get(self, port, path, user=None, password=None):
        """(status, body bytes) of GET path, with basic auth when user is given."""
        req = urllib.request.Request("http://%s:%d%s" % (self.ip, port, path))
        if user is not None:
            import base64
            req.add_header("Authorization", "Basic " + base64.b64encode(
                ("%s:%s" % (user, password)).encode()).decode())
        try:
            with urllib.request.urlopen(req, timeout=API_ALLOWED) as r:
                return r.status, r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.read()


@rill.timeout(60)
def test_reload_that_adds_listens_then_sigterm_exits_cleanly():
    """The listener array is the one the server made at start: a reload that
    lists more RTMP addresses warns that they wait for a restart, and SIGTERM
    then stops exactly the listeners that run (exit 0, no sanitizer report)."""
    n = Reloadable("rill").start(vhost())
    extra = []
    while len(extra) < 2:
        p = rill.free_port(n.ip)
        if p != n.port and p not in extra:
            extra.append(p)
    n.sighup("listen %s;\n" % " ".join("%s:%d" % (n.ip, p) for p in extra) + vhost())
    check("reload: rtmp listen changed" in n.node.log(),
          "expected the reload to warn that the new listens take effect at the next restart; log:\n%s" %
          n.node.tail(8))
    pub = rill.publish(n.node.url("ls"))
    rill.watch(n.node, "ls", frames=10, timeout=15, pub=pub)
    pub.kill()
    dt = n.node.stop()
    print("SIGTERM after a reload with 2 more listens: exit 0 in %.2fs" % dt, flush=True)


@rill.timeout(60)
def test_reload_applies_api_credentials_and_static_dir():
    """http_api auth and http_server dir changed by SIGHUP apply from the next
    request: the old password is refused (401), the new one accepted; a file
    is served from the new dir. A reload that turns http_api off makes the
    API answer 404 until the restart closes its listener."""
    n = HttpReloadable("rill")
    d1, d2 = rill.tmpdir("rill-www1-"), rill.tmpdir("rill-www2-")
    for d, text in ((d1, b"one\n"), (d2, b"two\n")):
        with open(os.path.join(d, "which.txt"), "wb") as f:
            f.write(text)
    n.http_extra = "dir %s;" % d1
    n.api_extra = "auth { enabled on; username alice; password old-secret; }"
    n.start(vhost())
    st, _ = n.get(n.api_port, "/api/v1/versions", "alice", "old-secret")
    check(st == 200, "expected the API to accept alice/old-secret before the reload; got %s" % st)
    st, body = n.get(n.http_port, "/which.txt")
    check(st == 200 and body == b"one\n", "expected which.txt from the first dir; got %s %r" % (st, body))

    n.http_extra = "dir %s;" % d2
    n.api_extra = "auth { enabled on; username bob; password new-secret; }"
    n.sighup(vhost())
    st, _ = n.get(n.api_port, "/api/v1/versions", "alice", "old-secret")
    check(st == 401, "expected the old credentials to be refused (401) after the reload; got %s" % st)
    st, _ = n.get(n.api_port, "/api/v1/versions", "bob", "new-secret")
    check(st == 200, "expected the new credentials to be accepted after the reload; got %s" % st)
    st, body = n.get(n.http_port, "/which.txt")
    check(st == 200 and body == b"two\n", "expected which.txt from the new dir after the reload; got %s %r" % (
        st, body))
    check("reload: http_server dir is now %s" % d2 in n.node.log(),
          "expected the reload to log the new dir; log:\n%s" % n.node.tail(8))

    n.api_extra = ""            # auth off: open again
    n.sighup(vhost())
    st, _ = n.get(n.api_port, "/api/v1/versions")
    check(st == 200, "expected the API without credentials once auth is off; got %s" % st)
    n.api_enabled = "off"
    n.sighup(vhost())
    st, _ = n.get(n.api_port, "/api/v1/versions")
    check(st == 404, "expected the API to answer 404 once a reload disabled it; got %s" % st)
    n.node.assert_running()
