#!/usr/bin/env bash
# npm run bench: against the sandbox host (brought up here if none is up, then torn down).
set -euo pipefail
cd "$(dirname "$0")/.."
[ -f dist/cli.js ] || npm run -s build
# An end-to-end run holds the machine's sandbox: wait for it rather than measure (or deploy) into it.
if [ -w /run ]; then
  exec 9>/run/monitoring-deploy-e2e.lock
  flock -n 9 || { echo "an end-to-end run holds this machine's sandbox: waiting for it" >&2; flock -w 4800 9; }
fi
if [ ! -f "${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}/sandbox.env" ]; then
  [ "$(id -u)" = 0 ] || { echo "the bench needs a sandbox host; bringing one up needs root" >&2; exit 1; }
  trap 'bash test/sandbox/down.sh' EXIT
  bash test/sandbox/up.sh >/dev/null
fi
dir=${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}
for n in 1 2; do
  [ -f "$dir/agents/agent$n/agent.env" ] || bash test/sandbox/agent-up.sh "agent$n" "$n" >/dev/null
done
node scripts/bench.mjs
