"""The HTTP API and /metrics against a live node: ffmpeg publishes, an RTMP
player and an HTTP-FLV player watch, and every route's JSON is checked with
the json module (SRS's field names, ids, codecs, bytes, kbps). A player is
kicked with DELETE /api/v1/clients/{id} and seen to go; the DELETE repeated
says the client is gone. /metrics is parsed as Prometheus text. A master
forwarding to a slave and an edge pulling from the master show their
forwarders and upstream in /api/v1/streams."""

import base64
import json
import re
import time
import urllib.error
import urllib.request

from lib import httpflv
from lib import rill
from lib.rill import check

STREAM = "api"


# ---------------------------------------------------------------- helpers

class ApiNode:
    """A node with http_server (HTTP-FLV) and http_api on their own ports."""

    def __init__(self, name="rill", vhost_extra="", auth=False, extra_global=""):
        self.ip = rill.new_ip()
        port = rill.free_port(self.ip)
        self.http_port = rill.free_port(self.ip)
        self.api_port = rill.free_port(self.ip)
        while len({port, self.http_port, self.api_port}) < 3:
            self.api_port = rill.free_port(self.ip)
            self.http_port = rill.free_port(self.ip)
        auth_block = "auth { enabled on; username admin; password s3cret; }" if auth else ""
        g = ("http_server { enabled on; listen %s:%d; }\n"
             "http_api { enabled on; listen %s:%d; %s }\n%s" % (
                 self.ip, self.http_port, self.ip, self.api_port, auth_block, extra_global))
        v = "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" + vhost_extra
        self.node = rill.Node(name=name, ip=self.ip, port=port, global_extra=g, vhost_extra=v)
        self.auth = auth

    def start(self):
        self.node.start()
        ok = rill.wait_until(lambda: self._up(), 5.0)
        check(ok, "expected %s's API on %s:%d within 5s" % (self.node.name, self.ip, self.api_port))
        return self

    def _up(self):
        try:
            self.request("GET", "/api/v1/versions")
            return True
        except OSError:
            return False

    def request(self, method, path, auth=True):
        """(status, content type, body bytes) of one request to the API."""
        req = urllib.request.Request("http://%s:%d%s" % (self.ip, self.api_port, path), method=method)
        if self.auth and auth:
            req.add_header("Authorization", "Basic " + base64.b64encode(b"admin:s3cret").decode())
        try:
            with urllib.request.urlopen(req, timeout=5) as r:
                return r.status, r.headers.get("Content-Type", ""), r.read()
        except urllib.error.HTTPError as e:
            return e.code, e.headers.get("Content-Type", ""), e.read()

    def json(self, path, method="GET", status=200, envelope=True):
        st, ctype, body = self.request(method, path)
        check(st == status, "expected HTTP %d for %s %s; got %d: %r" % (status, method, path, st, body[:200]))
        check(ctype.startswith("application/json"),
              "expected application/json for %s %s; got %r" % (method, path, ctype))
        try:
            doc = json.loads(body)
        except ValueError as e:
            raise rill.TestFailure("%s %s did not answer JSON (%s): %r" % (method, path, e, body[:200]))
        check(isinstance(doc.get("code"), int), "expected an integer \"code\" in %s %s; got %r" % (method, path, doc))
        if status == 200 and envelope:
            check(doc["code"] == 0, "expected code 0 for %s %s; got %r" % (method, path, doc))
            for k in ("server", "service", "pid"):
                check(isinstance(doc.get(k), str) and doc[k], "expected SRS's envelope field %r in %s; got %r" % (
                    k, path, doc))
        elif status != 200:
            check(doc["code"] != 0, "expected an error code with HTTP %d for %s %s; got %r" % (
                status, method, path, doc))
        return doc

    def flv(self, stream=STREAM, query=""):
        pl = httpflv.HttpFlvPlayer(self.ip, self.http_port, "/live/%s.flv%s" % (stream, query))
        rill._players.append(pl)
        return pl.start()


def need(doc, path, what=None):
    """doc[path...] with a clear failure when absent."""
    cur = doc
    for k in path.split("."):
        check(isinstance(cur, dict) and k in cur, "expected field %s in %s; got %s" % (
            path, what or "the answer", json.dumps(doc)[:600]))
        cur = cur[k]
    return cur


PROM_SAMPLE = re.compile(
    r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")'
    r'(,[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\[\\"n])*")*\})? (-?[0-9.]+(?:[eE][+-]?[0-9]+)?|NaN|[+-]Inf)$')
PROM_HELP = re.compile(r"^# HELP ([a-zA-Z_:][a-zA-Z0-9_:]*) \S.*$")
PROM_TYPE = re.compile(r"^# TYPE ([a-zA-Z_:][a-zA-Z0-9_:]*) (counter|gauge|histogram|summary|untyped)$")


def parse_prometheus(text):
    """{'name{labels}': value} of a Prometheus text exposition; every
    non-comment line must be `name{labels} value`, every family has HELP and
    TYPE before its samples, counters end in _total."""
    samples, types = {}, {}
    check(text.endswith("\n"), "expected the exposition to end with a newline")
    for n, line in enumerate(text.split("\n")[:-1], 1):
        m = PROM_HELP.match(line)
        if m:
            continue
        m = PROM_TYPE.match(line)
        if m:
            check(m.group(1) not in types, "line %d: family %s declared twice" % (n, m.group(1)))
            types[m.group(1)] = m.group(2)
            if m.group(2) == "counter":
                check(m.group(1).endswith("_total"), "line %d: counter %s does not end in _total" % (n, m.group(1)))
            continue
        check(not line.startswith("#"), "line %d: a comment that is neither HELP nor TYPE: %r" % (n, line))
        m = PROM_SAMPLE.match(line)
        check(m, "line %d is not `name{labels} value`: %r" % (n, line))
        check(m.group(1) in types, "line %d: sample of %s before its TYPE" % (n, m.group(1)))
        key = line.rsplit(" ", 1)[0]
        check(key not in samples, "line %d: series %s twice" % (n, key))
        samples[key] = float(m.group(5))
    return samples


def client_of(api, type_, stream=STREAM):
    for c in api.json("/api/v1/clients")["clients"]:
        if c["type"] == type_ and c["stream"] == stream:
            return c
    return None


# ---------------------------------------------------------------- tests

@rill.timeout(90)
def test_api_routes_json_and_metrics():
    api = ApiNode().start()
    node = api.node
    pub = rill.publish(node.url(STREAM))
    player = rill.watch(node, STREAM, frames=5, timeout=15, pub=pub)
    flv = api.flv()
    check(flv.wait_frames(5, 10), "expected the HTTP-FLV player to get frames; %s" % flv.describe())
    time.sleep(6)       # past one stats sample: kbps over more than a second

    v = api.json("/api/v1/versions")
    check(need(v, "data.version").count(".") == 2, "expected version a.b.c; got %r" % v)
    check(api.json("/api/v1/health", envelope=False)["code"] == 0, "expected health code 0")

    # ---- summaries
    s = api.json("/api/v1/summaries")
    d = need(s, "data")
    check(need(d, "self.pid") == node.proc.pid and s["pid"] == str(node.proc.pid),
          "expected the server's pid %d in the summaries; got %r" % (node.proc.pid, d["self"]))
    check(need(d, "self.srs_uptime") >= 6, "expected uptime >= 6 s; got %r" % d["self"])
    check(need(d, "self.mem_kbyte") > 1000, "expected the RSS in mem_kbyte; got %r" % d["self"])
    check(isinstance(need(d, "self.cpu_percent"), (int, float)), "expected cpu_percent; got %r" % d["self"])
    check(need(d, "connections.rtmp") == 2 and need(d, "connections.http") >= 1 and
          need(d, "connections.clients") == 3,
          "expected 2 RTMP connections (publisher, player), >= 1 HTTP (the FLV player), 3 clients; got %r" %
          d["connections"])
    check(need(d, "kbps.recv_30s") > 300 and need(d, "kbps.send_30s") > 300,
          "expected kbps in and out of a ~1 Mbit/s stream; got %r" % d["kbps"])
    check(need(d, "system.srs_recv_bytes") > 500000, "expected bytes received; got %r" % d["system"])

    # ---- streams
    lst = api.json("/api/v1/streams")
    check(lst.get("total") == 1 and len(lst["streams"]) == 1, "expected one stream; got %r" % lst)
    st = lst["streams"][0]
    check(st["name"] == STREAM and st["app"] == "live" and st["vhost"] == "__defaultVhost__",
          "expected live/%s on __defaultVhost__; got %r" % (STREAM, st))
    check(isinstance(st["id"], str) and st["id"].isdigit(), "expected a numeric id string; got %r" % st["id"])
    check(st["url"] == "/live/" + STREAM and st["tcUrl"].startswith("rtmp://%s:%d/live" % (node.ip, node.port)),
          "expected url and the publisher's tcUrl; got %r" % st)
    check(st["clients"] == 3 and st["players"] == 2,
          "expected 3 clients (publisher, RTMP player, FLV player), 2 players; got %r" % st)
    check(st["frames"] > 100 and st["recv_bytes"] > 500000 and st["send_bytes"] > 500000,
          "expected frames and bytes both ways; got %r" % st)
    check(300 < need(st, "kbps.recv_30s") < 5000 and need(st, "kbps.send_30s") > 300,
          "expected kbps of a ~1 Mbit/s stream sent to two players; got %r" % st["kbps"])
    check(need(st, "publish.active") is True, "expected publish.active; got %r" % st["publish"])
    pub_client = client_of(api, "publish")
    check(pub_client and need(st, "publish.cid") == pub_client["id"],
          "expected publish.cid to be the publisher's client id %r; got %r" % (pub_client, st["publish"]))
    check(st["video"] and st["video"]["codec"] == "H264" and st["video"]["width"] == 640 and
          st["video"]["height"] == 360 and st["video"]["profile"] and st["video"]["level"],
          "expected H264 640x360 with profile and level; got %r" % st["video"])
    check(st["audio"] and st["audio"]["codec"] == "AAC" and st["audio"]["sample_rate"] == 44100 and
          st["audio"]["channel"] == 1, "expected AAC 44100 Hz mono; got %r" % st["audio"])
    check(st["forwarders"] == [] and "upstream" not in st, "expected no forwarders and no upstream; got %r" % st)
    one = api.json("/api/v1/streams/" + st["id"])
    check(need(one, "stream.id") == st["id"] and one["stream"]["name"] == STREAM, "expected the same stream; got %r" % one)
    nf = api.json("/api/v1/streams/987654", status=404)
    check(nf["code"] == 2048, "expected SRS's stream-not-found code 2048; got %r" % nf)
    api.json("/api/v1/streams/abc", status=404)

    # ---- clients
    cl = api.json("/api/v1/clients")
    check(cl.get("total") == 3 and len(cl["clients"]) == 3, "expected 3 clients; got %r" % cl)
    types = sorted(c["type"] for c in cl["clients"])
    check(types == ["flv", "play", "publish"], "expected types flv, play, publish; got %r" % types)
    for c in cl["clients"]:
        for k in ("id", "ip", "vhost", "app", "stream", "type", "alive", "send_bytes", "recv_bytes", "kbps"):
            check(k in c, "expected %r in client %r" % (k, c))
        check(c["ip"].startswith("127.") and c["vhost"] == "__defaultVhost__" and c["app"] == "live" and
              c["stream"] == STREAM and c["stream_id"] == st["id"] and c["alive"] > 1,
              "expected the client's address, stream and age; got %r" % c)
        moved = c["recv_bytes"] if c["type"] == "publish" else c["send_bytes"]
        check(moved > 100000, "expected the %s client to have moved bytes; got %r" % (c["type"], c))
        one = api.json("/api/v1/clients/" + c["id"])
        check(one["client"]["id"] == c["id"] and one["client"]["type"] == c["type"], "expected the same client")
    ids = [c["id"] for c in cl["clients"]]
    check(ids == sorted(ids, key=int), "expected clients listed oldest id first; got %r" % ids)
    page = api.json("/api/v1/clients?count=1")
    check(len(page["clients"]) == 1 and page["total"] == 3 and page["clients"][0]["id"] == ids[0],
          "expected count=1 to give the first client (total 3); got %r" % page)
    page = api.json("/api/v1/clients?start=1&count=1")
    check([c["id"] for c in page["clients"]] == [ids[1]], "expected start=1&count=1 to give the second client")
    check(api.json("/api/v1/clients?start=10")["clients"] == [], "expected start past the end to give []")

    # ---- vhosts
    vh = api.json("/api/v1/vhosts")
    dv = [x for x in vh["vhosts"] if x["name"] == "__defaultVhost__"]
    check(dv and dv[0]["streams"] == 1 and dv[0]["clients"] == 3 and dv[0]["recv_bytes"] > 0,
          "expected __defaultVhost__ with 1 stream and 3 clients; got %r" % vh)
    check(api.json("/api/v1/vhosts/__defaultVhost__")["vhost"]["name"] == "__defaultVhost__", "expected one vhost")
    check(api.json("/api/v1/vhosts/nope.example", status=404)["code"] == 2014, "expected code 2014")

    # ---- metrics
    st_, ctype, body = api.request("GET", "/metrics")
    check(st_ == 200 and ctype.startswith("text/plain"), "expected /metrics as text/plain; got %d %r" % (st_, ctype))
    m = parse_prometheus(body.decode())
    lbl = '{vhost="__defaultVhost__",app="live",stream="%s"}' % STREAM
    want = {"rill_publishers": 1, "rill_players": 2, "rill_streams": 1, "rill_streams_published": 1,
            'rill_clients{type="flv"}': 1, 'rill_clients{type="play"}': 1, 'rill_connections{proto="rtmp"}': 2,
            "rill_stream_consumers" + lbl: 2, "rill_stream_published" + lbl: 1}
    for k, val in want.items():
        check(m.get(k) == val, "expected %s %s in /metrics; got %r" % (k, val, m.get(k)))
    for k in ("rill_received_bytes_total", "rill_sent_bytes_total", "rill_stream_received_bytes_total" + lbl,
              "rill_stream_sent_bytes_total" + lbl, "process_resident_memory_bytes"):
        check(m.get(k, 0) > 100000, "expected %s > 100000; got %r" % (k, m.get(k)))
    check('rill_errors_total{kind="client"}' in m, "expected rill_errors_total")
    before = m["rill_received_bytes_total"]
    time.sleep(1)
    m2 = parse_prometheus(api.request("GET", "/metrics")[2].decode())
    check(m2["rill_received_bytes_total"] > before, "expected the received-bytes counter to grow")
    check(player.alive() and flv.alive(), "expected both players still playing after the API calls")
    print("stream %s: %d kbps in, %d kbps out, video %r; %d metric series" % (
        st["id"], st["kbps"]["recv_30s"], st["kbps"]["send_30s"], st["video"], len(m)))


@rill.timeout(90)
def test_api_kick_players_and_publisher():
    api = ApiNode().start()
    node = api.node
    pub = rill.publish(node.url(STREAM))
    player = rill.watch(node, STREAM, frames=5, timeout=15, pub=pub)
    keeper = rill.raw_player(node, STREAM)      # never kicked: must keep playing
    flv = api.flv()
    check(flv.wait_frames(5, 10) and keeper.wait_frames(5, 10), "expected the players to get frames")

    # the RTMP player: find it by its port (the keeper is a play client too)
    port = player.conn.sock.getsockname()[1]
    mine = [c for c in api.json("/api/v1/clients")["clients"] if c["type"] == "play" and c["port"] == port]
    check(len(mine) == 1, "expected to find the RTMP player (port %d) in /api/v1/clients" % port)
    cid = mine[0]["id"]
    t0 = time.monotonic()
    d = api.json("/api/v1/clients/" + cid, method="DELETE")
    check(d["code"] == 0, "expected DELETE to answer code 0; got %r" % d)
    ok = rill.wait_until(lambda: not player.alive(), 3.0)
    check(ok, "expected the kicked RTMP player to be disconnected within 3 s; %s" % player.describe())
    gone_after = time.monotonic() - t0
    ok = rill.wait_until(lambda: api.request("GET", "/api/v1/clients/" + cid)[0] == 404, 3.0)
    check(ok, "expected the kicked client to leave /api/v1/clients")
    again = api.json("/api/v1/clients/" + cid, method="DELETE", status=404)
    check(again["code"] == 2049, "expected the repeated DELETE to say the client is gone (2049); got %r" % again)
    api.json("/api/v1/clients/" + cid, method="DELETE", status=404)
    check(any("kicked" in l for l in node.log().splitlines()), "expected the close line to say kicked")

    # the HTTP-FLV player
    fc = client_of(api, "flv")
    check(fc, "expected the HTTP-FLV player in /api/v1/clients")
    api.json("/api/v1/clients/" + fc["id"], method="DELETE")
    ok = rill.wait_until(lambda: not flv.alive(), 3.0)
    check(ok, "expected the kicked HTTP-FLV player's response to end within 3 s; %s" % flv.describe())
    api.json("/api/v1/clients/" + fc["id"], method="DELETE", status=404)
    since = time.monotonic()
    time.sleep(2)
    rill.check_player_smooth(keeper, since, "while others were kicked")

    # the publisher: the stream goes unpublished, the keeper stays connected
    pc = client_of(api, "publish")
    api.json("/api/v1/clients/" + pc["id"], method="DELETE")
    def unpublished():
        sl = api.json("/api/v1/streams")["streams"]
        return sl and sl[0]["publish"]["active"] is False
    check(rill.wait_until(unpublished, 5.0), "expected publish.active false after kicking the publisher")
    check(keeper.alive(), "expected the other player to stay connected after its publisher was kicked")
    print("RTMP player gone %.2fs after DELETE; repeated DELETE: code %d" % (gone_after, again["code"]))


@rill.timeout(60)
def test_api_auth_covers_metrics():
    api = ApiNode(auth=True).start()
    for path in ("/metrics", "/api/v1/streams", "/api/v1/summaries"):
        st, _, _ = api.request("GET", path, auth=False)
        check(st == 401, "expected 401 for %s without credentials; got %d" % (path, st))
    st, _, body = api.request("DELETE", "/api/v1/clients/1", auth=False)
    check(st == 401, "expected 401 for DELETE without credentials; got %d" % st)
    st, _, body = api.request("GET", "/metrics")
    check(st == 200 and b"# TYPE rill_streams gauge" in body, "expected /metrics with credentials; got %d" % st)
    parse_prometheus(body.decode())
    api.json("/api/v1/streams")


@rill.timeout(90)
def test_api_forwarders_and_edge_upstream():
    slave = ApiNode(name="slave").start()
    master = ApiNode(name="master", vhost_extra="    forward { enabled on; destination %s:%d; }\n" % (
        slave.ip, slave.node.port)).start()
    edge = ApiNode(name="edge", vhost_extra="    cluster { mode remote; origin %s:%d; }\n" % (
        master.ip, master.node.port)).start()
    pub = rill.publish(master.node.url(STREAM))
    rill.watch(master.node, STREAM, frames=5, timeout=15, pub=pub)
    via_edge = rill.watch(edge.node, STREAM, frames=5, timeout=15, pub=pub)
    rill.watch(slave.node, STREAM, frames=5, timeout=15, pub=pub)
    time.sleep(1)

    st = api_stream(master)
    fw = st["forwarders"]
    check(len(fw) == 1, "expected one forwarder on the master; got %r" % fw)
    f = fw[0]
    check(f["destination"] == "%s:%d" % (slave.ip, slave.node.port) and f["state"] == "forwarding" and
          f["send_bytes"] > 100000 and f["reconnects"] == 0,
          "expected the forwarder to the slave forwarding with bytes sent, no reconnects; got %r" % f)
    es = api_stream(edge)
    up = es.get("upstream")
    check(up and up["origin"] == "%s:%d" % (master.ip, master.node.port) and up["state"] == "playing" and
          up["recv_bytes"] > 100000 and up["switches"] == 0,
          "expected the edge's upstream playing from the master with bytes; got %r" % es)
    # 25 fps + AAC: gaps of tens of ms; the limit is origin_read_timeout (2000) until 2 s of rhythm, then 300..
    check(0 < up["longest_gap_ms"] < 500 and 300 <= up["silence_limit_ms"] <= 2000,
          "expected the upstream's longest recent gap under 500 ms and its silence limit 300..2000 ms; got %r" % up)
    print("edge upstream: %r" % up)
    check(es["publish"]["active"] and es["video"] and es["video"]["codec"] == "H264",
          "expected the edge's stream published with H264; got %r" % es)
    m = parse_prometheus(edge.request("GET", "/metrics")[2].decode())
    check(m.get('rill_edge_upstreams{state="playing"}') == 1, "expected one playing upstream in the edge's metrics")
    m = parse_prometheus(master.request("GET", "/metrics")[2].decode())
    check(m.get('rill_forwarders{state="forwarding"}') == 1, "expected one forwarding forwarder in the master's metrics")
    check(m.get("rill_forward_sent_bytes_total", 0) > 100000, "expected forwarded bytes in the master's metrics")
    check(via_edge.alive(), "expected the edge's player to keep playing")


def api_stream(api):
    lst = api.json("/api/v1/streams")["streams"]
    check(len(lst) == 1, "expected one stream on %s; got %r" % (api.node.name, lst))
    return lst[0]
