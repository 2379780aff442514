#!/usr/bin/env bash
# One command from a fresh Debian machine to a rendered sample clip:
#   installs the Debian packages, builds Mouthpiece (release), fetches the public-domain astronaut
#   portrait from the scikit-image wheel, speaks a sample sentence with espeak-ng, and renders
#   samples/astronaut.mp4.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/install-deps.sh

echo "==> building (release)"
swift build -c release --product mouthpiece
BIN="$(swift build -c release --show-bin-path)/mouthpiece"

mkdir -p samples
if [ ! -s samples/astronaut.png ]; then
  echo "==> fetching the sample portrait (scikit-image's astronaut.png, public domain)"
  tmp="$(mktemp -d)"
  python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$tmp" scikit-image
  unzip -q -o -j "$tmp"/scikit_image-*.whl 'skimage/data/astronaut.png' -d samples
  rm -rf "$tmp"
fi
if [ ! -s samples/speech.wav ]; then
  echo "==> speaking the sample sentence (espeak-ng)"
  espeak-ng -v en-us -s 150 -w samples/speech.wav \
    "Hello! I am a talking portrait. Mouthpiece turned one photograph and this voice into a video, \
on an ordinary processor, in a few seconds. No graphics card, no model download, no fee per minute."
fi

if [ ! -x .venv/bin/python ] || ! .venv/bin/python -c "import standardwebhooks, fal_client, schemathesis, sync, selenium, websockets, requests, pipecat, av, pocketsphinx, numpy" 2>/dev/null; then
  echo "==> a Python environment with standardwebhooks, fal_client, syncsdk, selenium, websockets, pipecat-ai and pocketsphinx (webhook receiver, interop, browser, live and voice tests)"
  python3 -m venv .venv
  .venv/bin/python -m pip install --quiet standardwebhooks fal_client schemathesis syncsdk selenium websockets requests pipecat-ai av pocketsphinx numpy
fi

echo "==> rendering samples/astronaut.mp4"
"$BIN" render --image samples/astronaut.png --audio samples/speech.wav -o samples/astronaut.mp4 \
  --resolution 720p --fps 30 --contact-sheet samples/astronaut-sheet.png
echo "==> done: samples/astronaut.mp4, contact sheet samples/astronaut-sheet.png (binary: $BIN)"
