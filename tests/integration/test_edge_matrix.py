"""The media matrix through an edge: the players of lib/matrix.py on an edge of two origins.

Per profile: origins A and B each have the profile published (the same file,
ffmpeg -re -stream_loop -c copy), an edge with `origin A B` serves RTMP and
HTTP-FLV. The timeline is lib/matrix.py's, with the players on the edge; at
the change the origin the edge plays from is SIGKILLed (the edge must move to
the other one), then the remaining origin's publisher stops and comes back
1 s later. With B-frames the edge runs in low latency (mw_latency 0: the
stream's write pass writes its players from the upstream's coroutine). The
edge and the surviving origin must pass every check of lib/matrix.Run and
exit 0 on SIGTERM with leak checking on; the killed origin is checked for a
sanitizer report before it dies. The profiles run three at a time
(lib/matrix.run_profiles), each with nodes of its own.
"""

import time

from lib import matrix, media, rill
from lib.rill import check

# The profiles whose edge runs in low latency (the stream's write pass).
PLAY = {"bframes": matrix.LOW_LATENCY_PLAY}


def addr(node):
    return "%s:%d" % (node.ip, node.port)


def playing_from(edge):
    """host:port the edge last logged playing from, or None."""
    lines = [l for l in edge.log().splitlines() if "playing from origin " in l]
    return lines[-1].rsplit("playing from origin ", 1)[1].strip() if lines else None


def run_profile(profile):
    path = media.media_file(profile)
    origins = {n: matrix.new_node(lambda: rill.Node(name="origin%s-%s" % (n, profile),
                                                    asan_extra=matrix.ASAN_EXTRA)).start() for n in "AB"}
    pubs = {n: media.publish_file(o.url(matrix.STREAM), path, "publisher%s-%s" % (n, profile))
            for n, o in origins.items()}
    for n, o in origins.items():
        matrix.wait_live(o, "publisher " + n)
    edge = matrix.new_node(lambda: matrix.http_node("edge-" + profile, "    cluster { mode remote; origin %s %s; }\n" % (
        addr(origins["A"]), addr(origins["B"])), play=PLAY.get(profile, rill.DEFAULT_PLAY))).start()
    matrix.wait_live(edge, "the %s stream through the edge" % profile)
    nodes = [origins["A"], origins["B"], edge]

    def kill_origin_then_republish():
        cur = playing_from(edge)
        name = next((n for n, o in origins.items() if addr(o) == cur), None)
        check(name is not None, "expected the edge to log which origin it plays from; it logged %r" % cur)
        other = "B" if name == "A" else "A"
        seen = edge.log().count("playing from origin " + addr(origins[other]))
        origins[name].kill()
        nodes.remove(origins[name])
        check(rill.wait_until(
            lambda: edge.log().count("playing from origin " + addr(origins[other])) > seen, 6.0),
            "expected the edge to play from origin %s within 6 s of SIGKILL of %s; edge log:\n%s" % (
                other, name, edge.tail(10)))
        time.sleep(1.0)
        pubs[other].stop(1.0)
        time.sleep(1.0)
        pubs[other] = media.publish_file(origins[other].url(matrix.STREAM), path, "publisher%s-2-%s" % (other, profile))
        matrix.wait_live(edge, "the %s stream through the edge, republished on %s" % (profile, other))
        return "origin %s killed, edge moved to %s; %s's publisher stopped, back 1 s later" % (
            name, other, other)

    run = matrix.Run(profile, edge, nodes, kill_origin_then_republish)
    run.run()
    run.verdict()
    for n in nodes:
        n.stop()


@rill.timeout(150)
def test_edge_every_profile():
    """Every profile, three at a time, each with origins and an edge of its own."""
    matrix.run_profiles(run_profile, list(media.PROFILES), at_once=3)
