#!/usr/bin/env bash
# Status-endpoint latency, idle and while two renders run: wrk against GET /v1/videos/{id} of a
# throwaway `mouthpiece serve` on a loopback port, in two ways per phase: paced at about `rate`
# requests/s (5 connections, each waiting between requests, as a steady client population would)
# and flat out (`connections` connections). Prints wrk's latency distribution and a summary line
# per run (p50 / p99 in ms, requests/s, errors).
# Usage: scripts/load.sh [seconds] [connections] [rate]
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
connections=${2:-16}
rate=${3:-500}
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
dir=$(mktemp -d /tmp/mouthpiece-load.XXXXXX)
port=$((30000 + RANDOM % 5000))
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
key=$("$BIN" keys create --name load --concurrency 10 --data-dir "$dir/data" --json | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
"$BIN" serve --port "$port" --data-dir "$dir/data" --workers 2 2>"$dir/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
espeak-ng -w "$dir/v.wav" -s 150 "$(printf 'This sentence keeps the renderer busy for a while. %.0s' $(seq 40))"
espeak-ng -w "$dir/short.wav" -s 150 "A short one to read the status of."
submit() {
  curl -sf -H "Authorization: Bearer $key" -F image=@samples/astronaut.png -F audio=@"$1" \
    -F resolution=1080p -F fps=30 "$base/v1/videos" | python3 -c 'import json,sys; print(json.load(sys.stdin)["id"])'
}
id=$(submit "$dir/short.wav")
until curl -sf -H "Authorization: Bearer $key" "$base/v1/videos/$id" | grep -q '"completed"'; do sleep 0.5; done
# Each of 5 connections waits 4000/rate ms before each request, and about a fifth of that for
# the answer and its own turn: about `rate` requests/s in all (wrk prints what it reached).
printf 'function delay()\n  return %s\nend\n' "$((4000 / rate))" >"$dir/paced.lua"
run() {
  local name=$1
  shift
  wrk "$@" -d"${seconds}s" --latency -H "Authorization: Bearer $key" "$base/v1/videos/$id" >"$dir/wrk.txt"
  cat "$dir/wrk.txt"
  python3 - "$name" "$dir/wrk.txt" <<'PY'
import re, sys
name, text = sys.argv[1], open(sys.argv[2]).read()
def ms(v):
    n, unit = re.match(r"([\d.]+)(us|ms|s)", v).groups()
    return float(n) * {"us": 0.001, "ms": 1, "s": 1000}[unit]
p = {k: ms(v) for k, v in re.findall(r"^\s+(50|99)%\s+(\S+)", text, re.M)}
rps = re.search(r"Requests/sec:\s+([\d.]+)", text).group(1)
errors = re.search(r"Non-2xx or 3xx responses: (\d+)", text)
print(f"load[{name}]: p50 {p['50']:.2f} ms, p99 {p['99']:.2f} ms, {rps} requests/s, "
      f"{errors.group(1) if errors else 0} errors")
PY
}
phase() {
  run "$1, paced ~$rate/s" -t1 -c5 -s "$dir/paced.lua"
  run "$1, $connections connections" -t2 -c"$connections"
}
phase idle
a=$(submit "$dir/v.wav"); b=$(submit "$dir/v.wav")
until curl -sf -H "Authorization: Bearer $key" "$base/v1/videos/$b" | grep -q '"processing"'; do sleep 0.2; done
phase "2 rendering"
for v in "$a" "$b"; do
  curl -sf -H "Authorization: Bearer $key" "$base/v1/videos/$v" | python3 -c 'import json,sys; j = json.load(sys.stdin); print("render", j["id"], j["status"], "at the end of the phase")'
done
