"""VLC plays a stream."""

import os

from lib import rill
from lib.rill import check


@rill.timeout(60)
def test_vlc_records_stream():
    node, pub, _ = rill.start_live("vlc")
    rc, out, log = rill.vlc_record(node.url("vlc"), run_time=6, timeout=25)
    size = os.path.getsize(out) if os.path.exists(out) else -1
    check(size > 0, "expected VLC to write the stream to %s; file size %d, vlc exit %s, log: %s" % (
        out, size, rc, rill.sanitize_lines(log, 10)))
    info = rill.stream_info(out)
    check(info and info.get("codec_name") == "h264",
          "expected h264 video in VLC's recording (%d bytes); ffprobe: %r; vlc log: %s" % (
              size, info, rill.sanitize_lines(log, 6)))
    check(info.get("width") == "640" and info.get("height") == "360",
          "expected 640x360 video in VLC's recording; saw %sx%s" % (info.get("width"), info.get("height")))
    frames = int(info.get("nb_read_frames") or 0)
    check(frames >= 75, "expected >= 75 video frames in VLC's 6 s recording (25 fps); ffprobe counted %d" % frames)
    node.assert_running()
