"""HLS from memory: the playlist and segments an origin makes while a stream is
published, played by ffprobe/ffmpeg; a B-frame and an audio-only stream; a
republish marked EXT-X-DISCONTINUITY; an edge that segments on demand and plays
on across the SIGKILL of its origin. hls_fragment is 1 s everywhere to keep
the tests short."""

import re
import time
import urllib.error
import urllib.request

from lib import media, nginx, rill, rtmp
from lib.rill import check

HLS = "    hls { enabled on; hls_fragment 1; hls_dispose 3; %s}\n"


def http_node(vhost_extra, name="rill", api=False, **kw):
    """A node with an HTTP server (node.http_port), and the API on it with api=True."""
    ip = rill.new_ip()
    port = rill.free_port(ip)
    http_port = rill.free_port(ip)
    while http_port == port:
        http_port = rill.free_port(ip)
    g = "http_server { enabled on; listen %s:%d; }\n" % (ip, http_port)
    if api:
        g += "http_api { enabled on; listen %s:%d; }\n" % (ip, http_port)
    node = rill.Node(name=name, ip=ip, port=port, global_extra=g, vhost_extra=vhost_extra, **kw)
    node.http_port = http_port
    return node


def hls_node(extra="hls_window 6; ", **kw):
    return http_node(HLS % extra, **kw).start()


def get(node, path, timeout=15.0):
    """(status, headers, body) of GET http://node/path."""
    url = "http://%s:%d%s" % (node.ip, node.http_port, path)
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.headers, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.headers, e.read()


def parse(text):
    """The playlist's target duration, media sequence, segments [(duration, uri, discontinuity)], ENDLIST."""
    target = int(re.search(r"#EXT-X-TARGETDURATION:(\d+)", text).group(1))
    seq = int(re.search(r"#EXT-X-MEDIA-SEQUENCE:(\d+)", text).group(1))
    segs, disc, dur = [], False, None
    for line in text.splitlines():
        if line == "#EXT-X-DISCONTINUITY":
            disc = True
        elif line.startswith("#EXTINF:"):
            dur = float(line[8:].split(",")[0])
        elif line and not line.startswith("#"):
            segs.append((dur, line, disc))
            disc = False
    return target, seq, segs, "#EXT-X-ENDLIST" in text


def wait_playlist(node, stream, pred, timeout, what):
    """Poll the playlist until pred(text); the last text."""
    text = ""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        st, _, body = get(node, "/live/%s.m3u8" % stream)
        text = body.decode("utf-8", "replace") if st == 200 else ""
        if text and pred(text):
            return text
        time.sleep(0.3)
    raise rill.TestFailure("expected %s within %.0f s; last playlist of %s:\n%s" % (what, timeout, stream, text))


def start_probe(node, stream, seconds):
    """ffprobe of the playlist, started (probe_hls(..., probe=) checks it)."""
    return rill.Probe("http://%s:%d/live/%s.m3u8" % (node.ip, node.http_port, stream), seconds=seconds)


def probe_hls(node, stream, seconds, min_video=None, min_audio=None, probe=None):
    """ffprobe the playlist: frames counted, timestamps increasing, a keyframe first.
    probe: one start_probe() started, to check instead of starting one."""
    url = "http://%s:%d/live/%s.m3u8" % (node.ip, node.http_port, stream)
    probe = probe or start_probe(node, stream, seconds)
    rc = probe.wait(40)
    check(rc == 0, "expected ffprobe %s to exit 0; it exited %s; stderr: %s" % (
        url, rc, rill.sanitize_lines(probe.errors(), 8)))
    video = probe.video()
    audio = [f for f in probe.frames if f.get("media_type") == "audio"]
    if min_video is not None:
        check(len(video) >= min_video, "expected >= %d video frames from %s; saw %d" % (min_video, url, len(video)))
        bad = rill.non_monotonic([rill.frame_time(f) for f in video])
        check(bad is None, "expected increasing video timestamps over HLS; frame %s goes back" % (bad and bad[0]))
        check(video[0].get("key_frame") == "1", "expected the first video frame to be a keyframe; saw %r" % video[0])
    if min_audio is not None:
        check(len(audio) >= min_audio, "expected >= %d audio frames from %s; saw %d" % (min_audio, url, len(audio)))
        bad = rill.non_monotonic([rill.frame_time(f) for f in audio])
        check(bad is None, "expected increasing audio timestamps over HLS; frame %s goes back" % (bad and bad[0]))
    return probe, video, audio


@rill.timeout(90)
def test_hls_origin_playlist_segments_and_ffprobe():
    node = hls_node()
    pub = rill.publish(node.url("h1"))
    rill.watch(node, "h1", pub=pub)
    # 2 s GOPs against a 1 s fragment: a segment per GOP; 6 s window
    text = wait_playlist(node, "h1", lambda t: len(parse(t)[2]) >= 3, 20, "3 segments")
    st, hdr, body = get(node, "/live/h1.m3u8")
    check(st == 200 and hdr.get("Content-Type") == "application/vnd.apple.mpegurl",
          "expected 200 application/vnd.apple.mpegurl; got %s %s" % (st, hdr.get("Content-Type")))
    check("max-age=1" in (hdr.get("Cache-Control") or ""), "expected a short Cache-Control on the playlist; got %r"
          % hdr.get("Cache-Control"))
    check(hdr.get("Access-Control-Allow-Origin") == "*", "expected CORS on the playlist; headers %s" % dict(hdr))
    target, seq, segs, ended = parse(body.decode())
    for d, uri, _ in segs:
        check(round(d) <= target, "expected EXT-X-TARGETDURATION %d >= every EXTINF rounded; %s is %.3f s\n%s" % (
            target, uri, d, text))
        check(1.5 <= d <= 2.5, "expected 2 s segments (2 s GOPs, 1 s fragment); %s is %.3f s" % (uri, d))
    check(sum(d for d, _, _ in segs) <= 6.0 + 0.01, "expected at most 6 s in the window; saw %s" % segs)
    check(not ended, "expected no ENDLIST while published")
    # a segment: the right type, TS packets, long caching
    st, hdr, ts = get(node, "/live/" + segs[-1][1])
    check(st == 200 and hdr.get("Content-Type") == "video/mp2t", "expected 200 video/mp2t for %s; got %s %s" % (
        segs[-1][1], st, hdr.get("Content-Type")))
    check(len(ts) > 188 * 10 and len(ts) % 188 == 0 and ts[0] == 0x47, "expected whole TS packets; %d bytes" % len(ts))
    check("max-age=600" in (hdr.get("Cache-Control") or ""), "expected a long Cache-Control on a segment; got %r" %
          hdr.get("Cache-Control"))
    # the media sequence moves on as segments are cut
    text2 = wait_playlist(node, "h1", lambda t: parse(t)[1] > seq, 10, "the media sequence to grow past %d" % seq)
    check(parse(text2)[2][-1][1] != segs[-1][1], "expected a new last segment")
    # unknown stream, unknown segment: 404
    for path in ("/live/nobody.m3u8", "/live/h1-1.ts", "/live/nobody-%d.ts" % seq):
        st, _, _ = get(node, path)
        check(st == 404, "expected 404 for %s; got %s" % (path, st))
    # players: ffprobe decodes 4 s of it from the playlist
    probe, video, audio = probe_hls(node, "h1", 4, min_video=75, min_audio=100)
    v = probe.stream("video")
    check(v is not None and v.get("codec_name") == "h264" and v.get("width") == "640",
          "expected h264 640x360 over HLS; ffprobe saw %r" % probe.streams)
    print("origin: %d segments in the window, target %d s, %d video and %d audio frames in 4 s" % (
        len(segs), target, len(video), len(audio)))
    pub.stop()
    node.assert_running("after HLS playback")


@rill.timeout(120)
def test_hls_bframes_and_audio_only():
    node = hls_node("hls_window 12; ")
    pubs = [media.publish_file(node.url("bf"), media.media_file("bframes"), name="pub-bframes"),
            media.publish_file(node.url("ao"), media.media_file("audio"), name="pub-audio")]
    # 4 s GOPs: 4 s segments; audio only: cut at 1 s * hls_aof_ratio 2.1
    wait_playlist(node, "bf", lambda t: len(parse(t)[2]) >= 2, 25, "2 B-frame segments")
    text = wait_playlist(node, "ao", lambda t: len(parse(t)[2]) >= 2, 25, "2 audio-only segments")
    for d, uri, _ in parse(text)[2]:
        check(2.0 <= d <= 2.4, "expected audio-only segments of about 2.1 s; %s is %.3f s\n%s" % (uri, d, text))
    # both probes at once
    probes = {"bf": start_probe(node, "bf", 5), "ao": start_probe(node, "ao", 4)}
    _, video, _ = probe_hls(node, "bf", 5, min_video=100, probe=probes["bf"])
    b = sum(1 for f in video if f.get("pict_type") == "B")
    check(b > 0, "expected B-frames through HLS; pict types %s" % sorted(set(f.get("pict_type") for f in video)))
    probe, video, audio = probe_hls(node, "ao", 4, min_audio=100, probe=probes["ao"])
    check(not video and probe.stream("video") is None, "expected no video in the audio-only HLS; saw %r" % probe.streams)
    print("B-frames: %d B of %d video frames; audio only: %d frames" % (b, len(video) or 0, len(audio)))
    for p in pubs:
        p.stop()
    node.assert_running("after B-frame and audio-only HLS")


@rill.timeout(90)
def test_hls_republish_endlist_then_discontinuity():
    node = hls_node()
    pub = rill.publish(node.url("rp"))
    wait_playlist(node, "rp", lambda t: len(parse(t)[2]) >= 2, 20, "2 segments")
    pub.stop()
    text = wait_playlist(node, "rp", lambda t: parse(t)[3], 10, "EXT-X-ENDLIST after the publisher left")
    last = parse(text)[2][-1]
    pub = rill.publish(node.url("rp"))
    text = wait_playlist(node, "rp", lambda t: not parse(t)[3] and any(s[2] for s in parse(t)[2]), 20,
                         "a segment marked EXT-X-DISCONTINUITY after the republish")
    segs = parse(text)[2]
    check(sum(1 for s in segs if s[2]) == 1 and not segs[0][2] and "DISCONTINUITY-SEQUENCE" not in text,
          "expected one EXT-X-DISCONTINUITY, before the first segment of the new publish; playlist:\n%s" % text)
    i = [k for k, s in enumerate(segs) if s[2]][0]
    check(i > 0 and segs[i - 1][1] == last[1], "expected the new publish's first segment right after %s; "
          "playlist:\n%s" % (last[1], text))
    # the new publish's timestamps start anew (nobody held the source): a
    # player honours the tag; ffprobe does not, so it reads past it only
    wait_playlist(node, "rp", lambda t: parse(t)[2][0][2] or "DISCONTINUITY-SEQUENCE" in t, 15,
                  "the window to start at the new publish")
    probe_hls(node, "rp", 3, min_video=50)
    pub.stop()
    # hls_dispose 3: gone 3 s after the publisher left
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline and get(node, "/live/rp.m3u8")[0] != 404:
        time.sleep(0.5)
    check(get(node, "/live/rp.m3u8")[0] == 404, "expected 404 once hls_dispose (3 s) passed after unpublish")
    node.assert_running("after a republish")


def api_clients(node):
    import json
    st, _, body = get(node, "/api/v1/clients/")
    check(st == 200, "expected the API to answer; got %s" % st)
    return [c for c in json.loads(body).get("clients", []) if c.get("type") == "hls"]


@rill.timeout(120)
def test_hls_edge_on_demand_survives_origin_sigkill():
    origins = [rill.start_node(name="origin-%s" % n) for n in "ab"]
    path = media.media_file("gop2s")
    pubs = [media.publish_file(o.url("eh"), path, name="pub-%s" % o.name) for o in origins]
    for o in origins:
        rill.watch(o, "eh", frames=5, timeout=15)
    edge = http_node(HLS % "hls_window 6; " + "    cluster { mode remote; origin %s; }\n" % " ".join(
        "%s:%d" % (o.ip, o.port) for o in origins), name="edge", api=True)
    edge.start()
    # the first playlist request starts the pull and waits for a segment
    t0 = time.monotonic()
    st, _, body = get(edge, "/live/eh.m3u8", timeout=20)
    check(st == 200 and parse(body.decode())[2], "expected the edge's first playlist request to answer with a "
          "segment; got %s %r" % (st, body[:200]))
    first = time.monotonic() - t0
    check(len(api_clients(edge)) == 1, "expected one HLS session in the API; saw %r" % api_clients(edge))
    url = "http://%s:%d/live/eh.m3u8" % (edge.ip, edge.http_port)
    player = rill.Proc("ffmpeg-hls", ["ffmpeg", "-nostdin", "-hide_banner", "-loglevel", "error", "-i", url,
                                      "-t", "14", "-f", "null", "-"],
                       rill.tmpdir("rill-ff-") + "/ffmpeg.log")
    time.sleep(4)
    origins[0].kill()
    rc = player.wait(40)
    check(rc == 0, "expected ffmpeg to play 14 s of HLS through the edge across SIGKILL of its origin (exit 0); "
          "exit %s: %s\nedge log:\n%s" % (rc, rill.sanitize_lines(player.output(), 8), edge.tail(20)))
    # after the switch: ffprobe from the edge, timestamps still increasing, a keyframe first
    probe_hls(edge, "eh", 3, min_video=50, min_audio=80)
    text = wait_playlist(edge, "eh", lambda t: not parse(t)[3], 5, "the edge's playlist live")
    st, _, _ = get(edge, "/live/" + parse(text)[2][-1][1])
    check(st == 200, "expected the edge's newest segment to be served; got %s" % st)
    # nobody asks for hls_dispose (3 s): the edge stops segmenting and its pull
    check(rill.wait_until(lambda: "disposed (no request)" in edge.log(), 6.0, 0.1),
          "expected the edge to dispose of the stream within 6 s, 3 s without a request; log:\n%s" % edge.tail(20))
    print("edge: first playlist after %.2f s; ffmpeg played 14 s across the SIGKILL" % first)
    for p in pubs:
        p.stop()
    edge.assert_running("after HLS across an origin SIGKILL")


@rill.timeout(120)
def test_hls_through_the_nginx_front_one_request_per_segment():
    import threading
    origin = rill.start_node(name="origin")
    pub = rill.publish(origin.url("nf"))
    rill.watch(origin, "nf", pub=pub)
    edge = http_node(HLS % "hls_window 6; " + "    cluster { mode remote; origin %s:%d; }\n" % (
        origin.ip, origin.port), name="edge").start()
    front = nginx.front(edge.ip, edge.http_port)
    st, hdr, body = get(front, "/live/nf.m3u8", timeout=20)
    check(st == 200 and parse(body.decode())[2], "expected a playlist through nginx; got %s %r" % (st, body[:200]))
    PLAYERS, SECONDS = 100, 6
    fetched, errors = {}, []
    lock = threading.Lock()

    def player():
        seen = set()
        end = time.monotonic() + SECONDS
        try:
            while time.monotonic() < end:
                st, _, body = get(front, "/live/nf.m3u8")
                if st != 200:
                    raise RuntimeError("playlist %s" % st)
                for _, uri, _ in parse(body.decode())[2][-2:]:
                    if uri in seen:
                        continue
                    st, _, ts = get(front, "/live/" + uri)
                    if st != 200 or not ts or ts[0] != 0x47:
                        raise RuntimeError("%s: %s, %d bytes" % (uri, st, len(ts)))
                    seen.add(uri)
                    with lock:
                        fetched[uri] = fetched.get(uri, 0) + 1
                time.sleep(0.5)
        except Exception as e:   # noqa: BLE001 (reported below)
            with lock:
                errors.append(str(e))

    threads = [threading.Thread(target=player, daemon=True) for _ in range(PLAYERS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(SECONDS + 30)
    check(not errors, "expected every player to get playlists and segments through nginx; %d errors, first: %s" % (
        len(errors), errors[:3]))
    log = edge.log()
    upstream = {}
    for uri in fetched:
        upstream[uri] = len(re.findall(r"GET /live/%s -> 200" % re.escape(uri), log))
    check(len(fetched) >= 3, "expected players to fetch >= 3 segments in %d s; fetched %s" % (SECONDS, fetched))
    check(all(n == 1 for n in upstream.values()),
          "expected one request per segment at the edge whatever the number of players; edge saw %s for player "
          "requests %s" % (upstream, fetched))
    playlists = len(re.findall(r"GET /live/nf\.m3u8 -> 200", log))
    check(playlists <= 2 * (SECONDS + 2) + 2, "expected the edge to answer about one playlist a second through the "
          "cache; it answered %d in about %d s" % (playlists, SECONDS + 2))
    print("nginx front: %d players, %d segment requests from players, %d at the edge (%d segments); "
          "%d playlist requests at the edge" % (PLAYERS, sum(fetched.values()), sum(upstream.values()),
                                                len(fetched), playlists))
    front.proc.stop(2)
    pub.stop()
    edge.assert_running("after the nginx front")


@rill.timeout(90)
def test_hls_sessions_run_on_play_and_on_stop():
    import test_hooks
    hooks = test_hooks.HookServer()
    try:
        node = http_node(HLS % "hls_window 6; " + test_hooks.hooks_block(
            {"on_play": [hooks.url("/on_play")], "on_stop": [hooks.url("/on_stop")]}), api=True).start()
        pub = rill.publish(node.url("hk?token=good"))
        check(rill.wait_until(lambda: "publish __defaultVhost__/live/hk" in node.log(), 10.0), "expected hk published")
        # a stream nobody publishes: 404 at once, no on_play, no session
        st, _, _ = get(node, "/live/nobody.m3u8?token=good")
        check(st == 404 and not hooks.calls("/on_play"), "expected 404 without on_play for a stream nobody "
              "publishes; got %s, calls %s" % (st, hooks.describe()))
        st, _, _ = get(node, "/live/hk.m3u8?token=bad")
        check(st == 403, "expected 403 for a playlist the on_play hook refuses; got %s" % st)
        deadline = time.monotonic() + 20
        st = None
        while st != 200 and time.monotonic() < deadline:
            st, _, body = get(node, "/live/hk.m3u8?token=good", timeout=20)
        check(st == 200, "expected 200 for a playlist on_play allows; got %s" % st)
        segs = parse(body.decode())[2]
        check(segs and all(uri.endswith(".ts?token=good") for _, uri, _ in segs),
              "expected the token carried to every segment URI; playlist:\n%s" % body.decode())
        call = hooks.wait("/on_play", param="?token=good")
        check(call["body"].get("stream") == "hk" and call["body"].get("app") == "live",
              "expected on_play to name the stream; body %r" % call["body"])
        # a query longer than 1024 bytes would be repeated on every segment line: refused
        st, _, _ = get(node, "/live/hk.m3u8?token=good&pad=" + "x" * 1100)
        check(st == 400, "expected 400 for a playlist request with a 1.1 KB query; got %s" % st)
        # the same player again: the same session, no second on_play
        get(node, "/live/hk.m3u8?token=good")
        check(len(hooks.calls("/on_play", param="?token=good")) == 1,
              "expected one on_play per session; calls: %s" % hooks.describe())
        clients = api_clients(node)
        check(len(clients) == 1 and clients[0].get("id") == call["body"].get("client_id"),
              "expected the session in the API with on_play's client id; API %r, hook %r" % (clients, call["body"]))
        pub.stop()
        # a session ends at the latest at shutdown: on_stop with the same client id
        node.stop()
        hooks.wait("/on_stop", client_id=call["body"].get("client_id"))
    finally:
        hooks.close()


@rill.timeout(90)
def test_hls_files_in_hls_path_written_cleaned_and_disposed():
    import os
    d = rill.tmpdir("rill-hlsfiles-")
    node = hls_node("hls_window 4; hls_path %s; " % d)
    pub = rill.publish(node.url("fs"))
    m3u8 = os.path.join(d, "live", "fs.m3u8")
    text = wait_playlist(node, "fs", lambda t: len(parse(t)[2]) >= 2 and parse(t)[1] > 0, 20, "2 segments")
    # the files follow the playlist served from memory (the writer thread lags a little)
    def on_disk():
        try:
            with open(m3u8) as f:
                t = f.read()
        except OSError:
            return None
        segs = parse(t)[2] if "#EXTINF" in t else []
        if not segs or not all(os.path.exists(os.path.join(d, "live", u)) for _, u, _ in segs):
            return None
        return t
    check(rill.wait_until(lambda: on_disk() is not None, 5), "expected %s and its segments on disk; dir has %s" % (
        m3u8, os.listdir(os.path.join(d, "live")) if os.path.isdir(os.path.join(d, "live")) else "nothing"))
    seg = parse(on_disk())[2][-1][1]
    with open(os.path.join(d, "live", seg), "rb") as f:
        disk = f.read()
    st, _, mem = get(node, "/live/" + seg)
    check(st == 200 and disk == mem, "expected the file %s to hold the bytes served (%d on disk, %d served)" % (
        seg, len(disk), len(mem)))
    # hls_cleanup on: segments that left the 4 s window (2 segments) are
    # removed; three more cut, three left it
    seq0 = parse(text)[1]
    text = wait_playlist(node, "fs", lambda t: parse(t)[1] >= seq0 + 3, 12,
                         "3 more segments cut (the media sequence from %d to %d)" % (seq0, seq0 + 3))
    files = sorted(f for f in os.listdir(os.path.join(d, "live")) if f.endswith(".ts"))
    listed = [u for _, u, _ in parse(on_disk() or text)[2]]
    check(len(files) <= len(listed) + 1, "expected only the playlist's segments on disk (cleanup); files %s, "
          "playlist %s" % (files, listed))
    check(not any(f.endswith(".tmp") for f in os.listdir(os.path.join(d, "live"))), "expected no .tmp left")
    pub.stop()
    # hls_dispose 3: every file goes after the publisher left
    ok = rill.wait_until(lambda: not [f for f in os.listdir(os.path.join(d, "live"))], 10)
    check(ok, "expected the stream's files removed after hls_dispose; left %s" % os.listdir(os.path.join(d, "live")))
    print("files: %d segment files with a %d-segment playlist; all removed after dispose" % (len(files), len(listed)))
    node.assert_running("after writing HLS files")


@rill.timeout(60)
def test_hls_names_that_would_leave_hls_path_write_no_files():
    """hls_path is D/html. ffmpeg publishes 'cam' and a stream named
    '../../escape' (rendered live/../../escape.m3u8, which is D/escape.m3u8):
    cam's files are written under D/html; the other stream is segmented in
    memory but gets no file anywhere (before, its playlist and segments went
    to D, outside hls_path, with the directories made on the way). A stream
    name with a control character is refused at publish."""
    import os
    d = rill.tmpdir("rill-hlsesc-")
    html = os.path.join(d, "html")
    node = hls_node("hls_window 4; hls_path %s; " % html)
    good = rill.publish(node.url("cam"), name="pub-cam")
    bad = rill.publish("rtmp://%s:%d/live/../../escape" % (node.ip, node.port), name="pub-escape")
    ok = rill.wait_until(lambda: "publish __defaultVhost__/live/../../escape" in node.log(), 10.0)
    check(ok, "expected ffmpeg to publish the stream named '../../escape'; log:\n%s" % node.tail(10))
    wait_playlist(node, "cam", lambda t: len(parse(t)[2]) >= 2, 20, "2 segments of cam")
    check(rill.wait_until(lambda: os.path.exists(os.path.join(html, "live", "cam.m3u8")), 5.0),
          "expected cam's playlist under hls_path")
    time.sleep(1.0)
    outside = sorted(os.path.relpath(os.path.join(r, f), d) for r, _, fs in os.walk(d) for f in fs
                     if not os.path.join(r, f).startswith(html + os.sep))
    check(not outside, "expected no file outside hls_path; found %s" % outside)
    check("hls __defaultVhost__/live/../../escape: no files for it (its names would leave hls_path)" in node.log(),
          "expected the server to say why the stream gets no files")
    check(bad.alive() and good.alive(), "expected both publishers to go on")
    c = rtmp.RtmpConn(node.ip, node.port)
    try:
        c.handshake()
        c.connect("live")
        refused = None
        try:
            c.publish("bad\nname")
        except rtmp.RtmpError as e:
            refused = str(e)
    finally:
        c.close()
    check(refused and "BadName" in refused, "expected a stream name with a newline refused at publish; got %r" %
          refused)
    print("files under hls_path only; '../../escape' segmented in memory, no file; a newline in a name refused")


@rill.timeout(90)
def test_vlc_records_the_hls_playlist():
    node = hls_node()
    pub = rill.publish(node.url("vl"))
    wait_playlist(node, "vl", lambda t: len(parse(t)[2]) >= 2, 20, "2 segments")
    url = "http://%s:%d/live/vl.m3u8" % (node.ip, node.http_port)
    rc, out, log = rill.vlc_record(url, run_time=6, timeout=30)
    import os
    size = os.path.getsize(out) if os.path.exists(out) else -1
    check(size > 0, "expected VLC to record %s to %s; size %d, vlc exit %s, log: %s" % (
        url, out, size, rc, rill.sanitize_lines(log, 10)))
    info = rill.stream_info(out)
    check(info and info.get("codec_name") == "h264" and info.get("width") == "640",
          "expected h264 640x360 in VLC's recording of the playlist (%d bytes); ffprobe: %r" % (size, info))
    frames = int(info.get("nb_read_frames") or 0)
    check(frames >= 75, "expected >= 75 video frames in VLC's 6 s of HLS; ffprobe counted %d" % frames)
    print("vlc: %d bytes, %d video frames from the playlist in 6 s" % (size, frames))
    pub.stop()
    node.assert_running("after VLC played HLS")


@rill.timeout(90)
def test_hls_edge_token_traverse():
    import test_hooks
    hooks = test_hooks.HookServer()
    try:
        origin = rill.start_node(name="origin", vhost_extra=test_hooks.hooks_block(
            {"on_play": [hooks.url("/on_play")]}))
        pub = rill.publish(origin.url("tt?token=good"))
        edge = http_node(HLS % "hls_window 6; " + "    cluster { mode remote; origin %s:%d; token_traverse on; }\n" % (
            origin.ip, origin.port), name="edge").start()
        st, _, _ = get(edge, "/live/tt.m3u8?token=bad")
        check(st == 403, "expected 403 from the edge when the origin refuses the token; got %s" % st)
        check(edge.log().count("refused by origin (token_traverse)") >= 1, "expected the edge to log the refusal")
        deadline, st = time.monotonic() + 20, None
        while st != 200 and time.monotonic() < deadline:
            st, _, body = get(edge, "/live/tt.m3u8?token=good", timeout=20)
        check(st == 200 and parse(body.decode())[2], "expected the edge's playlist with a good token; got %s" % st)
        hooks.wait("/on_play", param="?token=good")
        pub.stop()
    finally:
        hooks.close()
