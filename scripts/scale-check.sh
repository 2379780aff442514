#!/usr/bin/env bash
# The scale-out acceptance run: JOBS clips (default 100) through 3 `mouthpiece worker` processes
# and an API-only `serve --workers 0` on one PostgreSQL (a throwaway cluster) and one blob
# directory, killing the worker of a random rendering job with SIGKILL every 1.5-4 s and starting
# a new one. Checks that every job completed, none lost, no result shared by two jobs, and every
# served MP4 decodes to the end; prints one summary line. Then cancels a job mid-render.
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=${1:-100}
swift build --build-tests 2>&1 | tail -1
MOUTHPIECE_SCALE_JOBS=$jobs swift test --skip-build \
    --filter ScaleOutTests.testJobsThroughSeveralWorkersSurviveWorkersKilledMidRender 2>&1 \
    | grep -E "scale-out:|error:|Executed" 
