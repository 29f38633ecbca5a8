"""A hung origin is noticed from the stream's own rhythm, not after the read timeout.

The edge learns the longest gap between an upstream's messages over the last
seconds; silence longer than origin_silence_factor (4) times that gap, but
never under origin_silence_min (300 ms) nor over origin_read_timeout (2 s), is
a hang. A 25 fps stream with audio is left about 0.3 s after its origin stops
(SIGSTOP: TCP stays up, nothing comes); sparse streams (audio only, a 1 fps
slide show) keep the read timeout's patience and are never switched by
mistake. Each switch is logged with the silence seen and the limit used.
"""

import re
import time

from lib import httpflv
from lib import media
from lib import rill
from lib.rill import check

STREAM = "s"
SILENT = re.compile(r"live/(\S+): origin (\S+): silent for (\d+) ms \(limit (\d+) ms")


def addr(node):
    return "%s:%d" % (node.ip, node.port)


def edge_node(origins, play=None):
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    kw = {"play": play} if play else {}
    n = rill.Node(name="edge", ip=ip, port=port,
                  vhost_extra="    cluster { mode remote; origin %s; }\n"
                              "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n" %
                              " ".join(addr(o) for o in origins),
                  global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port), **kw)
    n.http_port = http_port
    return n


def flv_player(edge, stream):
    pl = httpflv.HttpFlvPlayer(edge.ip, edge.http_port, "/live/%s.flv" % stream)
    rill._players.append(pl)
    return pl.start()


def published(node, stream):
    return rill.wait_until(lambda: "publish __defaultVhost__/live/%s" % stream in node.log(), 10)


def current(edge):
    lines = [l for l in edge.log().splitlines() if "playing from origin " in l]
    return lines[-1].rsplit("playing from origin ", 1)[1].strip() if lines else None


@rill.timeout(60)
def test_edge_hung_origin_noticed_from_the_stream_rhythm():
    A = rill.Node(name="originA").start()
    B = rill.Node(name="originB").start()
    # mw_latency 0: players get each frame at once, so the gap is the switch alone
    edge = edge_node([A, B], play="gop_cache on; mw_latency 0;").start()
    pubs = [rill.publish(A.url(STREAM), name="publisherA"), rill.publish(B.url(STREAM), name="publisherB")]
    check(published(A, STREAM) and published(B, STREAM), "expected both origins to get the publish")
    time.sleep(0.5)
    players = [("RTMP", rill.raw_player(edge, STREAM)), ("HTTP-FLV", flv_player(edge, STREAM))]
    for what, pl in players:
        check(pl.wait_frames(10, 10.0), "expected the %s player to play through the edge; %s" % (what, pl.describe()))
    time.sleep(3.0)                          # the edge has learnt the rhythm (2 s warm-up)
    nodes = {addr(A): A, addr(B): B}
    cur = current(edge)
    victim = nodes[cur]
    other = [a for a in nodes if a != cur][0]
    t0 = time.monotonic()
    victim.pause()
    ok = rill.wait_until(lambda: current(edge) == other, 5.0)
    t_sw = time.monotonic() - t0
    time.sleep(3.0)
    victim.resume()
    check(ok, "expected the edge to leave the hung origin %s for %s within 5 s; log:\n%s" % (cur, other, edge.tail(10)))
    m = [SILENT.search(l) for l in edge.log().splitlines()]
    m = [x for x in m if x and x.group(2) == cur]
    check(m, "expected the edge to log the silence it saw and its limit; log:\n%s" % edge.tail(10))
    silence, limit = int(m[-1].group(3)), int(m[-1].group(4))
    # design: 4 x the longest gap of a 25 fps + AAC stream (tens of ms), never under 300 ms
    check(300 <= limit <= 1000 and silence >= limit,
          "expected a limit of 300..1000 ms for a 25 fps stream with audio (and the silence over it); "
          "silence %d ms, limit %d ms" % (silence, limit))
    report = ["SIGSTOP of %s: edge silent-limit %d ms, saw %d ms, switched after %.2f s" % (
        victim.name, limit, silence, t_sw)]
    for what, pl in players:
        gap = pl.max_gap(t0)
        check(pl.alive() and not pl.error and gap < 1.5,
              "expected the %s player's longest gap across the SIGSTOP under 1.5 s (design: 0.3 s limit + the "
              "switch); got %.2f s, %s" % (what, gap, pl.describe()))
        report.append("%s player: longest gap %.2f s" % (what, gap))
    edge.assert_running("after the hang")
    print("; ".join(report))
    for p in pubs:
        p.stop()


@rill.timeout(60)
def test_edge_sparse_streams_are_not_switched_by_mistake():
    origin = rill.Node(name="origin").start()
    edge = edge_node([origin]).start()
    slides = media.Profile("slides1fps", "640x360 1 fps, a keyframe a second, no audio", 1,
                           sum(media._video("640x360", 1, 1, "300k"), []), audio=False)
    streams = {"audio": media.PROFILES["audio"], "slides": slides}
    pubs = [media.publish_file(origin.url(name), media.media_file(p), name="publisher-" + name)
            for name, p in streams.items()]
    for name in streams:
        check(published(origin, name), "expected the origin to get the publish of %s" % name)
    players = {name: flv_player(edge, name) for name in streams}
    secs = 10
    time.sleep(secs)
    switched = [x.group(0) for x in (SILENT.search(l) for l in edge.log().splitlines()) if x]
    check(not switched, "expected no switch for silence on sparse streams in %d s; the edge logged: %s" % (
        secs, switched))
    check(players["audio"].audio >= 5 * secs,
          "expected the audio-only player to get audio; %s" % players["audio"].describe())
    check(players["slides"].count() >= secs - 4,
          "expected the slide-show player to get about a frame a second; %s" % players["slides"].describe())
    print("%d s: audio-only %d audio tags, slide show %d frames (longest gap %.2f s), no switch" % (
        secs, players["audio"].audio, players["slides"].count(), players["slides"].max_gap(time.monotonic() - secs + 3)))
    for p in pubs:
        p.stop()
