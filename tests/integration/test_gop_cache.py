"""GOP cache: a player joining mid-stream starts at a keyframe, at once."""

import time

from lib import rill
from lib.rill import check


@rill.timeout(60)
def test_gop_cache_mid_stream_join():
    node, pub, tracker = rill.start_live("gop")
    # Join after >= 3 s of publishing, just after a keyframe reached the
    # tracking player (it sees frames up to mw_latency 350 ms late, so that
    # keyframe is at most ~0.65 s old): the next one is >= 1.3 s away (GOP
    # 2 s), so a keyframe within 1 s of play can only come from the cache.
    t_live = tracker.frames()[0][0]
    time.sleep(max(0.0, t_live + 3.0 - time.monotonic()))

    def last_key_age():
        keys = [a for (a, _, k) in tracker.frames() if k]
        return time.monotonic() - keys[-1] if keys else 0.0
    ok = rill.wait_until(lambda: 0.05 <= last_key_age() <= 0.3, 4.0, 0.01)
    check(ok, "expected the tracking player to see a keyframe every 2 s; frames %d, keyframes %d" % (
        tracker.count(), sum(1 for f in tracker.frames() if f[2])))

    joiner = rill.raw_player(node, "gop")
    probe = rill.Probe(node.url("gop"), seconds=2)
    ok = joiner.wait_frames(1, 5.0)
    check(ok, "expected the joining player to get a video frame; saw none in 5 s (error %s)" % joiner.error)
    first_arrival, _, first_key = joiner.frames()[0]
    delay = first_arrival - joiner.play_sent_at
    check(first_key, "expected the first video frame after play to be a keyframe; it was an inter frame "
                     "(first frames key flags: %s)" % [k for (_, _, k) in joiner.frames()[:5]])
    check(delay <= 1.0, "expected the first video frame within 1 s of play (GOP cache); it took %.2fs" % delay)
    seq = [s for (_, _, _, s) in joiner.video]
    check(seq and seq[0], "expected the AVC sequence header before the first frame; video messages "
                          "started with %s" % ["seq" if s else "frame" for s in seq[:3]])

    rc = probe.wait(20)
    video = probe.video()
    check(rc == 0 and video, "expected ffprobe to exit 0 with frames; exit %s, %d frames, stderr %s" % (
        rc, len(video), rill.sanitize_lines(probe.errors(), 5)))
    f0 = video[0]
    check(f0.get("key_frame") == "1" and f0.get("pict_type") == "I",
          "expected ffprobe's first video frame to be a keyframe (key_frame=1, pict_type=I); saw %r" % f0)
    check(not probe.errors(), "expected no ffprobe errors; saw %s" % rill.sanitize_lines(probe.errors(), 8))
