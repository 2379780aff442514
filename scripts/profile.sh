#!/usr/bin/env bash
# Where the CPU time of one `mouthpiece render` goes, by stage: perf samples (every thread, with
# call stacks) grouped by the code they were taken in. A copy (memmove) counts for whoever called
# it. The figures go into the README's Performance section.
#
#   scripts/profile.sh                 # the bench's clip: 10 s of espeak-ng speech, 1080p48, ultrafast
#   scripts/profile.sh --preset veryfast
#
# Needs `perf` (Debian's linux-perf) and a release build (swift build -c release).
set -euo pipefail
cd "$(dirname "$0")/.."
BIN=${BIN:-.build/release/mouthpiece}
command -v perf > /dev/null || { echo "profile.sh: perf is not installed (apt-get install linux-perf)" >&2; exit 2; }
[ -x "$BIN" ] || { echo "profile.sh: build first: swift build -c release --product mouthpiece" >&2; exit 2; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
espeak-ng -v en-us -s 150 -w "$work/raw.wav" "The quick brown fox jumps over the lazy dog. Peter Piper picked a peck of pickled peppers. She sells sea shells by the sea shore, and the shells she sells are surely sea shells."
ffmpeg -v error -y -i "$work/raw.wav" -af apad -t 10 "$work/speech.wav"
args=(render --image samples/astronaut.png --audio "$work/speech.wav" -o "$work/out.mp4" --resolution 1080p
    --fps 48 --aspect 16:9 --preset ultrafast --quiet "$@")
# Once untimed, so the face models' cache exists as it does after any first use.
"$BIN" "${args[@]}" > /dev/null
perf record -q -F 997 -g -o "$work/perf.data" -- "$BIN" "${args[@]}" > /dev/null 2> "$work/perf.log"
perf script -i "$work/perf.data" -F comm,tid,period,ip,sym,dso 2> /dev/null | python3 -c '
import re, sys
from collections import Counter

# First match wins, on the first frame of the stack that is not a copy or an allocator.
stages = [
    ("process start (dynamic linking)", r"ld-linux|_dl_|do_lookup"),
    ("model load (cache read, predictor built)", r"__do_uninit_copy|read_cache|CacheFile|FastReader|read_predictor|write_cache|PredictorParts|shape_predictor::shape_predictor|regression_tree|entropy_decoder|get_frontal_face_detector|deserialize|mp_face_models_load"),
    ("face analysis (HOG detector, landmarks)", r"fhog|scan_fhog|spatially_filter|pyramid|shape_predictor::operator|mp_detect_faces|mp_face_landmarks|resize_image|copy_image|FaceAnaly|Face[0-9A-Z]"),
    ("voice analysis and motion", r"Voice|Formants|Spectrum|Motion|MouthShape|PhonemeMouth|BlinkTrack|HeadMotion"),
    ("per-frame render: restore and warp", r"TriangleWarp|renderBand|restore|warp_span|mp_warp"),
    ("per-frame render: mouth interior, rig", r"Render[0-9]*MouthInterior|MouthInterior|FaceRig|Render|Dentition|LipEdges|MouthCompositor"),
    ("copy into the encoder", r"VideoWriter.*append|VideoWriter.*copy"),
    ("audio (decode, resample, AAC)", r"aac|AudioReader|AudioDecoder|swr_|resample|WAVFile|feedAudio"),
    ("encode (libx264)", r"x264"),
    ("audio (decode, resample, AAC)", r"libavcodec.*@|libswresample"),
    ("mux and write", r"libavformat"),
    ("image decode and framing", r"libswscale"),
    ("provenance (hash and signature)", r"CCryptoBoringSSL|Provenance"),
    ("mux and write", r"avio|mov_|ff_mov|av_interleaved|av_write"),
    ("image decode and framing", r"ImageDecoder|png|Framing|PixelConverter|jpeg|webp"),
]
passthrough = re.compile(r"^(__memmove|__memcpy|__memset|memmove|memcpy|memset|malloc|_int_|cfree|free|operator new|swift_retain|swift_release|swift_bridgeObject|__round|__ceil|__floor|__ieee754|__cos|__sin|__wrap_|__cbrt|__exp|__log|pthread_mutex|__GI___pthread|\[unknown\] @(?!.*x264))")
counts = Counter()
others = Counter()
import os
debug = os.environ.get("PROFILE_DEBUG")
total = 0
stack = []
def flush():
    global total
    if not stack: return
    weight = stack[0][0]
    total += weight
    frames = [s + " @" + d for _, s, d in stack]
    chosen = None
    for sym in frames:
        if passthrough.search(sym): continue
        chosen = sym
        break
    name = "other"
    probe = " ".join(frames[:12]) if chosen is None else chosen
    leaf_dso = stack[0][2]
    if "kernel" in leaf_dso and chosen is None: name = "kernel (page faults, I/O)"
    else:
        for label, pattern in stages:
            if re.search(pattern, probe):
                name = label
                break
        else:
            if "kernel" in leaf_dso: name = "kernel (page faults, I/O)"
    counts[name] += weight
    if name == "other" and debug: others[" | ".join(frames[:4])] += weight
for line in sys.stdin:
    if not line.strip():
        flush(); stack = []; continue
    head = re.match(r"^\S.*?\s+\d+\s+(\d+)\s*$", line)
    if head and not line.startswith((" ", "\t")):
        flush(); stack = []; period = int(head.group(1)); continue
    m = re.match(r"^\s+[0-9a-f]+\s+(.*?)\s+\((.*)\)\s*$", line)
    if m:
        stack.append((period, m.group(1), m.group(2)))
flush()
seconds = total / 1e9
print(f"{seconds:.2f} s of CPU in all (perf cpu-clock samples, every thread)")
for name, n in counts.most_common():
    print(f"  {name:45s} {n / 1e9:6.2f} s  {100 * n / total:5.1f} %")
for k, n in others.most_common(25): print(f"    {n / 1e9:6.3f} {k[:220]}")
'
