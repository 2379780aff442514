#!/usr/bin/env bash
# Property-based checks of the served API against its own spec: schemathesis (from .venv) over
# every operation in /openapi.yaml with a valid key, on a throwaway `mouthpiece serve` (API only,
# no renders). Fails on any 5xx, any status code or body the spec does not document.
# Usage: scripts/api-check.sh [max-examples-per-operation]
set -euo pipefail
cd "$(dirname "$0")/.."
examples=${1:-25}
BIN="$(swift build -c release --show-bin-path)/mouthpiece"
[ -x "$BIN" ] || { echo "build first: swift build -c release" >&2; exit 2; }
[ -x .venv/bin/schemathesis ] || { echo "run scripts/setup.sh first (installs schemathesis in .venv)" >&2; exit 2; }
dir=$(mktemp -d /tmp/mouthpiece-api.XXXXXX)
port=$((35000 + RANDOM % 5000))
cleanup() { [ -n "${pid:-}" ] && kill "$pid" 2>/dev/null; wait 2>/dev/null; rm -rf "$dir"; }
trap cleanup EXIT
key=$("$BIN" keys create --name api-check --concurrency 100000 --data-dir "$dir/data" --json \
  | python3 -c 'import json,sys; print(json.load(sys.stdin)["key"])')
"$BIN" serve --port "$port" --data-dir "$dir/data" --workers 0 2>"$dir/server.log" &
pid=$!
base="http://127.0.0.1:$port"
for _ in $(seq 100); do curl -sf "$base/healthz" >/dev/null && break; sleep 0.2; done
status=0
.venv/bin/schemathesis run "$base/openapi.yaml" --url "$base" -H "Authorization: Bearer $key" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance \
  --max-examples "$examples" --generation-deterministic --request-timeout 30 --no-color || status=$?
if ! kill -0 "$pid" 2>/dev/null; then echo "api-check: the server died" >&2; status=1; fi
if grep -q '"internal_error"\|request failed' "$dir/server.log"; then
  echo "api-check: the server logged internal errors:" >&2
  grep 'request failed' "$dir/server.log" | head -5 >&2
fi
exit "$status"
