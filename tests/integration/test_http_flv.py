"""HTTP-FLV playback: ffprobe over HTTP, many HTTP-FLV and RTMP players on one
stream, unknown streams, and a publisher that leaves and comes back."""

import time

from lib import httpflv, rill
from lib.rill import check


def flv_node(extra_remux=""):
    """A node with an HTTP server and the default HTTP-FLV mount."""
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    node = rill.Node(name="rill", ip=ip, port=port,
                     global_extra="http_server { enabled on; listen %s:%d; }\n" % (ip, http_port),
                     vhost_extra="    http_remux { enabled on; mount [vhost]/[app]/[stream].flv; %s}\n" % extra_remux)
    node.http_port = http_port
    return node.start()


def flv_player(node, stream):
    pl = httpflv.HttpFlvPlayer(node.ip, node.http_port, "/live/%s.flv" % stream)
    rill._players.append(pl)
    return pl.start()


@rill.timeout(60)
def test_ffprobe_plays_http_flv():
    node = flv_node()
    pub = rill.publish(node.url("hf"))
    rill.watch(node, "hf", pub=pub)
    url = "http://%s:%d/live/hf.flv" % (node.ip, node.http_port)
    probe = rill.Probe(url, seconds=3)
    rc = probe.wait(20)
    check(rc == 0, "expected ffprobe %s to exit 0; it exited %s; stderr: %s" % (
        url, rc, rill.sanitize_lines(probe.errors(), 8)))
    v, a = probe.stream("video"), probe.stream("audio")
    check(v is not None and v.get("codec_name") == "h264" and v.get("width") == "640",
          "expected h264 640x360 over HTTP-FLV; ffprobe saw %r" % probe.streams)
    check(a is not None and a.get("codec_name") == "aac", "expected aac over HTTP-FLV; saw %r" % probe.streams)
    video = probe.video()
    check(len(video) >= 40, "expected >= 40 video frames in 3 s over HTTP-FLV; saw %d" % len(video))
    bad = rill.non_monotonic([rill.frame_time(f) for f in video])
    check(bad is None, "expected increasing timestamps over HTTP-FLV; frame %s goes back" % (bad and bad[0]))
    check(video[0].get("key_frame") == "1", "expected the first frame to be a keyframe (GOP cache); saw %r" % video[0])


@rill.timeout(90)
def test_fifty_http_flv_and_fifty_rtmp_players_share_the_stream():
    node = flv_node()
    pub = rill.publish(node.url("many"))
    rill.watch(node, "many", pub=pub)
    flv = [flv_player(node, "many") for _ in range(50)]
    rtmp = [rill.raw_player(node, "many") for _ in range(50)]
    deadline = time.monotonic() + 20
    for pl in flv + rtmp:
        pl.wait_frames(50, max(0.1, deadline - time.monotonic()))
    short = [(i, pl.count(), pl.error) for i, pl in enumerate(flv + rtmp) if pl.count() < 50]
    check(not short, "expected all 100 players (50 HTTP-FLV, 50 RTMP) to get >= 50 video frames within 20 s; "
                     "%d did not (index, frames, error): %r" % (len(short), short[:8]))
    for pl in flv:
        check(pl.flv_headers == 1 and pl.error is None,
              "expected one FLV header and a clean stream per HTTP-FLV player; %s" % pl.describe())
        check(pl.frames()[0][2], "expected each HTTP-FLV player's first video frame to be a keyframe; %s" % pl.describe())
    node.assert_running("with 100 players")


@rill.timeout(30)
def test_unknown_stream_is_404():
    node = flv_node()
    pl = flv_player(node, "nobody")
    pl.wait_status(5)
    check(pl.status == 404, "expected 404 for a stream nobody publishes; got %r" % pl.status)


@rill.timeout(90)
def test_republish_keeps_the_response_open_without_a_second_header():
    node = flv_node("republish_timeout 8000; ")
    pub = rill.publish(node.url("re"))
    rill.watch(node, "re", pub=pub)
    pl = flv_player(node, "re")
    check(pl.wait_frames(25, 10), "expected the HTTP-FLV player to play; %s" % pl.describe())
    pub.kill()
    time.sleep(2.0)
    n = pl.count()
    check(pl.alive(), "expected the HTTP-FLV response to stay open while the publisher is gone; %s" % pl.describe())
    pub2 = rill.publish(node.url("re"), name="publisher2")
    check(pl.wait_frames(n + 50, 15), "expected the still-open HTTP-FLV player to continue after the republish; %s"
          % pl.describe())
    check(pl.flv_headers == 1 and pl.error is None,
          "expected no second FLV header after the republish (only new tags); %s" % pl.describe())
    check(len(pl.seq_headers()) >= 2, "expected the new session's sequence headers as tags; saw %d" %
          len(pl.seq_headers()))
    # Without a publisher for longer than republish_timeout, the response ends.
    pub2.kill()
    t0 = time.monotonic()
    ok = rill.wait_until(lambda: not pl.alive(), 15)
    check(ok, "expected the HTTP-FLV response to end within republish_timeout (8 s) + margin; still open after "
              "%.1fs" % (time.monotonic() - t0))
    dt = time.monotonic() - t0
    check(dt >= 6.0, "expected the response to stay open about republish_timeout (8 s); it ended after %.1fs" % dt)
