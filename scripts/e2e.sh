#!/usr/bin/env bash
# Brings up the sandbox host, runs the end-to-end suite against the built dist/, tears it down.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the end-to-end suite needs root: it brings up a sandbox host (sshd, dockerd)" >&2; exit 1; }
trap 'bash test/sandbox/down.sh' EXIT
bash test/sandbox/up.sh
# Two more hosts (network namespaces with their own engine and sshd) for the agent tests.
bash test/sandbox/agent-up.sh agent1 1
bash test/sandbox/agent-up.sh agent2 2
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.tmp/e2e.json "$@"
