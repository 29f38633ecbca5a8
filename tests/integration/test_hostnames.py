"""Host names in origin lists and hook URLs, looked up without blocking.

The names are served by a real DNS server: Debian's dnsmasq on a 127.0.0.x
of its own and a free UDP port (the edges point at it with `resolver`, so no
query ever leaves loopback). It answers A records from a hosts file of the
test's (a change: the file rewritten and dnsmasq SIGHUPed), NXDOMAIN for any
other name under .test and .invalid, and forwards the names under
silent.rill.test to a UDP socket that never answers (a resolver that does
not answer, as rill sees it).

  - an edge with `origin nonexistent.invalid:P silent.rill.test:P
    localhost:P` pulls from the origin on 127.0.0.1:P (localhost from
    /etc/hosts), past a name that does not resolve and one whose lookup
    times out, each with a clear log line;
  - its on_play hook is named (hooks.rill.test) and called; its on_stop hook
    names a silent host: the lookups time out while a player of another
    stream plays on with no gap over MAX_GAP (a blocking lookup would stop
    every coroutine for resolver_timeout);
  - an edge with `origin origin.rill.test:P`: the name's address changed and
    the origin in use SIGKILLed, the next pull goes to the new address;
  - a name with two addresses, the first refusing: the second is tried.
"""

import http.server
import os
import signal
import socket
import socketserver
import threading
import time

from lib import rill, rtmp
from lib.rill import check

RESOLVER_TIMEOUT = 500      # ms, the edges' resolver_timeout
MAX_GAP = 0.45              # s: mw_latency 100 on the edges, far below a 500 ms stall
FAST_PLAY = "gop_cache on; queue_length 10; mw_latency 100; mw_msgs 8;"


def _free_dns_port(ip):
    """A port free on ip for UDP and TCP (dnsmasq listens on both)."""
    for _ in range(50):
        u, t = socket.socket(socket.AF_INET, socket.SOCK_DGRAM), socket.socket()
        try:
            u.bind((ip, 0))
            port = u.getsockname()[1]
            t.bind((ip, port))
            return port
        except OSError:
            pass
        finally:
            u.close()
            t.close()
    check(False, "no port free for UDP and TCP on %s" % ip)


class Dns:
    """dnsmasq serving `names` (name -> [ip, ...], in that order)."""

    def __init__(self, names):
        self.ip = rill.new_ip()
        self.dir = rill.tmpdir("rill-dns-")
        os.chmod(self.dir, 0o755)          # dnsmasq started by root reads the hosts file as nobody
        self.hosts = os.path.join(self.dir, "hosts")
        self.pid_file = os.path.join(self.dir, "dnsmasq.pid")
        self.reads = 0
        self._write(names)
        # the resolver that never answers: a bound UDP socket nobody reads
        self.sink = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sink.bind((self.ip, 0))
        self.port = _free_dns_port(self.ip)
        conf = os.path.join(self.dir, "dnsmasq.conf")
        with open(conf, "w") as f:
            f.write("port=%d\nlisten-address=%s\nbind-interfaces\nno-resolv\nno-hosts\naddn-hosts=%s\n"
                    "no-round-robin\nlocal=/test/\nlocal=/invalid/\nserver=/silent.rill.test/%s#%d\n"
                    "pid-file=%s\nlog-facility=-\nlog-queries\n"
                    % (self.port, self.ip, self.hosts, self.ip, self.sink.getsockname()[1], self.pid_file))
        self.proc = rill.Proc("dnsmasq", ["dnsmasq", "--keep-in-foreground", "--conf-file=" + conf],
                              os.path.join(self.dir, "dnsmasq.log"))
        check(rill.wait_until(lambda: self._read_count() > self.reads and self.pid(), 5),
              "expected dnsmasq on %s:%d to read its hosts file within 5 s; %s" % (
                  self.ip, self.port, rill.proc_state(self.proc)))
        self.reads = self._read_count()

    def _write(self, names):
        with open(self.hosts + ".new", "w") as f:
            for name, ips in names.items():
                for ip in ips:
                    f.write("%s %s\n" % (ip, name))
        os.chmod(self.hosts + ".new", 0o644)
        os.replace(self.hosts + ".new", self.hosts)

    def _read_count(self):
        return self.proc.output().count("read %s" % self.hosts)

    def pid(self):
        try:
            with open(self.pid_file) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def set(self, names):
        """Serve `names` from now on: rewrite the hosts file, SIGHUP dnsmasq, wait for the re-read."""
        self._write(names)
        os.kill(self.pid(), signal.SIGHUP)
        check(rill.wait_until(lambda: self._read_count() > self.reads, 5),
              "expected dnsmasq to re-read its hosts file after SIGHUP; log:\n%s" % self.proc.tail(5))
        self.reads = self._read_count()

    def server(self):
        return "%s:%d" % (self.ip, self.port)

    def stop(self):
        pid = self.pid()
        if pid == self.proc.pid and self.proc.alive():
            os.kill(pid, signal.SIGTERM)
        self.proc.stop(2.0)
        self.sink.close()


class Hooks(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True


def _hooks_server():
    calls = []

    class H(http.server.BaseHTTPRequestHandler):
        def do_POST(self):
            n = int(self.headers.get("Content-Length") or 0)
            calls.append((self.path, self.rfile.read(n)))
            self.send_response(200)
            self.send_header("Content-Length", "1")
            self.end_headers()
            self.wfile.write(b"0")

        def log_message(self, *a):
            pass

    srv = Hooks(("127.0.0.1", 0), H)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv, calls


def _player(node, stream):
    pl = rtmp.RawPlayer(node.ip, node.port, stream)
    rill._players.append(pl)
    return pl.start()


def _edge(dns, origins, hooks=""):
    return rill.Node(name="edge", play=FAST_PLAY,
                     global_extra="resolver %s;\nresolver_timeout %d;\n" % (dns.server(), RESOLVER_TIMEOUT),
                     vhost_extra="    cluster { mode remote; origin %s; origin_connect_timeout 1000; }\n%s"
                     % (" ".join(origins), hooks)).start()


def _lines(node, needle):
    return [l for l in node.log().splitlines() if needle in l]


@rill.timeout(60)
def test_edge_pulls_from_localhost_past_unresolvable_names():
    hooks, calls = _hooks_server()
    dns = Dns({"hooks.rill.test": ["127.0.0.1"]})
    try:
        port = rill.free_port("127.0.0.1")
        origin = rill.Node(name="origin", ip="127.0.0.1", port=port).start()
        pubs = [rill.publish(origin.url(s), size="320x180") for s in ("s1", "s2")]
        for s in ("s1", "s2"):
            rill.watch(origin, s, frames=1)
        hp = hooks.server_address[1]
        edge = _edge(dns, ["nonexistent.invalid:%d" % port, "silent.rill.test:%d" % port, "localhost:%d" % port],
                     hooks="    http_hooks { enabled on; on_play http://hooks.rill.test:%d/play; "
                           "on_stop http://silent.rill.test:%d/stop; }\n" % (hp, hp))
        a = _player(edge, "s1")
        check(a.wait_frames(10, 10), "expected a player of s1 through the edge (origins nonexistent.invalid, "
              "silent.rill.test, localhost) to get 10 frames within 10 s; %s; %s" % (
                  a.describe(), rill.proc_state(pubs[0])))
        first = a.frames()[0][0] - a.started_at
        bad = _lines(edge, "nonexistent.invalid:%d: host name does not resolve" % port)
        check(bad and "not found" in bad[0], "expected the edge to log that nonexistent.invalid does not "
              "resolve (NXDOMAIN from the resolver); edge log:\n%s" % edge.tail(15))
        slow = _lines(edge, "silent.rill.test:%d: timed out" % port)
        check(slow, "expected the edge to log a timed-out lookup of silent.rill.test; log:\n%s" % edge.tail(15))
        check(_lines(edge, "playing from origin localhost:%d" % port),
              "expected the edge to play from localhost:%d; log:\n%s" % (port, edge.tail(15)))
        check(any(p == "/play" for p, _ in calls), "expected the on_play hook at hooks.rill.test to be called")
        print("edge: nonexistent.invalid NXDOMAIN, silent.rill.test timed out (%d ms), then localhost: first "
              "frame %.2f s after the play; on_play hook by name called" % (RESOLVER_TIMEOUT, first), flush=True)

        # Players of s2 come and go: each on_stop is a lookup of a silent
        # name (resolver_timeout), while s1 plays on.
        t0 = time.monotonic()
        for _ in range(3):
            b = _player(edge, "s2")
            b.wait_frames(3, 5)
            b.stop()
            time.sleep(0.3)
        time.sleep(RESOLVER_TIMEOUT / 1000.0 + 0.3)
        t1 = time.monotonic()
        timeouts = _lines(edge, "silent.rill.test for http://silent.rill.test")
        check(len(timeouts) >= 3, "expected 3 on_stop calls failing on the silent lookup; edge log:\n%s"
              % edge.tail(15))
        gap = a.max_gap(t0, t1)
        check(a.error is None and gap <= MAX_GAP, "expected the s1 player to get video with no gap over %.2f s "
              "while on_stop lookups of a silent name timed out (%d ms each); longest gap %.2f s; %s" % (
                  MAX_GAP, RESOLVER_TIMEOUT, gap, a.describe()))
        print("3 on_stop lookups timed out after %d ms each; the s1 player's longest gap meanwhile %.2f s "
              "(limit %.2f)" % (RESOLVER_TIMEOUT, gap, MAX_GAP), flush=True)
    finally:
        dns.stop()
        hooks.shutdown()


@rill.timeout(60)
def test_edge_follows_a_dns_change():
    dns = None
    # two origins on the same port, on two addresses
    ip1, ip2 = rill.new_ip(), rill.new_ip()
    port = None
    for _ in range(50):
        p = rill.free_port(ip1)
        s = socket.socket()
        try:
            s.bind((ip2, p))
            port = p
            break
        except OSError:
            pass
        finally:
            s.close()
    check(port, "no port free on both %s and %s" % (ip1, ip2))
    o1 = rill.Node(name="origin1", ip=ip1, port=port)
    o2 = rill.Node(name="origin2", ip=ip2, port=port)
    try:
        o1.start()
        o2.start()
        for o in (o1, o2):
            rill.publish(o.url("s"), size="320x180")
        for o in (o1, o2):
            # the origin has the stream before the edge asks (an edge answers
            # a stream no origin has with StreamNotFound at once)
            rill.watch(o, "s", frames=1)
        dns = Dns({"origin.rill.test": [o1.ip]})
        edge = _edge(dns, ["origin.rill.test:%d" % o1.port])
        pl = _player(edge, "s")
        check(pl.wait_frames(10, 10), "expected a player through the edge (origin origin.rill.test -> %s) to "
              "get 10 frames; %s" % (o1.ip, pl.describe()))
        up = "(edge upstream)"     # an origin's log line for an edge's connect
        check(_lines(o1, up) and not _lines(o2, up), "expected origin1 (%s), the name's address, to serve the "
              "edge, not origin2" % o1.ip)
        # the name moves to origin2, then origin1 dies: the next pull follows the name
        dns.set({"origin.rill.test": [o2.ip]})
        t_kill = time.monotonic()
        o1.kill()
        ok = rill.wait_until(lambda: _lines(o2, up) and pl.frames()[-1][0] > t_kill + 0.5, 10)
        check(ok, "expected the edge to pull from origin2 (%s), the name's new address, after SIGKILL of "
              "origin1; origin2 log:\n%s\nedge log:\n%s" % (o2.ip, o2.tail(8), edge.tail(12)))
        gap = pl.max_gap(t_kill, time.monotonic())
        print("origin.rill.test moved from %s to %s, origin1 SIGKILLed: the edge pulls from %s, the player's "
              "gap %.2f s" % (o1.ip, o2.ip, o2.ip, gap), flush=True)
    finally:
        if dns:
            dns.stop()


@rill.timeout(40)
def test_edge_tries_each_address_of_a_name():
    dns = None
    try:
        origin = rill.Node(name="origin").start()
        rill.publish(origin.url("s"), size="320x180")
        rill.watch(origin, "s", frames=1)
        dead_ip = rill.new_ip()         # nothing listens there: the connect is refused
        dns = Dns({"multi.rill.test": [dead_ip, origin.ip]})
        edge = _edge(dns, ["multi.rill.test:%d" % origin.port])
        pl = _player(edge, "s")
        check(pl.wait_frames(10, 10), "expected a player through the edge (multi.rill.test -> %s refused, then "
              "%s) to get 10 frames; %s\nedge log:\n%s" % (dead_ip, origin.ip, pl.describe(), edge.tail(12)))
        check(_lines(edge, "%s refused, trying %s" % (dead_ip, origin.ip)),
              "expected the edge to log the refused first address and the next one; log:\n%s" % edge.tail(12))
        print("multi.rill.test: %s refused, %s played, first frame %.2f s after the play" % (
            dead_ip, origin.ip, pl.frames()[0][0] - pl.started_at), flush=True)
    finally:
        if dns:
            dns.stop()
