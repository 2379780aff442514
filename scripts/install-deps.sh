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
  libsqlite3-dev \
  fonts-dejavu-core fonts-ipafont-gothic \
  ffmpeg unzip openssl python3-pip python3-venv postgresql curl wrk \
  chromium chromium-driver >/dev/null
