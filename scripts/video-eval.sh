#!/usr/bin/env bash
# The video table of docs/LIPSYNC.md: every real talking clip in ../shared/fixtures/video re-lip-synced
# to real speech it never said (and a clone from 5 s of one of them), then measured from the
# output's pixels (`mouthpiece eval --source`). Prints a Markdown table.
# Usage: scripts/video-eval.sh [output-dir]
set -euo pipefail
cd "$(dirname "$0")/.."
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
F=../shared/fixtures
out=${1:-$(mktemp -d /tmp/mouthpiece-video-eval.XXXXXX)}
mkdir -p "$out"
ffmpeg -v error -y -i $F/video/man_suit_talking_22fps.mp4 -t 5 -an -c:v libx264 -crf 16 "$out/clip5.mp4"
ffmpeg -v error -y -i $F/speech/en_librispeech_read.wav -i $F/speech/en_ljspeech_read.wav \
  -filter_complex "[0:a]aresample=22050[a];[1:a]aresample=22050[b];[a][b]concat=n=2:v=0:a=1" -t 11 "$out/speech11.wav"
row() { # name video output extra-eval-args...
  local name=$1 video=$2 output=$3; shift 3
  "$BIN" eval "$output" --source "$video" "$@" --json | python3 -c '
import json, sys
e = json.load(sys.stdin)[0]
c = e["source_comparison"]
cells = [sys.argv[1], e["frames"], "%.2f" % e["correlation_lag0"], e["best_lag"],
         "%.3f / %.3f (%.2f)" % (e["opening_silence"], e["opening_speech"], e["opening_silence"] / e["opening_speech"]),
         "%d/%d" % (c["face_kept"], c["frames_with_source_face"]), "%.1f" % c["upper_face_psnr_lowest"],
         "%.2f" % c["step_ratio"]]
print("| " + " | ".join(str(x) for x in cells) + " |")' "$name"
}
echo "| clip -> speech | frames | r (lag 0) | best lag | gap in pauses / speech | face kept | upper-face PSNR, lowest (dB) | largest step vs footage's |"
echo "|---|---|---|---|---|---|---|---|"
"$BIN" lipsync --quiet --video $F/video/man_suit_talking_22fps.mp4 --audio $F/speech/en_librispeech_read.wav -o "$out/suit.mp4" > /dev/null
row "man_suit (6.1 s) -> en_librispeech (10.7 s), bounce" $F/video/man_suit_talking_22fps.mp4 "$out/suit.mp4"
"$BIN" lipsync --quiet --video $F/video/man_suit_talking_22fps.mp4 --audio $F/speech/es_ivr_prompt.wav -o "$out/suit-es.mp4" > /dev/null
row "man_suit -> es_ivr_prompt (39 s, Spanish), bounce" $F/video/man_suit_talking_22fps.mp4 "$out/suit-es.mp4"
"$BIN" lipsync --quiet --video $F/video/woman_expressions_music.mp4 --audio $F/speech/es_ivr_prompt.wav -o "$out/woman.mp4" > /dev/null
row "woman_expressions (30 s, no speech) -> es_ivr_prompt, bounce" $F/video/woman_expressions_music.mp4 "$out/woman.mp4"
"$BIN" lipsync --quiet --video $F/video/man_greenscreen_noaudio.mp4 --audio $F/speech/en_ljspeech_read.wav -o "$out/green.mp4" > /dev/null
row "man_greenscreen (3.1 s, no sound) -> en_ljspeech (9.7 s), bounce" $F/video/man_greenscreen_noaudio.mp4 "$out/green.mp4"
"$BIN" render --quiet --video "$out/clip5.mp4" --audio "$out/speech11.wav" -o "$out/clone.mp4" > /dev/null
row "clone: 5 s of man_suit -> 11 s of English" "$out/clip5.mp4" "$out/clone.mp4" --clone
echo
echo "outputs in $out"
