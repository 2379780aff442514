#!/usr/bin/env bash
# The issue-24 acceptance run: `mouthpiece say` in English, Japanese (with kanji), Spanish, German
# and Arabic on a held-out portrait (one the rig was not tuned on), each with numbers or a date;
# prints the voice that spoke, the captions written and the mouth measured from the output's own
# pixels against its voice (`mouthpiece eval`: correlation at lag 0, opening in speech and in
# silence, faces lost).
# Usage: scripts/voice-say-check.sh [portrait] [resolution]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
portrait=${1:-../shared/fixtures/Tom_Cruise_avp_2014_4.jpg}
resolution=${2:-720p}
dir=$(mktemp -d /tmp/mouthpiece-voices.XXXXXX)
trap 'rm -rf "$dir"' EXIT
status=0
while IFS='|' read -r language text; do
  out="$dir/$language.mp4"
  "$BIN" say --image "$portrait" --language "$language" --text "$text" --resolution "$resolution" \
    --quiet --json -o "$out" > "$dir/$language.json"
  "$BIN" eval "$out" --json > "$dir/$language.eval.json"
  python3 - "$dir" "$language" <<'PY' || status=1
import json, sys, os
folder, language = sys.argv[1], sys.argv[2]
said = json.load(open(os.path.join(folder, language + ".json")))
e = json.load(open(os.path.join(folder, language + ".eval.json")))
e = e[0] if isinstance(e, list) else e
cues = (said.get("captions") or {}).get("cues", 0)
srt = open(os.path.join(folder, language + ".srt"), encoding="utf-8").read()
r = e["correlation_lag0"]
speech, silence = e["opening_speech"], e["opening_silence"]
print(f"{language:6s} voice {said['voice']:14s} {said['duration']:.2f} s, {cues} caption cues; mouth vs voice "
      f"r {r:.2f} (best {e['correlation_by_lag'][str(e['best_lag'])]:.2f} at lag {e['best_lag']}), opening in speech "
      f"{speech:.3f} vs silence {silence:.3f}, faces lost {e['faces_lost']} of {e['frames']}; first cue: {srt.splitlines()[2]}")
# The mouth moves with the voice: open in speech, shut in the pauses, following it.
ok = cues > 0 and r > 0.2 and speech > 3 * silence and e["faces_lost"] == 0
sys.exit(0 if ok else 1)
PY
done <<'TEXTS'
en-us|Hello! On 12/6/2026 at 10:30 our team paid $25.50 for lunch, and we all laughed about it.
ja|こんにちは。東京は今日、とても暑いです。2026年12月6日に会いましょう。
es|¡Hola! El 6 de diciembre pagamos 25,50 € por la comida y nos reímos mucho.
de|Guten Tag! Am 6.12.2026 haben wir 25,50 € bezahlt, sagt Dr. Weber.
ar|مرحبا بكم. اليوم هو السادس من ديسمبر، والجو جميل جدا.
TEXTS
exit $status
