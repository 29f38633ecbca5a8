"""Several streams on one node; players that come before the publisher."""

import time

from lib import rill
from lib.rill import check


@rill.timeout(60)
def test_two_streams_are_isolated():
    node = rill.start_node()
    pa = rill.publish(node.url("big"), name="publisher-big")
    pb = rill.publish(node.url("small"), name="publisher-small", size="320x180")
    rill.watch(node, "big", pub=pa)
    rill.watch(node, "small", pub=pb)
    probes = {"big": rill.Probe(node.url("big"), seconds=3, name="ffprobe-big"),
              "small": rill.Probe(node.url("small"), seconds=3, name="ffprobe-small")}
    want = {"big": ("640", "360"), "small": ("320", "180")}
    for name, pr in probes.items():
        rc = pr.wait(20)
        v = pr.stream("video")
        check(rc == 0 and v is not None, "expected ffprobe of %s to exit 0 with a video stream; exit %s, "
                                         "streams %r, stderr %s" % (name, rc, pr.streams,
                                                                    rill.sanitize_lines(pr.errors(), 5)))
        got = (v.get("width"), v.get("height"))
        check(got == want[name], "expected stream %s to be %sx%s; its player saw %sx%s (streams mixed up?)" % (
            name, want[name][0], want[name][1], got[0], got[1]))
        check(len(pr.video()) >= 40, "expected >= 40 video frames from %s in 3 s; saw %d" % (name, len(pr.video())))


@rill.timeout(60)
def test_player_before_publisher():
    node = rill.start_node()
    pl = rill.raw_player(node, "later")
    time.sleep(1.5)
    check(pl.alive() and pl.error is None,
          "expected a player of a stream nobody publishes yet to stay connected and wait; it ended: %s" % pl.error)
    check(pl.count() == 0, "expected no video before anyone publishes; got %d frames" % pl.count())
    t0 = time.monotonic()
    pub = rill.publish(node.url("later"))
    ok = pl.wait_frames(50, 10)
    check(ok, "expected the waiting player to get >= 50 frames once the publisher started; got %d in %.1fs "
              "(error %s; %s)" % (pl.count(), time.monotonic() - t0, pl.error, rill.proc_state(pub)))
    check(pl.video[0][3], "expected the AVC sequence header as the first video message")
    check(pl.frames()[0][2], "expected the first video frame to be a keyframe")
    rill.check_player_smooth(pl, pl.frames()[0][0], "once the stream started")
