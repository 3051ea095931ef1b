#!/usr/bin/env bash
# Everything CI checks: lint, typecheck, dist freshness, unit tests, and the sandbox end-to-end
# suite (needs root). Ends with one line `tests: N passed, N failed`.
set -uo pipefail
cd "$(dirname "$0")/.."
rm -rf .tmp && mkdir -p .tmp
status=0
run() { echo "::group::$*"; "$@" || status=1; echo "::endgroup::"; }
run npm run -s lint
run npm run -s typecheck
run npm run -s check-dist
run npx vitest run --project unit --reporter=default --reporter=json --outputFile.json=.tmp/unit.json
run bash scripts/e2e.sh
node scripts/test-summary.mjs .tmp/unit.json .tmp/e2e.json || status=1
exit "$status"
