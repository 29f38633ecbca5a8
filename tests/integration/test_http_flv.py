"""HTTP-FLV playback: ffprobe over HTTP, many HTTP-FLV and RTMP players on one
stream, unknown streams, and a publisher that leaves and comes back."""

import os
import socket
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


def _raw_request(sock, method, path, host):
    sock.sendall(("%s %s HTTP/1.1\r\nHost: %s\r\n\r\n" % (method, path, host)).encode())


def _read_head(sock, buf, timeout):
    """(status, headers dict, bytes after the head) of the next response."""
    deadline = time.monotonic() + timeout
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        d = sock.recv(4096)
        if not d:
            raise rill.TestFailure("connection closed before a whole response head; got %r" % bytes(buf))
        buf += d
    head, _, rest = bytes(buf).partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        headers[k.strip().lower()] = v.strip()
    return int(lines[0].split()[1]), headers, rest


def _read_until_close(sock, timeout):
    """(bytes read, closed?) within timeout."""
    got = b""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        try:
            d = sock.recv(65536)
        except socket.timeout:
            return got, False
        except OSError:
            return got, True
        if not d:
            return got, True
        got += d
    return got, False


@rill.timeout(60)
def test_head_answers_headers_only():
    """HEAD on a live FLV mount: the headers a GET gets (200, video/x-flv, no
    length, Connection: close), no body, and the connection closes. HEAD on a
    stream nobody publishes: 404 without a body, and the connection stays
    usable for the next request."""
    node = flv_node()
    pub = rill.publish(node.url("hd"))
    rill.watch(node, "hd", pub=pub)
    host = "%s:%d" % (node.ip, node.http_port)
    s = socket.create_connection((node.ip, node.http_port), timeout=5)
    try:
        _raw_request(s, "HEAD", "/live/hd.flv", host)
        status, headers, rest = _read_head(s, bytearray(), 5)
        check(status == 200 and headers.get("content-type") == "video/x-flv",
              "expected HEAD on a live FLV mount to answer 200 video/x-flv; got %s %r" % (status, headers))
        check(headers.get("connection") == "close" and "content-length" not in headers,
              "expected the headers of a GET (Connection: close, no Content-Length); got %r" % headers)
        more, closed = _read_until_close(s, 3.0)
        body = rest + more
        check(not body, "expected no body after the headers of a HEAD; got %d bytes (starting %r)" % (
            len(body), body[:16]))
        check(closed, "expected the server to close the connection after answering HEAD (Connection: close)")
    finally:
        s.close()

    s = socket.create_connection((node.ip, node.http_port), timeout=5)
    try:
        _raw_request(s, "HEAD", "/live/nobody.flv", host)
        status, headers, rest = _read_head(s, bytearray(), 5)
        check(status == 404, "expected HEAD on a stream nobody publishes to answer 404; got %s" % status)
        check(headers.get("connection") == "keep-alive",
              "expected the 404 to keep the connection alive; got %r" % headers)
        check(rest == b"", "expected no body after a HEAD's 404; got %r" % rest[:32])
        # the next request on the same connection is answered
        _raw_request(s, "HEAD", "/live/nobody.flv", host)
        status2, _, _ = _read_head(s, bytearray(), 5)
        check(status2 == 404, "expected a second HEAD on the kept-alive connection to answer 404; got %s" % status2)
    finally:
        s.close()
    log = node.log()
    check("] flv play " not in log and " flv player " not in log, "expected no play started by HEAD requests; log:\n%s" % node.tail(8))
    node.assert_running("after HEAD requests")


def _flv_header_flags(node, stream):
    """The type-flags byte of the FLV header an HTTP-FLV player gets."""
    s = socket.create_connection((node.ip, node.http_port), timeout=5)
    try:
        _raw_request(s, "GET", "/live/%s.flv" % stream, node.ip)
        status, _, rest = _read_head(s, b"", 5.0)
        check(status == 200, "expected 200 for %s; got %d" % (stream, status))
        deadline = time.monotonic() + 5
        while len(rest) < 9 and time.monotonic() < deadline:
            chunk = s.recv(4096)
            if not chunk:
                break
            rest += chunk
        check(rest[:3] == b"FLV", "expected an FLV header for %s; got %r" % (stream, rest[:16]))
        return rest[4]
    finally:
        s.close()


def _publish_args(node, stream, args):
    return rill.Proc("pub-" + stream, ["ffmpeg", "-nostdin", "-loglevel", "error", "-re"] + args +
                     ["-f", "flv", node.url(stream)], os.path.join(rill.tmpdir("rill-ff-"), stream + ".log"))


@rill.timeout(60)
def test_flv_header_announces_the_tracks_the_stream_has():
    """guess_has_av (default on): an audio-only stream is announced as audio
    only (flags 0x04), a video-only one as video only (0x01), both as 0x05;
    has_audio off clears the audio flag whatever the stream has."""
    node = flv_node()
    _publish_args(node, "aonly", ["-f", "lavfi", "-i", "sine=frequency=440:sample_rate=44100", "-c:a", "aac"])
    _publish_args(node, "vonly", ["-f", "lavfi", "-i", "testsrc2=size=320x180:rate=25", "-c:v", "libx264",
                                  "-preset", "ultrafast", "-tune", "zerolatency", "-g", "25"])
    rill.publish(node.url("both"))
    for name in ("aonly", "vonly", "both"):
        check(rill.wait_until(lambda: "publish __defaultVhost__/live/%s" % name in node.log(), 10.0),
              "expected %s to be published" % name)
    time.sleep(1.0)   # the sequence headers come right after the publish
    got = {name: _flv_header_flags(node, name) for name in ("aonly", "vonly", "both")}
    check(got == {"aonly": 0x04, "vonly": 0x01, "both": 0x05},
          "expected FLV header flags aonly 0x04, vonly 0x01, both 0x05; got %r" % got)
    node.stop()
    node2 = flv_node(extra_remux="has_audio off; ")
    pub = rill.publish(node2.url("both"))
    rill.watch(node2, "both", pub=pub)
    flags = _flv_header_flags(node2, "both")
    check(flags == 0x01, "expected has_audio off to announce video only (0x01); got 0x%02x" % flags)
