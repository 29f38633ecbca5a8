#!/usr/bin/env bash
# Soak test (not part of `make test`): a master, 2 slaves and 2 edges (objs/rill,
# the release build) on 127.0.0.111-122 under churn for SOAK_MINUTES (default
# 20): players joining and leaving every second (RTMP and HTTP-FLV, rill-bench),
# publishers restarting every ~30 s, slave2 SIGKILLed and restarted every
# minute. RSS, fds, connections, forwarders and edge upstreams of every node
# are sampled every 10 s into objs/soak/samples.csv; at the end a table of
# start vs end per node, growth flagged (exit code 1 when anything grew or a
# node did not stop cleanly). Details: scripts/soak.py, doc/reliability.md.
#
#   scripts/soak.sh                      # 20 minutes
#   SOAK_MINUTES=5 scripts/soak.sh       # shorter
#
# Environment: SOAK_MINUTES [20], SOAK_NET [127.0.0.1] (nodes at NET11, NET12,
# NET13, NET21, NET22), SOAK_DIR [objs/soak], SOAK_RILL [objs/rill],
# SOAK_BENCH [objs/rill-bench], SOAK_SEED [8].
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -x "${SOAK_RILL:-objs/rill}" ] || [ ! -x "${SOAK_BENCH:-objs/rill-bench}" ]; then
    make objs/rill objs/rill-bench
fi
command -v ffmpeg >/dev/null || { echo "soak: ffmpeg is needed (scripts/install-deps.sh)" >&2; exit 1; }
exec python3 scripts/soak.py "$@"
