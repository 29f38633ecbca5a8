#!/usr/bin/env bash
# Fills the default http_server dir (objs/nginx/html) with the player page
# (trunk/html/players -> objs/nginx/html/players) and installs the npm
# packages pinned in trunk/html/package-lock.json into objs/npm with the
# machine's own npm: mpegts.js and hls.js (copied next to the page) and playwright-core
# (the browser test). npm runs again only when the lockfile changes.
#
#   scripts/install-html.sh            without npm (missing, offline): warn, exit 0
#   scripts/install-html.sh --require  without npm: fail (make test needs it)
set -uo pipefail
cd "$(dirname "$0")/.." || exit 2

REQUIRE=0
[ "${1:-}" = "--require" ] && REQUIRE=1

SRC=trunk/html
NPM_DIR=objs/npm
HTML=objs/nginx/html
PAGE=$HTML/players

mkdir -p "$PAGE" || exit 1
for f in "$SRC"/players/*; do
    [ -f "$f" ] || continue
    cmp -s "$f" "$PAGE/$(basename "$f")" || cp "$f" "$PAGE/" || exit 1
done

fail() {
    if [ "$REQUIRE" = 1 ]; then
        echo "install-html: ERROR: $*" >&2
        exit 1
    fi
    echo "install-html: WARNING: $*" >&2
    echo "install-html: WARNING: the player page $PAGE/index.html will not play and the browser test cannot run" >&2
    exit 0
}

lock_sum=$(sha256sum "$SRC/package-lock.json" "$SRC/package.json" | sha256sum | cut -d' ' -f1)
stamp=$NPM_DIR/.installed
if [ "$(cat "$stamp" 2>/dev/null)" != "$lock_sum" ] || [ ! -f "$NPM_DIR/node_modules/mpegts.js/dist/mpegts.js" ] ||
   [ ! -f "$NPM_DIR/node_modules/hls.js/dist/hls.min.js" ] ||
   [ ! -f "$NPM_DIR/node_modules/playwright-core/package.json" ]; then
    command -v npm >/dev/null 2>&1 || fail "npm not found on PATH: mpegts.js, hls.js and playwright-core not installed"
    command -v node >/dev/null 2>&1 || fail "node not found on PATH: mpegts.js, hls.js and playwright-core not installed"
    echo "install-html: npm ci into $NPM_DIR (mpegts.js, hls.js, playwright-core, pinned by $SRC/package-lock.json)"
    rm -f "$stamp"
    mkdir -p "$NPM_DIR" || exit 1
    cp "$SRC/package.json" "$SRC/package-lock.json" "$NPM_DIR/" || exit 1
    # No browser downloads (playwright-core drives Debian's /usr/bin/chromium),
    # no audit/fund calls, bounded retries so an offline machine fails fast.
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 600 \
        npm ci --prefix "$NPM_DIR" --no-audit --no-fund --loglevel=error \
           --fetch-retries=1 --fetch-timeout=30000 > "$NPM_DIR/npm-ci.log" 2>&1
    rc=$?
    if [ $rc -ne 0 ] || [ ! -f "$NPM_DIR/node_modules/mpegts.js/dist/mpegts.js" ] ||
       [ ! -f "$NPM_DIR/node_modules/hls.js/dist/hls.min.js" ] ||
       [ ! -f "$NPM_DIR/node_modules/playwright-core/package.json" ]; then
        grep -v "Unknown user config" "$NPM_DIR/npm-ci.log" | head -n 6 | sed "s/^/install-html: npm: /" >&2
        fail "npm ci failed (exit $rc; offline or registry unreachable?), log in $NPM_DIR/npm-ci.log"
    fi
    echo "$lock_sum" > "$stamp"
fi

cmp -s "$NPM_DIR/node_modules/mpegts.js/dist/mpegts.js" "$PAGE/mpegts.js" ||
    cp "$NPM_DIR/node_modules/mpegts.js/dist/mpegts.js" "$PAGE/mpegts.js" || exit 1
cmp -s "$NPM_DIR/node_modules/hls.js/dist/hls.min.js" "$PAGE/hls.min.js" ||
    cp "$NPM_DIR/node_modules/hls.js/dist/hls.min.js" "$PAGE/hls.min.js" || exit 1
exit 0
