#!/usr/bin/env bash
# Installs the Debian packages rill needs to build, run and test.
# Idempotent: does nothing (and needs no root) when every package is present.
set -euo pipefail

PACKAGES=(
  build-essential pkg-config
  libst-dev libssl-dev libhttp-parser-dev libcjson-dev libgtest-dev libc-ares-dev liburing-dev
  libavformat-dev libavcodec-dev libavutil-dev
  ffmpeg vlc-bin vlc-plugin-base
  curl procps util-linux gnuplot-nox
  nginx libnginx-mod-rtmp haproxy wrk keepalived iproute2
  clang libclang-rt-dev
  # dnsmasq's binary without the system service that package `dnsmasq` starts on port 53
  # (test_hostnames runs its own on a 127.0.0.x and a free port)
  dnsmasq-base
  chromium
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed'; then
    missing+=("$p")
  fi
done

if [ ${#missing[@]} -eq 0 ]; then
  exit 0
fi

echo "install-deps: installing ${missing[*]}"
SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo"; else
    echo "install-deps: need root (or sudo) to install: ${missing[*]}" >&2; exit 1
  fi
fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
