#!/usr/bin/env bash
# The portrait table of docs/LIPSYNC.md: every real portrait in ../shared/fixtures/portraits made
# to say every real recording in ../shared/fixtures/speech (720p, defaults), then measured from the
# output's pixels (`mouthpiece eval`: dlib landmarks re-detected on every frame). Also each
# portrait at --head-motion 0 with the first recording. Prints a Markdown table.
# Usage: scripts/portrait-eval.sh [output-dir]   (PORTRAITS="a.jpg b.png" for some of them only)
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
F=../shared/fixtures
out=${1:-$(mktemp -d /tmp/mouthpiece-portrait-eval.XXXXXX)}
mkdir -p "$out"
echo "| portrait | speech | head motion setting | frames | r (lag 0) | best lag | gap in pauses / speech | faces lost | head motion (brows) | warnings |"
echo "|---|---|---|---|---|---|---|---|---|---|"
row() { # portrait speech head-motion
  local portrait=$1 speech=$2 head=$3
  local name stem
  name=$(basename "$portrait"); stem="${name%.*}-$(basename "${speech%.*}")-h$head"
  local warnings
  warnings=$("$BIN" render --quiet --json --image "$portrait" --audio "$speech" --head-motion "$head" \
    -o "$out/$stem.mp4" | python3 -c 'import json,sys; print(",".join(w["code"] for w in json.load(sys.stdin).get("warnings", [])) or "-")')
  "$BIN" eval "$out/$stem.mp4" --json | python3 -c '
import json, sys
e = json.load(sys.stdin)[0]
ratio = e["opening_silence"] / e["opening_speech"] if e["opening_speech"] > 0 else float("nan")
cells = sys.argv[1:4] + [e["frames"], "%.2f" % e["correlation_lag0"], e["best_lag"],
         "%.3f / %.3f (%.2f)" % (e["opening_silence"], e["opening_speech"], ratio),
         "%d/%d" % (e["faces_lost"], e["frames"]), "%.3f" % e["brow_motion"], sys.argv[4]]
print("| " + " | ".join(str(x) for x in cells) + " |")' "${name%.*}" "$(basename "${speech%.*}")" "$head" "$warnings"
}
for portrait in ${PORTRAITS:-$(ls $F/portraits)}; do
  portrait=$F/portraits/$portrait
  for speech in $F/speech/*.wav; do row "$portrait" "$speech" 1; done
  row "$portrait" "$F/speech/en_librispeech_read.wav" 0
done
echo
echo "outputs in $out"
