"""The player's own address behind the nginx front: conf/nginx-front.conf as
it ships (X-Real-IP, X-Forwarded-For, proxy_bind) in front of an edge that
trusts the front's address (set_real_ip_from, as conf/edge.conf does). An
HTTP-FLV player connecting to nginx from 127.0.0.5 (and forging X-Real-IP
and X-Forwarded-For itself) is 127.0.0.5 in the edge's API, its on_play and
on_stop hooks and its log, and so is its HLS session (a playlist request
through nginx); a player connecting to the edge directly with a
forged X-Real-IP is its socket address; a bad X-Real-IP from the trusted
address leaves the socket address and one warning; after a reload that
trusts nobody, a new player through nginx is nginx."""

import json
import os
import re
import signal
import urllib.request

from lib import httpflv, nginx, rill
from lib.rill import check
from test_hooks import HookServer

STREAM = "rip"
PLAYER_IP = "127.0.0.5"     # outside the addresses tests give their nodes (127.0.0.10 and up)
FORGED = "6.6.6.6"


def _directive(conf, name):
    with open(os.path.join(rill.ROOT, "conf", conf)) as f:
        m = re.search(r"^\s*%s\s+([^;\s]+);" % name, f.read(), re.M)
    check(m is not None, "expected a '%s' directive in conf/%s" % (name, conf))
    return m.group(1)


def _edge_conf(ip, port, http_port, origin, hooks, trust):
    realip = "set_real_ip_from %s; " % trust if trust else ""
    return ("listen %s:%d;\ndaemon off;\nsrs_log_tank console;\nsrs_log_level trace;\npid %s;\n"
            "http_server { enabled on; listen %s:%d; %s}\n"
            "http_api { enabled on; listen %s:%d; }\n"
            "vhost __defaultVhost__ {\n"
            "    cluster { mode remote; origin %s:%d; }\n"
            "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n"
            "    http_hooks { enabled on; on_play %s; on_stop %s; }\n"
            "}\n" % (ip, port, os.path.join(os.path.dirname(hooks["conf"]), "rill.pid"), ip, http_port, realip,
                     ip, http_port, origin.ip, origin.port, hooks["on_play"], hooks["on_stop"]))


def _flv(ip, port, source, headers=None):
    pl = httpflv.HttpFlvPlayer(ip, port, "/live/%s.flv" % STREAM, source=source, headers=headers)
    rill._players.append(pl)
    return pl.start()


def _client_ips(edge):
    with urllib.request.urlopen("http://%s:%d/api/v1/clients" % (edge.ip, edge.http_port), timeout=3) as r:
        return sorted(c["ip"] for c in json.loads(r.read())["clients"] if c["type"] == "flv")


def _plays(edge, pl, who):
    check(pl.wait_frames(2, 10), "expected %s to get 2 video frames within 10 s; got %d (status %s, error %s); "
          "edge log:\n%s" % (who, pl.count(), pl.status, pl.error, rill.sanitize_lines(edge.log(), 15)))


def test_player_address_through_the_nginx_front():
    ok, why = nginx.available()
    check(ok, why)
    front_src = _directive("nginx-front.conf", "proxy_bind")
    check(front_src == _directive("edge.conf", "set_real_ip_from"),
          "expected conf/edge.conf to trust the address conf/nginx-front.conf connects from (%s)" % front_src)
    hooks = HookServer(decide=lambda path, body: (200, "0"))
    try:
        origin = rill.start_node(name="origin")
        pub = rill.publish(origin.url(STREAM))
        edge = rill.Node(name="edge")
        edge.http_port = rill.free_port(edge.ip)
        while edge.http_port == edge.port:
            edge.http_port = rill.free_port(edge.ip)
        urls = {"conf": edge.conf_path, "on_play": hooks.url("/on_play"), "on_stop": hooks.url("/on_stop")}
        with open(edge.conf_path, "w") as f:
            f.write(_edge_conf(edge.ip, edge.port, edge.http_port, origin, urls, front_src))
        edge.start()
        front = nginx.front(edge.ip, edge.http_port)
        # (meanwhile ffmpeg started; an edge answers a stream no origin has yet with 404 at once)
        on_air = rill.wait_until(lambda: "publish __defaultVhost__/live/%s" % STREAM in origin.log(), 10)
        check(on_air, "expected ffmpeg to publish %s on the origin within 10 s; %s" % (STREAM, rill.proc_state(pub)))

        # Through nginx, with the player's own claims, which nginx replaces (X-Real-IP) or
        # puts on the left (X-Forwarded-For).
        via = _flv(front.ip, front.http_port, PLAYER_IP, {"X-Real-IP": FORGED, "X-Forwarded-For": FORGED})
        _plays(edge, via, "a player through nginx from %s (%s)" % (PLAYER_IP, rill.proc_state(pub)))
        ips = _client_ips(edge)
        check(ips == [PLAYER_IP], "expected the edge's API to list the player through nginx as %s; it lists %s" % (
            PLAYER_IP, ips))
        hooks.wait("/on_play", ip=PLAYER_IP)
        check(not hooks.calls(ip=front_src) and not hooks.calls(ip=FORGED),
              "expected hooks to name only %s; calls: %s" % (PLAYER_IP, [c["body"].get("ip") for c in hooks.calls()]))
        check(re.search(r"flv play %s via %s:\d+ \S+/live/%s" % (re.escape(PLAYER_IP), re.escape(front_src), STREAM),
                        edge.log()),
              "expected the edge's log to say 'flv play %s via %s:PORT ...'; log:\n%s" % (
                  PLAYER_IP, front_src, rill.sanitize_lines(edge.log(), 15)))

        # Straight to the edge from an address it does not trust: its claim is ignored.
        direct_ip = rill.new_ip()
        direct = _flv(edge.ip, edge.http_port, direct_ip, {"X-Real-IP": FORGED})
        _plays(edge, direct, "a direct player from %s" % direct_ip)
        ips = _client_ips(edge)
        check(ips == sorted([PLAYER_IP, direct_ip]),
              "expected the API to list %s and %s (the direct player's forged %s ignored); it lists %s" % (
                  PLAYER_IP, direct_ip, FORGED, ips))
        hooks.wait("/on_play", ip=direct_ip)

        # From the trusted address, a header that is no address: the socket address, one warning.
        bad = _flv(edge.ip, edge.http_port, front_src, {"X-Real-IP": "not-an-address"})
        _plays(edge, bad, "a player from %s with a bad X-Real-IP" % front_src)
        check(front_src in _client_ips(edge), "expected the API to list %s for the bad header; it lists %s" % (
            front_src, _client_ips(edge)))
        warns = [l for l in edge.log().splitlines() if "X-Real-IP from a trusted proxy is not used" in l]
        check(len(warns) == 1, "expected one warning about the bad X-Real-IP; got %d" % len(warns))

        via.stop()
        hooks.wait("/on_stop", ip=PLAYER_IP)
        for pl in (direct, bad):
            pl.stop()

        # A reload that trusts nobody: the next player through nginx is nginx.
        with open(edge.conf_path, "w") as f:
            f.write(_edge_conf(edge.ip, edge.port, edge.http_port, origin, urls, None))
        n_applied = len(edge.log())
        edge.proc.kill(signal.SIGHUP)
        ok = rill.wait_until(lambda: "HTTP clients named by X-Real-IP from the next request (0 trusted ranges"
                             in edge.log(), 5)
        check(ok, "expected the edge to log the new trust after SIGHUP; log:\n%s" % rill.sanitize_lines(
            edge.log()[n_applied:], 10))
        after = _flv(front.ip, front.http_port, PLAYER_IP)
        _plays(edge, after, "a player through nginx after the reload")
        rill.wait_until(lambda: _client_ips(edge) == [front_src], 2)   # the others' ends are seen within mw_latency
        ips = _client_ips(edge)
        check(ips == [front_src], "expected the API to list nginx's %s once nothing is trusted; it lists %s" % (
            front_src, ips))
        after.stop()
        edge.assert_running("after the players")
    finally:
        hooks.close()
