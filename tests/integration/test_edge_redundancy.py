"""origin_redundancy: an edge pulls each stream from two origins and switches without a lost frame.

A master forwards the published stream to two slaves that keep its timestamps
(time_jitter off), so both carry it on one timeline. The edge (origin slave1
slave2; origin_redundancy on; mw_latency 0) plays from one and keeps the
other as a standby; when the active slave is killed, or hangs, players
continue from the standby at the next frame by timestamp: video timestamps
step by one frame interval (40 ms at 25 fps) through the switch, none
repeated, none missing, and no new sequence headers. The API shows the
standby. The killed slave, restarted, becomes the standby again. A second
edge on the same slaves without redundancy makes the ordinary switch on the
SIGKILL: it finds the other slave on the same timeline, so its player sees
no frame of that slave's GOP a second time.
"""

import json
import time
import urllib.error
import urllib.request

from lib import httpflv
from lib import rill
from lib.rill import check

STREAM = "s"
FRAME_MS = 40


def addr(node):
    return "%s:%d" % (node.ip, node.port)


def lines(node, needle):
    return [l for l in node.log().splitlines() if needle in l]


def current(edge):
    l = [x for x in lines(edge, "playing from origin ") if "standby playing" not in x]
    return l[-1].rsplit("playing from origin ", 1)[1].strip() if l else None


def api_upstream(edge):
    with urllib.request.urlopen("http://%s:%d/api/v1/streams" % (edge.ip, edge.api_port), timeout=5) as r:
        d = json.loads(r.read().decode())
    st = [s for s in d.get("streams", []) if s.get("name") == STREAM]
    return st[0].get("upstream") if st else None


def hls_get(node, path):
    """(status, body) of GET path on the edge's HTTP server (text for a playlist, bytes else)."""
    url = "http://%s:%d%s" % (node.ip, node.http_port, path)
    try:
        with urllib.request.urlopen(url, timeout=15) as r:
            body = r.read()
            return r.status, body.decode("latin-1") if path.endswith(".m3u8") else body
    except urllib.error.HTTPError as e:
        return e.code, ""


def steps(pl, since, until):
    """Video timestamp steps (ms) between frames that arrived in [since, until], sequence headers apart."""
    v = [f for f in pl.video if since <= f[0] <= until]
    frames = [f[1] for f in v if not f[3]]
    headers = sum(1 for f in v if f[3])
    return [b - a for a, b in zip(frames, frames[1:])], headers


def check_hitless(players, t0, what, report):
    for name, pl in players:
        st, headers = steps(pl, t0 - 1.0, time.monotonic())
        gap = pl.max_gap(t0)
        bad = [x for x in st if x != FRAME_MS]
        check(st and not bad and headers == 0,
              "expected the %s player's video timestamps to step by %d ms through the %s (no frame repeated or "
              "missing) with no new sequence headers; steps other than %d: %r, %d sequence headers" % (
                  name, FRAME_MS, what, FRAME_MS, bad[:10], headers))
        check(gap < 0.5, "expected the %s player's longest gap across the %s under 0.5 s; got %.2f s" % (
            name, what, gap))
        report.append("%s: %s player %d frames all %d ms apart, longest gap %.3f s" % (
            what, name, len(st) + 1, FRAME_MS, gap))


def check_no_replay(plain, pl, victim, t0, report):
    """The edge without redundancy switched from the killed slave to the
    other one (same timeline): its player saw no frame twice."""
    check(lines(plain, "playing from origin " + addr(victim)),
          "expected the plain edge to have played from %s (the first origin of both edges)" % victim.name)
    crcs = [c for v, c in zip(list(pl.video), list(pl.video_crc)) if not v[3] and v[0] >= t0 - 3.0]
    seen, again = set(), 0
    for c in crcs:
        again += c in seen
        seen.add(c)
    rejoined = lines(plain, "continues the timeline players got")
    gap = pl.max_gap(t0)
    # (a keyframe reaching the new slave between the last frame sent and the
    # edge's connect leaves nothing to drop: it is rebased then, and no frame
    # is seen twice either)
    check(pl.error is None and pl.alive() and again == 0 and gap < 0.5,
          "expected the plain edge's player to play on across SIGKILL of %s with no frame seen twice (the new "
          "slave's GOP not replayed) and a gap under 0.5 s; %d frames seen twice, rejoin lines %r, gap %.2f s, %s; "
          "log:\n%s" % (victim.name, again, rejoined, gap, pl.describe(), plain.tail(8)))
    st, headers = steps(pl, t0 - 1.0, time.monotonic())
    report.append("SIGKILL of %s, edge without redundancy: %d frames, none seen twice, steps %s ms, %d sequence "
                  "headers, longest gap %.3f s; %s" % (victim.name, len(crcs), sorted(set(st)), headers, gap,
                                                      (rejoined or ["rebased"])[-1].split("] ", 2)[-1]))


@rill.timeout(90)
def test_edge_redundancy_switches_by_timestamp_on_kill_and_hang():
    play = "gop_cache on; mw_latency 0; time_jitter off;"
    s1 = rill.Node(name="slave1", play=play).start()
    s2 = rill.Node(name="slave2", play=play).start()
    master = rill.Node(name="master", vhost_extra="    forward { enabled on; destination %s %s; }\n" % (
        addr(s1), addr(s2))).start()
    ip = rill.new_ip()
    port, http_port, api_port = rill.free_port(ip), rill.free_port(ip), rill.free_port(ip)
    edge = rill.Node(name="edge", ip=ip, port=port, play="gop_cache on; mw_latency 0;",
                     vhost_extra="    cluster { mode remote; origin %s %s; origin_redundancy on; }\n"
                                 "    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; }\n"
                                 "    hls { enabled on; hls_fragment 1; hls_window 20; hls_dispose 30; }\n" % (
                                     addr(s1), addr(s2)),
                     global_extra="http_server { enabled on; listen %s:%d; }\n"
                                  "http_api { enabled on; listen %s:%d; }\n" % (ip, http_port, ip, api_port))
    edge.http_port, edge.api_port = http_port, api_port
    edge.start()
    # an edge without redundancy on the same slaves: its ordinary switch finds
    # the new slave on the same timeline and drops what its players had
    plain = rill.Node(name="edge-plain", play="gop_cache on; mw_latency 0;",
                      vhost_extra="    cluster { mode remote; origin %s %s; }\n" % (addr(s1), addr(s2))).start()
    pub = rill.publish(master.url(STREAM), name="publisher")
    for n in (s1, s2):
        check(rill.wait_until(lambda: lines(n, "publish __defaultVhost__/live/" + STREAM), 10),
              "expected %s to get the forwarded stream; master log:\n%s" % (n.name, master.tail(10)))
    time.sleep(0.5)
    rtmp_pl = rill.raw_player(edge, STREAM)
    flv_pl = httpflv.HttpFlvPlayer(edge.ip, edge.http_port, "/live/%s.flv" % STREAM)
    rill._players.append(flv_pl)
    flv_pl.start()
    players = [("RTMP", rtmp_pl), ("HTTP-FLV", flv_pl)]
    plain_pl = rill.raw_player(plain, STREAM)
    for name, pl in players + [("plain edge's RTMP", plain_pl)]:
        check(pl.wait_frames(10, 10.0), "expected the %s player to play through the edge; %s" % (name, pl.describe()))
    check(rill.wait_until(lambda: lines(edge, "standby playing from origin"), 5.0),
          "expected the edge to start a standby upstream; log:\n%s" % edge.tail(10))
    # HLS of the same stream on the edge, segmented across both switches
    st, text = hls_get(edge, "/live/%s.m3u8" % STREAM)
    check(st == 200 and "#EXTINF" in text, "expected the edge's HLS playlist; got %s %r" % (st, text[:200]))
    time.sleep(2.5)
    up = api_upstream(edge)
    check(up and up.get("standby") and up["standby"]["state"] == "playing" and up["standby"]["origin"] != up["origin"]
          and up["standby"].get("merging") is True,
          "expected the API to show the active upstream and a playing standby on the other origin, merged with it "
          "(one timeline); got %r" % up)
    report = ["API before: active %s, standby %s (%s, %d queued, %d messages delivered first)" % (
        up["origin"], up["standby"]["origin"], up["standby"]["state"], up["standby"]["queued"],
        up["standby"]["delivered_first"])]
    nodes = {addr(s1): s1, addr(s2): s2}

    # SIGKILL of the active slave
    cur = current(edge)
    victim = nodes[cur]
    n_sw = len(lines(edge, "switching to the standby"))
    t0 = time.monotonic()
    victim.kill()
    check(rill.wait_until(lambda: len(lines(edge, "switching to the standby")) > n_sw, 5.0),
          "expected the edge to continue from the standby after SIGKILL of %s; log:\n%s" % (victim.name, edge.tail(10)))
    time.sleep(2.0)
    check_hitless(players, t0, "SIGKILL of %s" % victim.name, report)
    check_no_replay(plain, plain_pl, victim, t0, report)

    # the killed slave comes back (the master forwards to it again): the standby
    n_sb = len(lines(edge, "standby playing from origin " + cur))
    victim.restart()
    check(rill.wait_until(lambda: len(lines(edge, "standby playing from origin " + cur)) > n_sb, 15.0),
          "expected the restarted %s to become the standby; log:\n%s" % (victim.name, edge.tail(10)))
    time.sleep(2.5)
    up = api_upstream(edge)
    check(up and up.get("standby") and up["standby"]["origin"] == cur and up["hitless_switches"] >= 1,
          "expected the API to show %s as the standby and one hitless switch; got %r" % (cur, up))

    # SIGSTOP of the active slave: the standby gets ahead, the edge follows it
    cur = current(edge)
    victim = nodes[cur]
    n_sw = len(lines(edge, "switching to the standby"))
    t0 = time.monotonic()
    victim.pause()
    ok = rill.wait_until(lambda: len(lines(edge, "switching to the standby")) > n_sw, 5.0)
    t_sw = time.monotonic() - t0
    time.sleep(2.0)
    victim.resume()
    check(ok, "expected the edge to continue from the standby after SIGSTOP of %s; log:\n%s" % (
        victim.name, edge.tail(10)))
    why = [l.split("origin ", 1)[1] for l in lines(edge, "behind the standby") + lines(edge, "silent for")]
    report.append("SIGSTOP of %s: switched after %.2f s (edge: %s)" % (victim.name, t_sw, why[-1] if why else "?"))
    check_hitless(players, t0, "SIGSTOP of %s" % victim.name, report)
    edge.assert_running("after the switches")
    up = api_upstream(edge)
    check(up and up["hitless_switches"] >= 2 and up["switches"] == up["hitless_switches"],
          "expected every switch (at least the kill's and the hang's) made by timestamp from the standby; got %r" % up)
    st, text = hls_get(edge, "/live/%s.m3u8" % STREAM)
    durs = [float(l[8:].split(",")[0]) for l in text.splitlines() if l.startswith("#EXTINF:")]
    uris = [l for l in text.splitlines() if l and not l.startswith("#")]
    seg_st, seg = hls_get(edge, "/live/" + uris[-1]) if uris else (None, "")
    check(st == 200 and len(durs) >= 5 and "#EXT-X-DISCONTINUITY" not in text and max(durs) < 3.0
          and seg_st == 200 and len(seg) > 1000,
          "expected the edge's HLS playlist to have gone on across both switches (5 or more segments, none over 3 s, "
          "no discontinuity) and its newest segment served; got %s, segments %r, newest: %s %d bytes\n%s" % (
              st, durs, seg_st, len(seg), text[-400:]))
    report.append("HLS on the edge: %d segments of %.1f..%.1f s across the switches, no discontinuity" % (
        len(durs), min(durs), max(durs)))
    report.append("API after: %d switches, %d of them by timestamp; standby %r" % (
        up["switches"], up["hitless_switches"], up.get("standby")))
    report += [l.split("] ", 2)[-1] for l in lines(edge, "switching") + lines(edge, "standby playing")]
    print("\n".join(report))
    pub.stop()
