"""HTTP callbacks (http_hooks) against real hook servers (python http.server
in a thread): a token=good client is allowed and token=bad refused, for
publish and play over RTMP and for HTTP-FLV play, with the status each
client sees; on_close, on_stop and on_unpublish arrive with the right
fields; several URLs are called in order and all must allow; a hook server
that is down (refused) or hangs (never answers) denies within the timeout
while a player on another vhost keeps streaming; a forward backend routes a
published stream to the rtmp:// URL it answers."""

import http.server
import json
import socket
import socketserver
import threading
import time

from lib import httpflv
from lib import rill
from lib.rtmp import RtmpConn, RtmpError
from lib.rill import check

STREAM = "hk"


# ---------------------------------------------------------------- hook servers

class _Handler(http.server.BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def do_POST(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(min(n, 65536)) if n else b""
        try:
            body = json.loads(raw)
        except ValueError:
            body = {"_raw": raw.decode("utf-8", "replace")}
        status, out = self.server.decide(self.path, body)
        with self.server.lock:
            self.server.calls.append({"path": self.path, "body": body, "status": status,
                                      "answer": out, "at": time.monotonic()})
        data = out.encode() if isinstance(out, str) else json.dumps(out).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *a):
        pass


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def token_policy(path, body):
    """on_connect denies token=evil; the others allow only token=good, each
    answering in one of the forms SRS backends use."""
    text = json.dumps(body)
    if path.startswith("/on_connect"):
        return (200, {"code": 1, "msg": "evil"}) if "token=evil" in text else (200, "0")
    if path.startswith(("/on_close", "/on_stop", "/on_unpublish")):
        return 200, "0"
    if "token=good" in text:
        return 200, {"code": 0, "data": None} if path.startswith("/on_publish") else "0"
    if path.startswith("/on_play"):
        return 403, "forbidden"
    return 200, {"code": 403}


class HookServer:
    def __init__(self, decide=token_policy):
        self.ip = rill.new_ip()
        self.srv = _Server((self.ip, 0), _Handler)
        self.srv.calls = []
        self.srv.lock = threading.Lock()
        self.srv.decide = decide
        self.port = self.srv.server_address[1]
        self.t = threading.Thread(target=self.srv.serve_forever, kwargs={"poll_interval": 0.1}, daemon=True)
        self.t.start()

    def url(self, path):
        return "http://%s:%d%s" % (self.ip, self.port, path)

    def calls(self, path=None, **match):
        with self.srv.lock:
            out = list(self.srv.calls)
        if path:
            out = [c for c in out if c["path"] == path]
        return [c for c in out if all(c["body"].get(k) == v for k, v in match.items())]

    def wait(self, path, timeout=5.0, **match):
        ok = rill.wait_until(lambda: self.calls(path, **match), timeout)
        check(ok, "expected a %s call matching %r within %.0fs; calls so far: %s" % (
            path, match, timeout, self.describe()))
        return self.calls(path, **match)[-1]

    def describe(self):
        return ", ".join("%s(%s %s client %s)" % (c["path"], c["body"].get("stream"), c["body"].get("param"),
                                                   c["body"].get("client_id")) for c in self.calls()) or "none"

    def close(self):
        self.srv.shutdown()
        self.srv.server_close()


class HangServer:
    """Accepts connections (the kernel does, from the backlog) and never
    answers: a hook server that hangs."""

    def __init__(self):
        self.ip = rill.new_ip()
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.sock.bind((self.ip, 0))
        self.sock.listen(128)
        self.port = self.sock.getsockname()[1]

    def url(self, path):
        return "http://%s:%d%s" % (self.ip, self.port, path)

    def close(self):
        self.sock.close()


def down_url(path):
    """A URL nothing listens on: connections are refused."""
    ip = rill.new_ip()
    return "http://%s:%d%s" % (ip, rill.free_port(ip), path)


def hooks_block(urls, timeout=None, enabled="on"):
    """http_hooks { } with urls: {hook: [url, ...]}."""
    lines = ["enabled %s;" % enabled]
    if timeout:
        lines.append("timeout %d;" % timeout)
    for hook, us in urls.items():
        lines.append("%s %s;" % (hook, " ".join(us)))
    return "    http_hooks { %s }\n" % " ".join(lines)


def http_node(name="rill", vhost_extra="", extra_vhosts=""):
    ip = rill.new_ip()
    port = rill.free_port(ip)
    hp = rill.free_port(ip)
    while hp == port:
        hp = rill.free_port(ip)
    g = "http_server { enabled on; listen %s:%d; }\n%s" % (ip, hp, extra_vhosts)
    v = "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" + vhost_extra
    n = rill.Node(name=name, ip=ip, port=port, global_extra=g, vhost_extra=v)
    n.http_port = hp
    return n


def flv(node, path):
    pl = httpflv.HttpFlvPlayer(node.ip, node.http_port, path)
    rill._players.append(pl)
    return pl.start()


def token_player(node, stream, token, **kw):
    pl = rill.rtmp.RawPlayer(node.ip, node.port, stream, app="live?token=%s" % token, **kw)
    rill._players.append(pl)
    return pl.start()


def rtmp_status(node, app, action, stream, timeout=8.0):
    """Connect (app may carry ?params) then publish or play; returns
    ('connect', error info) when the connect is refused, else (action, the
    first onStatus: Start, or the error), and the seconds it took."""
    c = RtmpConn(node.ip, node.port, timeout=timeout)
    t0 = time.monotonic()
    try:
        c.handshake()
        try:
            c.connect(app, timeout=timeout)
        except RtmpError as e:
            return "connect", str(e), time.monotonic() - t0
        if action == "publish":
            c.command("releaseStream", None, stream)
            sid = c.create_stream(timeout)
            c.command("publish", None, stream, "live", csid=8, stream_id=sid, txn=0)
            st = c.wait_status("NetStream.Publish.Start", timeout)
        else:
            sid = c.create_stream(timeout)
            c.play(stream, sid)
            st = c.wait_status("NetStream.Play.Start", timeout)
        took = time.monotonic() - t0
        closed = c.wait_closed(3.0) if st.get("level") == "error" else None
        st = dict(st)
        st["_closed"] = closed
        return action, st, took
    finally:
        c.close()


# ---------------------------------------------------------------- tests

@rill.timeout(120)
def test_hooks_allow_good_deny_bad_rtmp_and_flv():
    hk = HookServer()
    try:
        urls = {h: [hk.url("/" + h)] for h in ("on_connect", "on_close", "on_publish", "on_unpublish",
                                               "on_play", "on_stop")}
        node = http_node(vhost_extra=hooks_block(urls)).start()
        base = "rtmp://%s:%d" % (node.ip, node.port)

        # ---- publish: good publishes, bad is refused by on_publish, evil by on_connect
        pub = rill.publish("%s/live?token=good/%s" % (base, STREAM), name="publisher-good")
        c = hk.wait("/on_publish", timeout=10, stream=STREAM)
        b = c["body"]
        check(b["action"] == "on_publish" and b["app"] == "live" and b["vhost"] == "__defaultVhost__" and
              b["param"] == "?token=good" and "token=good" in b["tcUrl"] and b["ip"].startswith("127.") and
              b["client_id"].isdigit() and b["server_id"].startswith("vid-") and b["stream_url"] == "/live/" + STREAM,
              "expected SRS's on_publish fields; got %r" % b)
        conn = hk.calls("/on_connect", client_id=b["client_id"])
        check(conn and conn[0]["body"]["tcUrl"].startswith("rtmp://%s:%d/live" % (node.ip, node.port)),
              "expected the publisher's on_connect with the same client_id before on_publish; calls: %s" % hk.describe())
        what, st, _ = rtmp_status(node, "live?token=bad", "publish", "other")
        check(what == "publish" and st.get("code") == "NetStream.Publish.Rejected" and st.get("level") == "error",
              "expected NetStream.Publish.Rejected (level error) for token=bad; got %s %r" % (what, st))
        check(st["_closed"], "expected the server to close the refused publisher's connection")
        what, err, _ = rtmp_status(node, "live?token=evil", "publish", "other")
        check(what == "connect" and "NetConnection.Connect.Rejected" in err,
              "expected _error NetConnection.Connect.Rejected for a connect on_connect denies; got %s %r" % (what, err))
        check(any("hook on_publish" in l and "denied" in l and hk.url("/on_publish") in l for l in node.log().splitlines()),
              "expected the denial logged with the hook URL; log:\n%s" % node.tail(10))

        # ---- RTMP play: good plays, bad is refused
        good = token_player(node, STREAM, "good")
        check(good.wait_frames(10, 10), "expected a token=good player to play; %s; hooks %s" % (
            good.describe(), hk.describe()))
        what, st, _ = rtmp_status(node, "live?token=bad", "play", STREAM)
        check(what == "play" and st.get("code") == "NetStream.Play.Rejected" and st.get("level") == "error",
              "expected NetStream.Play.Rejected for token=bad; got %s %r" % (what, st))
        check(st["_closed"], "expected the server to close the refused player's connection")

        # ---- HTTP-FLV play: good plays, bad gets 403
        fgood = flv(node, "/live/%s.flv?token=good" % STREAM)
        check(fgood.wait_frames(10, 10), "expected the token=good HTTP-FLV player to play; %s" % fgood.describe())
        fbad = flv(node, "/live/%s.flv?token=bad" % STREAM)
        check(fbad.wait_status(8) == 403 and fbad.count() == 0,
              "expected HTTP 403 for the token=bad HTTP-FLV player; %s" % fbad.describe())
        fplay = hk.wait("/on_play", param="?token=good", tcUrl="http://%s:%d/live" % (node.ip, node.http_port))
        fcid = fplay["body"]["client_id"]

        # ---- notifications with the right fields
        play = hk.calls("/on_play", param="?token=good", stream=STREAM)
        rtmp_play = [c for c in play if c["body"]["tcUrl"].startswith("rtmp://")][0]["body"]
        pcid = rtmp_play["client_id"]
        good.stop()
        stop = hk.wait("/on_stop", client_id=pcid)["body"]
        close = hk.wait("/on_close", client_id=pcid)["body"]
        check(stop["stream"] == STREAM and stop["app"] == "live" and stop["param"] == "?token=good" and
              stop["ip"] == rtmp_play["ip"], "expected on_stop with the player's stream and params; got %r" % stop)
        check(close["send_bytes"] > 100000 and close["recv_bytes"] > 0 and close["app"] == "live",
              "expected on_close with the player's bytes; got %r" % close)
        check(hk.calls("/on_stop", client_id=pcid)[0]["at"] <= hk.calls("/on_close", client_id=pcid)[0]["at"],
              "expected on_stop before on_close")
        fgood.stop()
        fstop = hk.wait("/on_stop", client_id=fcid)["body"]
        check(fstop["stream"] == STREAM and fstop["param"] == "?token=good", "expected the FLV player's on_stop")
        check(not hk.calls("/on_close", client_id=fcid), "expected no on_close for HTTP-FLV (SRS sends none)")
        pub.stop(2)
        unp = hk.wait("/on_unpublish", client_id=b["client_id"])["body"]
        check(unp["stream"] == STREAM and unp["param"] == "?token=good", "expected on_unpublish; got %r" % unp)
        hk.wait("/on_close", client_id=b["client_id"])
        refused_ids = {c["body"]["client_id"] for c in hk.calls("/on_publish") + hk.calls("/on_play")
                       if c["status"] != 200 or c["answer"] != "0" and c["answer"] != {"code": 0, "data": None}}
        for rid in refused_ids:
            check(not hk.calls("/on_unpublish", client_id=rid) and not hk.calls("/on_stop", client_id=rid),
                  "expected no on_unpublish/on_stop for a refused client %s" % rid)
        print("hook calls: %d; %s" % (len(hk.calls()), hk.describe()))
    finally:
        hk.close()


@rill.timeout(120)
def test_hooks_down_or_hanging_deny_within_timeout_others_stream_on():
    timeout_ms = 1000
    hang = HangServer()
    try:
        down = down_url("/on_play")
        extra = ("vhost hang.example {\n    http_remux { enabled on; }\n%s}\n"
                 "vhost down.example {\n    http_remux { enabled on; }\n%s}\n" % (
                     hooks_block({"on_play": [hang.url("/on_play")]}, timeout=timeout_ms),
                     hooks_block({"on_play": [down], "on_publish": [down]}, timeout=timeout_ms)))
        extra += "vhost hangconnect.example {\n%s}\n" % hooks_block({"on_connect": [hang.url("/c")]}, timeout=timeout_ms)
        node = http_node(extra_vhosts=extra).start()
        pub = rill.publish(node.url(STREAM))
        keeper = rill.watch(node, STREAM, frames=5, timeout=15, pub=pub)
        since = time.monotonic()
        results = []
        lock = threading.Lock()

        def attempt(kind, vhost):
            if kind == "rtmp":
                r = rtmp_status(node, "live?vhost=%s" % vhost, "play", STREAM)
            else:
                t0 = time.monotonic()
                pl = flv(node, "/live/%s.flv?vhost=%s" % (STREAM, vhost))
                st = pl.wait_status(timeout_ms / 1000.0 + 8)
                r = ("flv", st, time.monotonic() - t0)
            with lock:
                results.append((kind, vhost) + r)

        # five at once on the hanging server: they must not queue behind each other
        threads = [threading.Thread(target=attempt, args=(k, v)) for k, v in
                   [("rtmp", "hang.example")] * 3 + [("flv", "hang.example")] * 2 +
                   [("rtmp", "down.example"), ("flv", "down.example"), ("rtmp", "hangconnect.example")]]
        for t in threads:
            t.start()
        for t in threads:
            t.join(20)
        margin = 1.5
        for kind, vhost, what, st, took in results:
            if vhost == "hangconnect.example":
                check(what == "connect" and "Rejected" in st, "expected the connect refused when on_connect hangs; "
                      "got %s %r" % (what, st))
            elif kind == "rtmp":
                check(what == "play" and st.get("code") == "NetStream.Play.Rejected",
                      "expected NetStream.Play.Rejected on %s; got %s %r" % (vhost, what, st))
            else:
                check(st == 403, "expected HTTP 403 for HTTP-FLV on %s; got %r" % (vhost, st))
            check(took <= timeout_ms / 1000.0 + margin,
                  "expected the denial on %s within the %d ms timeout + %.1fs; took %.2fs" % (
                      vhost, timeout_ms, margin, took))
            if vhost.startswith("hang"):
                check(took >= timeout_ms / 1000.0 - 0.1,
                      "expected a hanging hook to be waited for up to the timeout; denied after %.2fs" % took)
        check(len(results) == len(threads), "expected every attempt to finish; got %r" % results)
        rill.check_player_smooth(keeper, since, "while hook calls hung and failed", max_gap_s=1.0)
        log = node.log()
        check("timed out" in log and hang.url("/on_play") in log, "expected the hook timeout logged with its URL")
        check(down in log, "expected the refused hook logged with its URL")
        print("denials: " + ", ".join("%s %s %.2fs" % (k, v, took) for k, v, _, _, took in sorted(results)))
    finally:
        hang.close()


@rill.timeout(90)
def test_hooks_every_url_in_order_must_allow():
    order = []

    def decide(path, body):
        order.append((path, body.get("stream")))
        if path == "/second" and body.get("stream") == "no":
            return 200, {"code": 1}
        if path == "/first" and body.get("stream") == "never":
            return 200, "1"
        return 200, "0"

    hk = HookServer(decide)
    try:
        node = http_node(vhost_extra=hooks_block({"on_play": [hk.url("/first"), hk.url("/second")]})).start()
        pub = rill.publish(node.url("yes"))
        pl = rill.watch(node, "yes", frames=3, timeout=15, pub=pub)
        check([p for p, s in order if s == "yes"] == ["/first", "/second"],
              "expected both URLs called in order for an allowed play; got %r" % order)
        _, st, _ = rtmp_status(node, "live", "play", "no")
        check(st.get("code") == "NetStream.Play.Rejected", "expected the second URL's code 1 to deny; got %r" % st)
        check([p for p, s in order if s == "no"] == ["/first", "/second"], "expected both called; got %r" % order)
        _, st, _ = rtmp_status(node, "live", "play", "never")
        check(st.get("code") == "NetStream.Play.Rejected", "expected the first URL's 1 to deny; got %r" % st)
        check([p for p, s in order if s == "never"] == ["/first"],
              "expected the second URL not called once the first denied; got %r" % order)
        check(pl.alive(), "expected the allowed player to keep playing")
    finally:
        hk.close()


@rill.timeout(90)
def test_hooks_disabled_calls_nothing():
    hk = HookServer(lambda p, b: (200, {"code": 1}))
    try:
        node = http_node(vhost_extra=hooks_block({"on_play": [hk.url("/p")], "on_connect": [hk.url("/c")]},
                                                 enabled="off")).start()
        pub = rill.publish(node.url(STREAM))
        rill.watch(node, STREAM, frames=3, timeout=15, pub=pub)
        check(not hk.calls(), "expected no hook call with enabled off; got %s" % hk.describe())
    finally:
        hk.close()


@rill.timeout(120)
def test_forward_backend_routes_the_stream():
    slave = rill.Node(name="slave").start()

    def decide(path, body):
        if body.get("stream") == STREAM:
            return 200, {"code": 0, "data": {"urls": ["rtmp://%s:%d/relay/routed?from=backend" % (
                slave.ip, slave.port)]}}
        return 200, {"code": 0, "data": {"urls": []}}

    hk = HookServer(decide)
    hang = HangServer()
    try:
        master = rill.Node(name="master", vhost_extra=(
            "    forward { enabled on; backend %s; }\n    http_hooks { timeout 1500; }\n" % hk.url("/on_forward"))
        ).start()
        pub = rill.publish("rtmp://%s:%d/live?token=t/%s" % (master.ip, master.port, STREAM))
        call = hk.wait("/on_forward", timeout=10)["body"]
        check(call["action"] == "on_forward" and call["stream"] == STREAM and call["app"] == "live" and
              call["vhost"] == "__defaultVhost__" and "token=t" in call["tcUrl"] and call["param"] == "?token=t" and
              call["client_id"].isdigit() and call["ip"].startswith("127."),
              "expected SRS's on_forward fields; got %r" % call)
        routed = rill.raw_player(slave, "routed", app="relay")
        check(routed.wait_frames(10, 15), "expected the slave to serve relay/routed (the backend's URL); %s; "
              "master log:\n%s" % (routed.describe(), master.tail(8)))
        check(rill.wait_until(lambda: any("from the backend" in l for l in master.log().splitlines()), 2),
              "expected the master to log the forward it started from the backend's answer")
        pub.stop(2)
        stopped = "to %s:%d: stopped" % (slave.ip, slave.port)
        check(rill.wait_until(lambda: stopped in master.log(), 5),
              "expected the backend's forwarder to stop on unpublish; log:\n%s" % master.tail(8))
        check(rill.wait_until(lambda: "unpublish __defaultVhost__/relay/routed" in slave.log(), 5),
              "expected the slave to see relay/routed unpublished")

        # a backend that hangs never holds up the publisher or its players
        hung = rill.Node(name="master-hung", vhost_extra="    forward { enabled on; backend %s; }\n" %
                         hang.url("/on_forward")).start()
        pub2 = rill.publish(hung.url(STREAM))
        t0 = time.monotonic()
        pl = rill.watch(hung, STREAM, frames=10, timeout=15, pub=pub2)
        check(time.monotonic() - t0 < 8, "expected players on the master to get frames while its backend hangs")
        pub2.stop(2)      # unpublish while the question hangs: it is stopped, the node stops cleanly
        time.sleep(0.5)
        check(pl.alive(), "expected the player to stay connected through the unpublish")
    finally:
        hk.close()
        hang.close()
