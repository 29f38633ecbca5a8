"""Publish with ffmpeg, play with ffprobe / ffmpeg: codecs, frames, timestamps."""

import time

from lib import rill
from lib.rill import check


def _probe_and_check(node, stream, seconds=3, min_frames=40, what=""):
    probe = rill.Probe(node.url(stream), seconds=seconds)
    rc = probe.wait(seconds + 15)
    video = probe.video()
    check(rc == 0, "expected ffprobe %s%s to exit 0; it exited %s; stderr: %s" % (
        node.url(stream), what, rc, rill.sanitize_lines(probe.errors(), 8)))
    v = probe.stream("video")
    a = probe.stream("audio")
    check(v is not None and v.get("codec_name") == "h264",
          "expected an h264 video stream%s; ffprobe saw streams %r" % (what, probe.streams))
    check(v.get("width") == "640" and v.get("height") == "360",
          "expected video 640x360%s; saw %sx%s" % (what, v.get("width"), v.get("height")))
    check(a is not None and a.get("codec_name") == "aac",
          "expected an aac audio stream%s; ffprobe saw streams %r" % (what, probe.streams))
    check(len(video) >= min_frames,
          "expected >= %d video frames in %ss of playing%s; saw %d" % (
              min_frames, seconds, what, len(video)))
    times = [rill.frame_time(f) for f in video]
    bad = rill.non_monotonic(times)
    check(bad is None, "expected increasing video timestamps%s; frame %s has %s after %s" % (
        what, bad and bad[0], bad and bad[2], bad and bad[1]))
    # 25 fps: frames 40 ms apart (a timestamp mangled on the way, e.g. an
    # extended timestamp misread, shows up as odd deltas).
    deltas = sorted(b - a for a, b in zip(times, times[1:]))
    med = deltas[len(deltas) // 2]
    check(0.035 <= med <= 0.045, "expected video frames 40 ms apart (25 fps)%s; median delta %.3fs" % (what, med))
    check(deltas[-1] <= 0.5, "expected no jump > 0.5 s between video timestamps%s; largest %.3fs" % (
        what, deltas[-1]))
    audio = [rill.frame_time(f) for f in probe.frames if f.get("media_type") == "audio"]
    check(len(audio) >= seconds * 20, "expected >= %d audio frames in %ss (AAC 44.1 kHz is ~43/s)%s; saw %d" % (
        seconds * 20, seconds, what, len(audio)))
    bad = rill.non_monotonic(audio)
    check(bad is None, "expected increasing audio timestamps%s; frame %s has %s after %s" % (
        what, bad and bad[0], bad and bad[2], bad and bad[1]))
    skew = abs(audio[-1] - times[-1])
    check(skew <= 1.0, "expected audio and video timestamps to stay together%s; last audio %.3f, last "
                       "video %.3f" % (what, audio[-1], times[-1]))
    errs = probe.errors()
    check(not errs, "expected no ffprobe errors%s; saw: %s" % (what, rill.sanitize_lines(errs, 8)))
    return probe, times


@rill.timeout(60)
def test_publish_and_ffprobe():
    node, pub, _ = rill.start_live("cam1")
    probe, _ = _probe_and_check(node, "cam1")
    arr = [f["arrival"] for f in probe.video()]
    gap = rill.max_gap(arr)
    check(gap <= 1.0, "expected video frames to arrive without a gap > 1s; longest gap %.2fs" % gap)
    check(pub.alive(), "expected the publisher to keep running; %s" % rill.proc_state(pub))


LOW_LATENCY = "gop_cache on; queue_length 10; mw_latency 0; mw_msgs 0;"
URING_LINE = "io_uring: the write pass hands the kernel"
NO_URING_LINE = "io_uring not available"


@rill.timeout(60)
def test_low_latency_players_through_io_uring_and_without_it():
    """Low-latency players at the live edge are written by the stream's write
    pass, whose sends go to the kernel in batches through io_uring, or one
    send() each where io_uring is not allowed (RILL_IO_URING=off stands in for
    such a kernel): two players of each server get the whole stream either way."""
    for env, used in (({}, True), ({"RILL_IO_URING": "off"}, False)):
        what = " (%s)" % ("io_uring" if used else "RILL_IO_URING=off")
        node = rill.Node(name="ll-uring" if used else "ll-send", play=LOW_LATENCY, env_extra=env).start()
        pub = rill.publish(node.url("cam"))
        raw = rill.watch(node, "cam", frames=5, timeout=10, pub=pub)
        other = rill.Probe(node.url("cam"), seconds=3)
        _probe_and_check(node, "cam", what=what)
        check(other.wait(20) == 0, "expected the second player%s to exit 0; stderr: %s" % (
            what, rill.sanitize_lines(other.errors(), 8)))
        check(len(other.video()) >= 40, "expected >= 40 video frames for the second player%s; saw %d" % (
            what, len(other.video())))
        check(raw.error is None and raw.count() >= 50, "expected the raw player%s to keep getting video; "
              "%d frames, error %s" % (what, raw.count(), raw.error))
        # a kernel that refuses io_uring says so, and the pass sends one by one there too
        said = URING_LINE in node.log() or (used and NO_URING_LINE in node.log())
        check(said == used, "expected the log%s %s say %r; log tail: %s" % (
            what, "to" if used else "not to", URING_LINE, node.tail(10)))
        pub.stop()
        node.stop()


@rill.timeout(60)
def test_low_latency_players_held_for_mw_msgs():
    """mw_latency 0 with mw_msgs 8 (its default without min_latency on): the
    write pass holds a parked player's messages until 8 have come, none
    longer than 100 ms, and the clock writes what waited that long; players
    get the whole stream, with no gap in the video near a second."""
    node = rill.Node(name="ll-msgs", play="gop_cache on; queue_length 10; mw_latency 0; mw_msgs 8;").start()
    pub = rill.publish(node.url("cam"))
    raw = rill.watch(node, "cam", frames=5, timeout=10, pub=pub)
    since = time.monotonic()
    _probe_and_check(node, "cam", what=" (mw_msgs 8)")
    rill.check_player_smooth(raw, since, "with mw_msgs 8", max_gap_s=0.5)
    check(raw.count() >= 50, "expected the raw player to keep getting video with mw_msgs 8; %d frames" % raw.count())
    pub.stop()
    node.stop()


@rill.timeout(60)
def test_extended_timestamps_above_24bit():
    # -output_ts_offset 16778 s: every timestamp is above 0xFFFFFF ms, so every
    # chunk from ffmpeg carries an extended timestamp.
    node, pub, _ = rill.start_live("ext", pub_extra=["-output_ts_offset", "16778"])
    _probe_and_check(node, "ext", what=" (publisher timestamps > 0xFFFFFF ms)")
    check(pub.alive(), "expected the publisher to keep running; %s" % rill.proc_state(pub))


@rill.timeout(60)
def test_timestamps_cross_24bit():
    # Starts 1.2 s below 0xFFFFFF ms (16777.215 s) and crosses it while
    # playing: chunks switch from 24-bit to extended timestamps mid-stream.
    node, pub, pl = rill.start_live("cross", pub_extra=["-output_ts_offset", "16776"])
    _probe_and_check(node, "cross", seconds=4, what=" (publisher timestamps crossing 0xFFFFFF ms)")
    rill.check_player_smooth(pl, pl.frames()[0][0], "across the 0xFFFFFF ms crossing")
    ts = [t for (_, t, _) in pl.frames()]
    bad = rill.non_monotonic(ts)
    check(bad is None, "expected the RTMP timestamps seen by a raw player to increase across "
                       "0xFFFFFF; message %s has %s after %s" % (
                           bad and bad[0], bad and bad[2], bad and bad[1]))
    check(pub.alive(), "expected the publisher to keep running; %s" % rill.proc_state(pub))


@rill.timeout(60)
def test_ffmpeg_decodes_without_errors():
    node, pub, _ = rill.start_live("dec")
    rc, err, frames = rill.ffmpeg_play_null(node.url("dec"), seconds=3)
    check(rc == 0, "expected `ffmpeg -i %s -t 3 -f null -` to exit 0; it exited %s: %s" % (
        node.url("dec"), rc, rill.sanitize_lines(err, 8)))
    check(not err.strip(), "expected no errors decoding; ffmpeg printed: %s" % rill.sanitize_lines(err, 10))
    check(frames >= 50, "expected >= 50 decoded video frames in 3 s; ffmpeg decoded %d" % frames)


@rill.timeout(60)
def test_timestamps_cross_24bit_passthrough():
    # time_jitter off: players get the publisher's own timestamps, so rill's
    # chunk encoder itself must switch to extended timestamps at 0xFFFFFF.
    node, pub, pl = rill.start_live("thru", pub_extra=["-output_ts_offset", "16776"],
                                    play="gop_cache on; queue_length 10; mw_latency 350; mw_msgs 8; "
                                         "time_jitter off;")
    _probe_and_check(node, "thru", seconds=4, what=" (time_jitter off, timestamps crossing 0xFFFFFF ms)")
    rill.check_player_smooth(pl, pl.frames()[0][0], "across the 0xFFFFFF ms crossing (time_jitter off)")
    ts = [t for (_, t, _) in pl.frames()]
    check(ts[0] >= 16776000 - 1000, "expected time_jitter off to keep the publisher's timestamps "
                                    "(~16776000 ms); the first frame has %d ms" % ts[0])
    check(ts[-1] > 0xFFFFFF, "expected timestamps to pass 0xFFFFFF ms (16777215) during the test; "
                             "the last is %d" % ts[-1])
    bad = rill.non_monotonic(ts)
    check(bad is None, "expected the RTMP timestamps seen by a raw player to increase across "
                       "0xFFFFFF; message %s has %s after %s" % (bad and bad[0], bad and bad[2], bad and bad[1]))
    deltas = [b - a for a, b in zip(ts, ts[1:])]
    check(max(deltas) <= 500, "expected no jump > 500 ms in the raw player's timestamps; largest %d ms "
                              "(around 0xFFFFFF?)" % max(deltas))
