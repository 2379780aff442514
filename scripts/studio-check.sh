#!/usr/bin/env bash
# The web studio and the live page in headless Chromium (Debian's chromium and chromium-driver,
# Selenium from .venv), as a new user would use them, on a throwaway `mouthpiece serve` with one
# render worker: see scripts/studio-test.py and scripts/live-page-test.py. Screenshots land in
# .build/studio-screenshots.
# Usage: scripts/studio-check.sh
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
[ -x /usr/bin/chromedriver ] || { echo "install chromium and chromium-driver (scripts/install-deps.sh)" >&2; exit 2; }
.venv/bin/python -c 'import selenium' || { echo "run scripts/setup.sh first (installs selenium in .venv)" >&2; exit 2; }
dir=$(mktemp -d /tmp/mouthpiece-studio.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
key=$("$BIN" keys create --name studio --concurrency 4 --data-dir "$dir/data" --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
# The provenance key of the command line goes to the scratch folder, not the home directory.
MOUTHPIECE_PROVENANCE_KEY="$dir/provenance.key" "$BIN" serve --port "$port" --data-dir "$dir/data" --workers 1 \
  2>"$dir/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
status=0
timeout -k 10 600 .venv/bin/python scripts/studio-test.py "$base" "$key" ../shared/fixtures .build/studio-screenshots \
  || status=$?
# The live page, with Chromium's fake microphone playing held-out real speech.
timeout -k 10 300 .venv/bin/python scripts/live-page-test.py "$base" "$key" \
  ../shared/fixtures/speech/en_librispeech_read.wav .build/studio-screenshots || status=$?
if [ "$status" -ne 0 ]; then echo "studio-check: server log tail:" >&2; tail -20 "$dir/server.log" >&2; fi
exit "$status"
