#!/usr/bin/env bash
# `npm test` after its set-up: type check, lint, unit tests, then the end-to-end suite. The local
# test images are built meanwhile (mostly apt downloads and unpacking inside Docker, on a clean
# machine two minutes that the checks need not wait for); the end-to-end suite starts once both
# are done. A failing check ends the run and stops the build; a failing build is shown whole.
set -euo pipefail
cd "$(dirname "$0")/.."
log=$(mktemp /tmp/claw-images.XXXXXX)
npx tsx tests/stack/cli.ts build >"$log" 2>&1 &
build=$!
trap 'kill "$build" 2>/dev/null || true; rm -f "$log"' EXIT
npm run typecheck
npm run lint
npm run test:unit
if ! wait "$build"; then
  cat "$log" >&2
  echo "[test] building the local test images failed (its output is above)" >&2
  exit 1
fi
cat "$log" >&2
npm run test:e2e
