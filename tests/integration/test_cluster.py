"""The whole cluster end to end, as scripts/cluster.sh builds it.

two masters (forward) -> two slaves; two edges (pull from the slaves, then
the masters; publishes proxied to the first master that takes them, PROXY
protocol on RTMP); haproxy (RTMP front, leastconn, health checks on the
edges' API, send-proxy, source 127.0.0.9; a publish front to the masters:
test_masters covers it) and nginx (HTTP-FLV front, least_conn). The cluster runs on its
default addresses with ports of its own (the RILL_*_PORT variables), so it
does not clash with a developer's `make run`, and in a directory of its own;
it is torn down with `scripts/cluster.sh down` whatever happens.

What it checks:
  - ffmpeg publishes through haproxy; 20 RTMP players through haproxy and 20
    HTTP-FLV players through nginx all get video;
  - the players are spread over both edges (the edges' /api/v1/clients);
  - each edge reports its RTMP clients with their own address and port
    (127.0.0.1 and the player's port, from the PROXY header), never
    haproxy's 127.0.0.9, and HTTP-FLV players as 127.0.0.1 too (nginx's
    X-Real-IP, trusted from nginx's 127.0.0.9 only);
  - SIGKILL of the slave an edge pulls from: every player keeps getting
    video with no gap over 1.5 s;
  - SIGKILL of the edge without the publisher: the other edge's players are
    undisturbed (gap <= 1.5 s), haproxy marks it DOWN, and new RTMP and
    HTTP-FLV players started from the moment of the kill all play, from the
    live edge, their first frame within 2 s of their start;
  - `down` stops every process `up` started (checked by pid) and the rill
    nodes exit cleanly, without sanitizer reports.
"""

import json
import os
import signal
import socket
import subprocess
import time
import urllib.request

from lib import rill, rtmp
from lib.httpflv import HttpFlvPlayer
from lib.rill import check

ROOT = rill.ROOT
SCRIPT = os.path.join(ROOT, "scripts", "cluster.sh")
NODE_IPS = {"master": "127.0.0.11", "master2": "127.0.0.14", "slave1": "127.0.0.12", "slave2": "127.0.0.13",
            "edge1": "127.0.0.21", "edge2": "127.0.0.22"}
FRONT_IP = "127.0.0.1"
SOURCE_IP = "127.0.0.9"
STREAM = "cluster"
N_PLAYERS = 20          # of each kind
MAX_GAP = 1.5           # s without video a player may see through a failover
NEW_PLAYER_FIRST_FRAME = 2.0


def _port_free(ip, port):
    s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    try:
        s.bind((ip, port))
        return True
    except OSError:
        return False
    finally:
        s.close()


def _pick_ports():
    """Node ports free on every node address, front ports free on 127.0.0.1,
    all different from the defaults (1935, 1936, 8080, 1985, 8404)."""
    ports = {}
    for key, ips in (("RILL_NODE_RTMP_PORT", NODE_IPS.values()), ("RILL_NODE_HTTP_PORT", NODE_IPS.values()),
                     ("RILL_NODE_API_PORT", NODE_IPS.values()), ("RILL_FRONT_RTMP_PORT", [FRONT_IP]),
                     ("RILL_FRONT_PUBLISH_PORT", [FRONT_IP]),
                     ("RILL_FRONT_HTTP_PORT", [FRONT_IP]), ("RILL_FRONT_STATS_PORT", [FRONT_IP])):
        for _ in range(50):
            p = rill.free_port(FRONT_IP if key.startswith("RILL_FRONT") else NODE_IPS["master"])
            if p not in ports.values() and all(_port_free(ip, p) for ip in ips) and _port_free("0.0.0.0", p):
                ports[key] = p
                break
        check(key in ports, "could not find a free port for %s" % key)
    return ports


class Cluster:
    def __init__(self):
        self.dir = rill.tmpdir("rill-cluster-")
        self.ports = _pick_ports()
        self.env = rill.server_env()
        self.env.update({k: str(v) for k, v in self.ports.items()})
        self.env.update({"RILL_CLUSTER_DIR": self.dir, "RILL_CLUSTER_BIN": rill.rill_bin(),
                         "RILL_STREAM": STREAM, "RILL_UP_TIMEOUT": "30"})
        self.pids = {}
        self.up_output = ""

    def run(self, cmd, timeout):
        r = subprocess.run(["bash", SCRIPT, cmd], env=self.env, cwd=ROOT, stdin=subprocess.DEVNULL,
                           stdout=subprocess.PIPE, stderr=subprocess.STDOUT, timeout=timeout)
        return r.returncode, r.stdout.decode("utf-8", "replace")

    def up(self):
        t0 = time.monotonic()
        rc, out = self.run("up", 240)
        self.up_output = out
        check(rc == 0, "expected scripts/cluster.sh up to start the cluster (exit 0); exit %d:\n%s" % (
            rc, "\n".join(out.splitlines()[-25:])))
        for name in list(NODE_IPS) + ["haproxy", "nginx"]:
            self.pids[name] = self.pid(name)
            check(self.pids[name], "expected %s/%s.pid after up" % (self.dir, name))
        # nginx's workers too: `down` must leave none behind
        for pid in os.listdir("/proc"):
            if pid.isdigit() and self._ppid(int(pid)) == self.pids["nginx"]:
                self.pids["nginx-worker-%s" % pid] = int(pid)
        return time.monotonic() - t0

    @staticmethod
    def _ppid(pid):
        try:
            with open("/proc/%d/stat" % pid) as f:
                return int(f.read().rsplit(")", 1)[1].split()[1])
        except (OSError, ValueError, IndexError):
            return None

    def pid(self, name):
        try:
            with open(os.path.join(self.dir, name + ".pid")) as f:
                return int(f.read().strip() or 0)
        except (OSError, ValueError):
            return 0

    def down(self):
        rc, out = self.run("down", 120)
        return rc, out

    def rtmp_port(self):
        return self.ports["RILL_FRONT_RTMP_PORT"]

    def http_port(self):
        return self.ports["RILL_FRONT_HTTP_PORT"]

    def api(self, node, path):
        url = "http://%s:%d%s" % (NODE_IPS[node], self.ports["RILL_NODE_API_PORT"], path)
        with urllib.request.urlopen(url, timeout=2) as r:
            return json.loads(r.read().decode())

    def clients(self, node):
        return self.api(node, "/api/v1/clients?count=1000")["clients"]

    def stream(self, node):
        for s in self.api(node, "/api/v1/streams?count=1000")["streams"]:
            if s.get("name") == STREAM:
                return s
        return None

    def haproxy_status(self):
        """{edge name: status} from haproxy's CSV stats."""
        url = "http://%s:%d/;csv" % (FRONT_IP, self.ports["RILL_FRONT_STATS_PORT"])
        out = {}
        with urllib.request.urlopen(url, timeout=2) as r:
            for line in r.read().decode().splitlines():
                f = line.split(",")
                if len(f) > 17 and f[0] == "edges" and f[1] in ("edge1", "edge2"):
                    out[f[1]] = f[17]
        return out

    def log(self, name):
        try:
            with open(os.path.join(self.dir, name + ".log"), "rb") as f:
                return f.read().decode("utf-8", "replace")
        except OSError:
            return ""

    def tail(self, name, n=12):
        return rill.sanitize_lines(self.log(name), n)


def _alive(pid):
    try:
        with open("/proc/%d/stat" % pid) as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except (OSError, IndexError):
        return False


def _rtmp_player(cl):
    pl = rtmp.RawPlayer(FRONT_IP, cl.rtmp_port(), STREAM, timeout=5.0)
    rill._players.append(pl)
    pl.kind = "rtmp"
    return pl.start()


def _flv_player(cl):
    pl = HttpFlvPlayer(FRONT_IP, cl.http_port(), "/live/%s.flv" % STREAM, timeout=5.0, read_timeout=5.0)
    rill._players.append(pl)
    pl.kind = "flv"
    return pl.start()


def _local_port(pl):
    try:
        return pl.conn.sock.getsockname()[1]
    except (AttributeError, OSError):
        return None


def _first_frame_delay(pl):
    f = pl.frames()
    return (f[0][0] - pl.started_at) if f else None


def _wait_all(players, frames, timeout):
    deadline = time.monotonic() + timeout
    for pl in players:
        pl.wait_frames(frames, max(0.1, deadline - time.monotonic()))
    return [pl for pl in players if pl.count() < frames]


def with_cluster(body, before_down=None):
    """Start the cluster, run body(cl), and always bring it down: players
    first (their sockets), then before_down(), then `scripts/cluster.sh down`.
    Then every pid `up` started must be gone and no node log may hold a
    sanitizer report. A failure in body is raised with the nodes' logs."""
    for tool in ("haproxy", "nginx", "ffmpeg", "curl"):
        check(any(os.access(os.path.join(d, tool), os.X_OK)
                  for d in os.environ.get("PATH", "").split(":") + ["/usr/sbin"]),
              "expected %s to be installed (bash scripts/install-deps.sh)" % tool)
    cl = Cluster()
    failure = None
    try:
        body(cl)
    except BaseException as e:  # noqa: BLE001 - the cluster comes down first, then this is raised
        failure = e
    for pl in list(rill._players):
        try:
            pl.stop()
        except Exception:  # noqa: BLE001
            pass
    if before_down:
        before_down()
    down_rc, down_out = cl.down()
    if failure is not None:
        logs = "\n".join("--- %s:\n%s" % (n, cl.tail(n, 8)) for n in list(NODE_IPS) + ["haproxy"])
        if isinstance(failure, AssertionError):
            raise rill.TestFailure("%s\n(cluster logs in %s)\n%s" % (failure, cl.dir, logs))
        raise failure
    check(down_rc == 0, "expected scripts/cluster.sh down to exit 0; exit %d:\n%s" % (down_rc, down_out))
    check("SIGKILL" not in down_out,
          "expected every process to stop on SIGTERM within 10 s; down said:\n%s" % down_out)
    left = ["%s (pid %d)" % (n, p) for n, p in cl.pids.items() if p and _alive(p)]
    check(not left, "expected scripts/cluster.sh down to stop everything up started; still running: %s"
          % ", ".join(left))
    for n in NODE_IPS:
        text = cl.log(n)
        for mark in rill.SANITIZER_MARKS:
            check(mark not in text, "%s's log has a sanitizer report (%s):\n%s" % (
                n, mark, rill.symbolize(cl.tail(n, 20))))
    print("down: every process stopped (%d pids checked)" % len(cl.pids), flush=True)


@rill.timeout(240)
def test_cluster():
    with_cluster(_run)


def _run(cl):
    t_up = cl.up()
    print("up: %.1f s; ports %s" % (t_up, " ".join("%s=%d" % (k[5:], v) for k, v in sorted(cl.ports.items()))),
          flush=True)
    check("rtmp://%s:%d/live/%s" % (FRONT_IP, cl.rtmp_port(), STREAM) in cl.up_output and
          "http://%s:%d/live/%s.flv" % (FRONT_IP, cl.http_port(), STREAM) in cl.up_output and
          "players/index.html?url=" in cl.up_output,
          "expected up to print the publish, RTMP and HTTP-FLV play and player page URLs; it printed:\n%s"
          % cl.up_output)
    check(cl.haproxy_status() == {"edge1": "UP", "edge2": "UP"},
          "expected haproxy to have both edges UP after up; stats say %s" % cl.haproxy_status())

    # ---- publish through the front
    pub_url = "rtmp://%s:%d/live/%s" % (FRONT_IP, cl.rtmp_port(), STREAM)
    pub = rill.publish(pub_url, size="320x180", extra=["-b:v", "400k", "-maxrate", "400k", "-bufsize", "400k"])
    # The first player waits until the master's forwards reached both slaves:
    # an edge asked earlier finds no slave with the stream and rightly pulls
    # from the master, its last origin, which the check below does not expect.
    t_fw = time.monotonic()
    while time.monotonic() - t_fw < 15 and not all(
            (cl.stream(n) or {}).get("publish", {}).get("active") for n in ("slave1", "slave2")):
        time.sleep(0.2)
    first = _rtmp_player(cl)
    check(first.wait_frames(5, 15), "expected a player through haproxy to get video of a stream published "
          "through haproxy within 15 s; %s; %s" % (first.describe(), rill.proc_state(pub)))
    pub_edge = None
    for e in ("edge1", "edge2"):
        if any(c["type"] == "publish" and c["stream"] == STREAM for c in cl.clients(e)):
            pub_edge = e
    check(pub_edge is not None, "expected the publisher on one of the edges' /api/v1/clients")
    other_edge = "edge2" if pub_edge == "edge1" else "edge1"
    ms = cl.stream("master")
    check(ms is not None and ms["publish"]["active"],
          "expected the publish through %s to reach the master (publish_origin); master streams: %s" % (
              pub_edge, cl.api("master", "/api/v1/streams")))

    # ---- 20 RTMP players through haproxy, 20 HTTP-FLV players through nginx
    t0 = time.monotonic()
    players = [first]
    for i in range(N_PLAYERS):
        if i:
            players.append(_rtmp_player(cl))
        players.append(_flv_player(cl))
        time.sleep(0.05)
    slow = _wait_all(players, 10, 20)
    if slow:
        raise rill.TestFailure("expected all %d players to get 10 video frames within 20 s; %d did not, e.g. %s"
                               % (len(players), len(slow), slow[0].describe()))
    print("players: %d RTMP through haproxy + %d HTTP-FLV through nginx all play, first frame %.2f..%.2f s "
          "after their start (all started within %.1f s)" % (
              N_PLAYERS, N_PLAYERS, min(_first_frame_delay(p) for p in players[1:]),
              max(_first_frame_delay(p) for p in players[1:]), time.monotonic() - t0), flush=True)

    # ---- spread over both edges, with the players' own addresses (PROXY protocol)
    per_edge = {}
    rtmp_ports = {}     # edge -> set of client ports the edge reports
    for e in ("edge1", "edge2"):
        cs = [c for c in cl.clients(e) if c["stream"] == STREAM]
        per_edge[e] = {t: sum(1 for c in cs if c["type"] == t) for t in ("play", "flv", "publish")}
        rtmp_cs = [c for c in cs if c["type"] in ("play", "publish")]
        bad = [c for c in cs if c["ip"] != "127.0.0.1"]
        check(not bad, "expected %s to report every client with its own address 127.0.0.1 (RTMP: the PROXY "
              "header; HTTP-FLV: nginx's X-Real-IP), never haproxy's or nginx's %s; it reports %s" % (
                  e, SOURCE_IP, ", ".join("%s:%s (%s)" % (c["ip"], c["port"], c["type"]) for c in bad)))
        rtmp_ports[e] = {c["port"] for c in rtmp_cs if c["type"] == "play"}
    print("spread: %s" % ", ".join("%s %d RTMP + %d HTTP-FLV players%s" % (
        e, v["play"], v["flv"], " + the publisher" if v["publish"] else "") for e, v in sorted(per_edge.items())),
        flush=True)
    check(sum(v["play"] for v in per_edge.values()) == N_PLAYERS and
          sum(v["flv"] for v in per_edge.values()) == N_PLAYERS,
          "expected the edges to report %d RTMP and %d HTTP-FLV players in all; they report %s" % (
              N_PLAYERS, N_PLAYERS, per_edge))
    for e, v in per_edge.items():
        check(v["play"] >= N_PLAYERS // 4 and v["flv"] >= N_PLAYERS // 4,
              "expected both edges to get a share of the players (leastconn): at least %d of each kind on "
              "each; %s has %d RTMP and %d HTTP-FLV" % (N_PLAYERS // 4, e, v["play"], v["flv"]))
    edge_of = {}        # RTMP player -> the edge that reports its port
    for pl in players:
        if pl.kind != "rtmp":
            continue
        lp = _local_port(pl)
        on = [e for e in rtmp_ports if lp in rtmp_ports[e]]
        check(len(on) == 1, "expected exactly one edge to report the RTMP player from 127.0.0.1:%s (its "
              "own port, from the PROXY header); edges report ports %s" % (lp, rtmp_ports))
        edge_of[pl] = on[0]
    via = cl.log(pub_edge) + cl.log(other_edge)
    check(("via %s:" % SOURCE_IP) in via, "expected the edges' logs to show clients coming via haproxy's "
          "%s (client ... via %s:PORT (PROXY v1))" % (SOURCE_IP, SOURCE_IP))
    print("PROXY protocol: all %d RTMP players reported by the edges as 127.0.0.1 with their own ports "
          "(haproxy connects from %s); X-Real-IP: the %d HTTP-FLV players too (nginx connects from %s)" % (
              len(edge_of), SOURCE_IP, N_PLAYERS, SOURCE_IP), flush=True)

    # ---- SIGKILL the slave the other edge pulls from
    up = (cl.stream(other_edge) or {}).get("upstream") or {}
    origin = up.get("origin", "")
    ip_port = {"%s:%d" % (NODE_IPS[n], cl.ports["RILL_NODE_RTMP_PORT"]): n for n in NODE_IPS}
    check(origin in ip_port and ip_port[origin] in ("slave1", "slave2"),
          "expected %s (no publisher of its own) to pull from a slave; its upstream: %s" % (other_edge, up))
    victim = ip_port[origin]
    t_kill = time.monotonic()
    os.kill(cl.pids[victim], signal.SIGKILL)
    time.sleep(6)
    now = time.monotonic()
    gaps = []
    for pl in players:
        check(pl.error is None and pl.alive(), "expected every player to keep playing after SIGKILL of %s; "
              "%s" % (victim, pl.describe()))
        gaps.append(pl.max_gap(t_kill, now))
    check(max(gaps) <= MAX_GAP, "expected every player to get video with no gap over %.1f s after SIGKILL of "
          "%s; longest gap %.2f s" % (MAX_GAP, victim, max(gaps)))
    up2 = (cl.stream(other_edge) or {}).get("upstream") or {}
    survivor = "slave2" if victim == "slave1" else "slave1"
    check(ip_port.get(up2.get("origin")) in (survivor, "master", "master2") and up2.get("state") == "playing",
          "expected %s to pull from %s (or the master) after SIGKILL of %s; its upstream: %s" % (
              other_edge, survivor, victim, up2))
    print("SIGKILL %s: %s failed over to %s; all %d players kept playing, longest gap %.2f s (limit %.1f)" % (
        victim, other_edge, ip_port.get(up2.get("origin")), len(players), max(gaps), MAX_GAP), flush=True)

    # ---- SIGKILL the edge without the publisher
    dead, live = other_edge, pub_edge
    before_live = per_edge[live]
    t_kill = time.monotonic()
    os.kill(cl.pids[dead], signal.SIGKILL)
    # New players from the moment the edge is gone, for 2 s, before and after
    # haproxy's checks notice (inter 500 fall 2). Not from the kill itself:
    # a big process takes some ms to die, and a connection its listen queue
    # took meanwhile is reset after haproxy forwarded it (no balancer can
    # retry that one).
    gone = time.monotonic() + 2
    while _alive(cl.pids[dead]) and time.monotonic() < gone:
        time.sleep(0.005)
    newp = []
    t_down = None
    while time.monotonic() - t_kill < 2.0:
        newp.append(_rtmp_player(cl))
        newp.append(_flv_player(cl))
        if t_down is None and cl.haproxy_status().get(dead, "").startswith("DOWN"):
            t_down = time.monotonic() - t_kill
        time.sleep(0.25)
    deadline = time.monotonic() + 3       # inter 500 fall 2: about 1 s
    while t_down is None and time.monotonic() < deadline:
        if cl.haproxy_status().get(dead, "").startswith("DOWN"):
            t_down = time.monotonic() - t_kill
        time.sleep(0.05)
    check(t_down is not None, "expected haproxy to mark %s down within 5 s of its SIGKILL; stats say %s" % (
        dead, cl.haproxy_status()))
    slow = _wait_all(newp, 5, 8)
    if slow:
        raise rill.TestFailure("expected every player started after SIGKILL of %s to play (5 frames within 8 s); "
                               "%d of %d did not, e.g. %s" % (dead, len(slow), len(newp), slow[0].describe()))
    delays = [_first_frame_delay(p) for p in newp]
    check(max(delays) <= NEW_PLAYER_FIRST_FRAME,
          "expected players started after SIGKILL of %s to get their first frame within %.1f s; slowest %.2f s"
          % (dead, NEW_PLAYER_FIRST_FRAME, max(delays)))
    # all on the live edge
    cs = [c for c in cl.clients(live) if c["stream"] == STREAM]
    n_play = sum(1 for c in cs if c["type"] == "play")
    n_flv = sum(1 for c in cs if c["type"] == "flv")
    n_new = len(newp) // 2
    check(n_play == before_live["play"] + n_new and n_flv == before_live["flv"] + n_new,
          "expected the %d new RTMP and %d new HTTP-FLV players on %s (the live edge), with its %d RTMP and "
          "%d HTTP-FLV players from before; it reports %d and %d" % (
              n_new, n_new, live, before_live["play"], before_live["flv"], n_play, n_flv))
    time.sleep(2)
    now = time.monotonic()
    # The live edge's players: undisturbed. The dead edge's: gone with it.
    kept_gaps, ended = [], 0
    for pl in players:
        on_live = edge_of.get(pl) == live if pl.kind == "rtmp" else (pl.alive() and pl.error is None)
        if on_live:
            check(pl.error is None and pl.alive(), "expected %s's players to keep playing after SIGKILL of %s; "
                  "%s" % (live, dead, pl.describe()))
            kept_gaps.append(pl.max_gap(t_kill, now))
        else:
            ended += 1
    n_live_flv = sum(1 for pl in players if pl.kind == "flv" and pl.alive() and pl.error is None)
    check(n_live_flv == before_live["flv"], "expected exactly %s's %d HTTP-FLV players to play on after SIGKILL "
          "of %s; %d do" % (live, before_live["flv"], dead, n_live_flv))
    check(max(kept_gaps) <= MAX_GAP, "expected %s's players undisturbed by SIGKILL of %s (no gap over %.1f s); "
          "longest gap %.2f s" % (live, dead, MAX_GAP, max(kept_gaps)))
    print("SIGKILL %s: haproxy marked it DOWN after %.2f s; %d new players (%d RTMP + %d HTTP-FLV, started "
          "over the first 2 s) all play from %s, first frame within %.2f s (limit %.1f); %s's %d players "
          "undisturbed, longest gap %.2f s; %d players of %s ended with it" % (
              dead, t_down, len(newp), n_new, n_new, live, max(delays), NEW_PLAYER_FIRST_FRAME, live,
              len(kept_gaps), max(kept_gaps), ended, dead), flush=True)
    check(pub.alive(), "expected the publisher (on %s) to keep publishing; %s" % (live, rill.proc_state(pub)))
