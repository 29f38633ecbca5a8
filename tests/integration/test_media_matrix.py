"""The media matrix on one node: every publisher profile against every kind of player.

Each profile (lib/media.py: 2 s GOP, 10 s GOP at 2 Mbit/s, B-frames, audio
only, video only, 720p60 at 4 Mbit/s) is encoded once into an FLV file and
published in real time by `ffmpeg -re -stream_loop -1 -c copy`; one node run
per profile plays the timeline of lib/matrix.py (real-time RTMP and HTTP-FLV
players joining at four points of the GOP, slow and stalled HTTP-FLV and RTMP
players, ffprobe, players resetting the connection mid-write) with the
publisher stopping and coming back once. The assertions are in
lib/matrix.Run.problems; the node must also exit 0 on SIGTERM with leak
checking on.
"""

import time

from lib import matrix, media, rill


def run_profile(profile):
    path = media.media_file(profile)
    node = matrix.http_node("origin").start()
    state = {"pub": media.publish_file(node.url(matrix.STREAM), path, "publisher")}
    matrix.wait_live(node, "the %s publisher" % profile)

    def republish():
        state["pub"].stop(1.0)
        time.sleep(1.0)
        state["pub"] = media.publish_file(node.url(matrix.STREAM), path, "publisher2")
        matrix.wait_live(node, "the %s publisher, back" % profile)
        return "publisher stopped, back 1 s later"

    run = matrix.Run(profile, node, [node], republish)
    run.run()
    run.verdict()
    node.stop()


@rill.timeout(60)
def test_gop2s():
    run_profile("gop2s")


@rill.timeout(60)
def test_gop10s():
    run_profile("gop10s")


@rill.timeout(60)
def test_bframes():
    run_profile("bframes")


@rill.timeout(60)
def test_audio_only():
    run_profile("audio")


@rill.timeout(60)
def test_video_only():
    run_profile("video")


@rill.timeout(60)
def test_hd60():
    run_profile("hd60")
