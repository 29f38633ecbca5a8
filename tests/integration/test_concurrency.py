"""Many players of one stream."""

import time

from lib import rill
from lib.rill import check

PLAYERS = 50


@rill.timeout(90)
def test_50_concurrent_players():
    node, pub, _ = rill.start_live("many")
    players = []
    for _ in range(PLAYERS):
        players.append(rill.raw_player(node, "many"))
        time.sleep(0.01)
    t0 = time.monotonic()
    # Every player must get >= 50 frames (2 s of video): the GOP cache burst
    # plus live frames.
    want = 50
    rill.wait_until(lambda: all(p.count() >= want for p in players), 15.0, 0.2)
    short = [(i, p.count(), p.error) for i, p in enumerate(players) if p.count() < want]
    check(not short, "expected all %d players to receive >= %d video frames within %.0fs; %d did not: %s" % (
        PLAYERS, want, time.monotonic() - t0, len(short), short[:10]))
    notkey = [i for i, p in enumerate(players) if not p.frames()[0][2]]
    check(not notkey, "expected every player's first video frame to be a keyframe; players %s were not" % notkey)
    # All are still live: each gets frames in the last second.
    time.sleep(1.0)
    now = time.monotonic()
    stale = [(i, round(now - p.frames()[-1][0], 2)) for i, p in enumerate(players)
             if now - p.frames()[-1][0] > 1.0 or p.error]
    check(not stale, "expected all players to still receive frames; stale (player, seconds since last "
                     "frame): %s" % stale[:10])
    node.assert_running()
    check(pub.alive(), "expected the publisher to keep running; %s" % rill.proc_state(pub))
