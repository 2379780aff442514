#!/usr/bin/env bash
# Live sessions over WebSocket, checked by a client of our own (scripts/live-client.py, Python's
# websockets): a throwaway `mouthpiece serve --live-sessions N`, an avatar, held-out real speech
# streamed at real-time pace in 20 ms chunks into 720p25 sessions; the recordings are then
# measured from their own pixels (`mouthpiece eval`: mouth opening against the stream's audio);
# then a real Pipecat pipeline with Mouthpiece as its video service (integrations/pipecat).
# Usage: scripts/live-check.sh [SESSIONS] [SECONDS]   (defaults: 3 sessions at once; one session of
# 60 s of speech, the WAV repeated, to show that the lag does not grow)
set -euo pipefail
cd "$(dirname "$0")/.."
sessions=${1:-3}
seconds=${2:-60}
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
.venv/bin/python -c 'import websockets, requests, pipecat, av' || { echo "run scripts/setup.sh first" >&2; exit 2; }
dir=$(mktemp -d /tmp/mouthpiece-live.XXXXXX)
port=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
key=$("$BIN" keys create --name live --data-dir "$dir/data" --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
MOUTHPIECE_PROVENANCE_KEY="$dir/provenance.key" "$BIN" serve --port "$port" --data-dir "$dir/data" --workers 0 \
  --live-sessions "$sessions" 2>"$dir/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
status=0
timeout -k 10 600 .venv/bin/python scripts/live-client.py "$base" "$key" \
  ../shared/fixtures/portraits/man_neutral_frontal.jpg ../shared/fixtures/speech/en_librispeech_read.wav \
  "$dir/out" --sessions "$sessions" --seconds "$seconds" || status=$?
# A real Pipecat pipeline (a TTS that plays a WAV) with Mouthpiece as its video service.
timeout -k 10 180 .venv/bin/python integrations/pipecat/test_pipeline.py "$base" "$key" \
  ../shared/fixtures/portraits/woman_closed_smile.png ../shared/fixtures/speech/en_ljspeech_read.wav || status=$?
# The mouth from the pixels of what came back, against the stream's own audio.
for name in single parallel0; do
  [ -f "$dir/out/$name.mp4" ] || continue
  "$BIN" eval --json "$dir/out/$name.mp4" > "$dir/$name.eval.json" || { status=1; continue; }
  .venv/bin/python - "$dir/$name.eval.json" "$name" <<'PY' || status=1
import json, sys
row = json.load(open(sys.argv[1]))[0]
lags = {int(lag): r for lag, r in row["correlation_by_lag"].items()}
best = max(lags, key=lags.get)
ok = lags[best] >= 0.5 and -2 <= best <= 2
print(("ok   " if ok else "FAIL ") + f"{sys.argv[2]}: mouth from pixels follows the audio: r {lags[best]:.3f} at lag {best} frames (r at 0: {lags.get(0, float('nan')):.3f})")
sys.exit(0 if ok else 1)
PY
done
if [ "$status" -ne 0 ]; then echo "live-check: server log tail:" >&2; tail -20 "$dir/server.log" >&2; fi
exit "$status"
