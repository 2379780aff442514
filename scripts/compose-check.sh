#!/usr/bin/env bash
# The acceptance composition of issue 23 at 720p25 (two speakers, a script scene, a picture
# background, a cross-fade, a side-by-side dialogue), then each side-by-side face measured from
# its own pixels against its own voice with `mouthpiece eval`. Needs ../shared/fixtures and a
# release build. Usage: scripts/compose-check.sh
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
F=$(cd "$root/../shared/fixtures" && pwd)
BIN="$(cd "$root" && swift build -c release --show-bin-path)/mouthpiece"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
dir=$(mktemp -d /tmp/mouthpiece-compose.XXXXXX)
trap 'rm -rf "$dir"' EXIT
cd "$dir"
ffmpeg -v error -y -i $F/speech/en_librispeech_read.wav -t 5 a.wav
ffmpeg -v error -y -i $F/speech/en_ljspeech_read.wav -t 4.5 -ar 16000 q.wav
ffmpeg -v error -y -i $F/speech/en_librispeech_read.wav -ss 5 -t 4.6 r.wav
cat > spec.json <<JSON
{"resolution": "720p", "fps": 25, "aspect": "16:9", "captions": "sidecar",
 "scenes": [
  {"speakers": [{"image": "$F/portraits/man_neutral_frontal.jpg", "audio": "a.wav"}], "background": {"color": "#203a5c"},
   "transition": {"type": "crossfade", "seconds": 0.5}},
  {"speakers": [{"image": "$F/portraits/woman_closed_smile.png", "script": "Thank you. It will be sunny all week, with a little wind on Thursday."}],
   "background": {"image": "$F/2008_001009.jpg"}},
  {"speakers": [{"image": "$F/portraits/man_neutral_frontal.jpg", "audio": "q.wav"},
                {"image": "$F/portraits/woman_closed_smile.png", "audio": "r.wav", "start": 5.0}], "layout": "side_by_side"}]}
JSON
$BIN compose spec.json -o out.mp4 --json > summary.json
cat summary.json
start=$(python3 -c "import json; print(json.load(open('summary.json'))['scene_starts'][2])")
len=$(python3 -c "import json; s=json.load(open('summary.json')); print(s['duration']-s['scene_starts'][2])")
# each face's own voice, placed where it falls in the scene
ffmpeg -v error -y -i q.wav -af "apad=whole_dur=$len" -ar 16000 own_left.wav
ffmpeg -v error -y -i r.wav -af "adelay=5000,apad=whole_dur=$len" -ar 16000 own_right.wav
ffmpeg -v error -y -ss $start -t $len -i out.mp4 -i own_left.wav -map 0:v -map 1:a -filter:v crop=640:720:0:0 -c:v libx264 -crf 12 -preset veryfast -shortest left.mp4
ffmpeg -v error -y -ss $start -t $len -i out.mp4 -i own_right.wav -map 0:v -map 1:a -filter:v crop=640:720:640:0 -c:v libx264 -crf 12 -preset veryfast -shortest right.mp4
for side in left right; do $BIN eval $side.mp4 --json > eval_$side.json; python3 - $side <<PY
import json,sys
e=json.load(open('eval_%s.json'%sys.argv[1]))
e=e[0] if isinstance(e,list) else e
print(sys.argv[1], {k:e[k] for k in e if k not in ('openings','correlation_by_lag')})
PY
done
