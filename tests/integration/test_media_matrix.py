"""The media matrix on a lone node (no edge): every publisher profile against every kind of player.

Each profile (lib/media.py: 2 s GOP, 10 s GOP at 2 Mbit/s, B-frames, audio
only, video only, 720p60 at 4 Mbit/s) is encoded once into an FLV file and
published in real time by `ffmpeg -re -stream_loop -1 -c copy`; one node run
per profile plays the timeline of lib/matrix.py (real-time RTMP and HTTP-FLV
players joining at four points of the GOP, slow and stalled HTTP-FLV and RTMP
players, ffprobe, players resetting the connection mid-write) with the
publisher stopping and coming back once. The 10 s GOP, B-frame and 720p60
profiles run in low latency (mw_latency 0: the stream's write pass), the
others with merged writes. The assertions are in
lib/matrix.Run.problems; the node must also exit 0 on SIGTERM with leak
checking on. The profiles run three at a time (lib/matrix.run_profiles),
each with its own node and publisher, so each node's checks are one
profile's; a failure names every profile that failed.
"""

import time

from lib import matrix, media, rill

# The profiles whose node runs in low latency (the stream's write pass).
PLAY = {p: matrix.LOW_LATENCY_PLAY for p in ("gop10s", "bframes", "hd60")}


def run_profile(profile):
    path = media.media_file(profile)
    node = matrix.new_node(lambda: matrix.http_node("origin-" + profile, play=PLAY.get(profile, rill.DEFAULT_PLAY))).start()
    state = {"pub": media.publish_file(node.url(matrix.STREAM), path, "publisher-" + profile)}
    matrix.wait_live(node, "the %s publisher" % profile)

    def republish():
        state["pub"].stop(1.0)
        time.sleep(1.0)
        state["pub"] = media.publish_file(node.url(matrix.STREAM), path, "publisher2-" + profile)
        matrix.wait_live(node, "the %s publisher, back" % profile)
        return "publisher stopped, back 1 s later"

    run = matrix.Run(profile, node, [node], republish)
    run.run()
    run.verdict()
    node.stop()


@rill.timeout(120)
def test_every_profile():
    """Every profile, three at a time, each on a node of its own."""
    matrix.run_profiles(run_profile, list(media.PROFILES), at_once=3)
