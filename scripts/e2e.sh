#!/usr/bin/env bash
# Brings up the sandbox host, runs the end-to-end suite against the built dist/, tears it down.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the end-to-end suite needs root: it brings up a sandbox host (sshd, dockerd)" >&2; exit 1; }
trap 'bash test/sandbox/down.sh' EXIT
bash test/sandbox/up.sh
sandbox_dir=${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}
# Say which services run as stand-ins, loudly when Loki or Promtail are among them: a green run
# on stand-ins must never pass unnoticed.
standins() {
  [ -f "$sandbox_dir/standins.txt" ] || return 0
  echo "stand-ins in this run: $(cut -d= -f1 "$sandbox_dir/standins.txt" | tr '\n' ' ')(everything else is the real program)"
  if grep -qE '^(loki|promtail)=' "$sandbox_dir/standins.txt"; then
    printf '\n*** WARNING: Loki/Promtail ran as STAND-INS, not the real programs: this run does not show the real log path. ***\n\n'
  fi
}
standins
trap 'standins; bash test/sandbox/down.sh' EXIT
# Two more hosts (network namespaces with their own engine and sshd) for the agent tests.
bash test/sandbox/agent-up.sh agent1 1
bash test/sandbox/agent-up.sh agent2 2
npx vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.tmp/e2e.json "$@"
