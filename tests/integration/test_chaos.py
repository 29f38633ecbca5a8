"""60 seconds of the seeded chaos run (tests/chaos/chaos.py) as one test.

The seed is CHAOS_SEED when set, random otherwise; it is printed first, and a
failure's reason starts with it, the replay command and the step log.
"""

import os
import random
import sys

from lib import rill

sys.path.insert(0, os.path.join(rill.ROOT, "tests", "chaos"))
import chaos  # noqa: E402

SECONDS = 40


@rill.timeout(200)
def test_chaos_60s():
    env = os.environ.get("CHAOS_SEED")
    seed = int(env) if env else random.SystemRandom().randrange(1 << 31)
    print("chaos seed %d (replay: make chaos CHAOS_SEED=%d CHAOS_SECONDS=%d)" % (seed, seed, SECONDS), flush=True)
    r = chaos.run_round(seed, SECONDS)
    print("chaos: " + r.summary(), flush=True)
