"""Publish with ffmpeg, play with ffprobe / ffmpeg: codecs, frames, timestamps."""

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
    rill.check_player_smooth(pl, pl.started_at, "across the 0xFFFFFF ms crossing")
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
