#!/usr/bin/env bash
# The test suite, on both stores: `swift test` (the store conformance suite runs against SQLite
# and PostgreSQL; the scale-out fault tests run on PostgreSQL), then the service tests again with
# PostgreSQL as the store. Starts a throwaway PostgreSQL cluster on a loopback port for the run
# (Debian's postgresql package: scripts/install-deps.sh) and removes it afterwards.
set -euo pipefail
cd "$(dirname "$0")/.."
cluster=$(mktemp -d /tmp/mouthpiece-test-pg.XXXXXX)
trap 'scripts/pg-throwaway.sh stop "$cluster"' EXIT
# A port the kernel hands out (nobody listens on it), not a random pick that may be taken.
port=$(python3 -c "import socket; s = socket.socket(); s.bind((\"127.0.0.1\", 0)); print(s.getsockname()[1])")
export MOUTHPIECE_TEST_DATABASE=$(scripts/pg-throwaway.sh start "$cluster" "$port")
echo "==> PostgreSQL for the tests: $MOUTHPIECE_TEST_DATABASE"
echo "==> swift test (SQLite service; store suite on both; scale-out on PostgreSQL)"
# A backstop: a run that hangs (a helper process holding the runner's output) ends here, not at
# CI's limit.
timeout -k 30 3000 swift test "$@"
echo "==> service tests again, PostgreSQL as the store"
MOUTHPIECE_TEST_SERVICE_STORE=postgresql timeout -k 30 900 swift test --skip-build --filter ServerProcessTests "$@"
echo "==> the voices: PocketSphinx's word accuracy of the default English voice against espeak-ng's"
.venv/bin/python scripts/voice-check.py "$(swift build -c release --show-bin-path)/mouthpiece"
echo "==> the API against its spec (schemathesis)"
scripts/api-check.sh
echo "==> live sessions over WebSocket: an independent client, three at once, and a Pipecat pipeline"
scripts/live-check.sh 3
echo "==> the web studio and the live page in headless Chromium (Selenium)"
scripts/studio-check.sh
echo "==> status-endpoint latency, idle and while two renders run (wrk)"
scripts/load.sh 10 16 500
