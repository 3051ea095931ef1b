#!/usr/bin/env bash
# Brings up the sandbox host, runs the end-to-end suite against the built dist/, tears it down.
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the end-to-end suite needs root: it brings up a sandbox host (sshd, dockerd)" >&2; exit 1; }
sandbox_dir=${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}
# One run per machine: the sandbox's container names, user and ports are fixed. A second run waits
# for the first instead of failing, or worse, tearing the first one's sandbox down under it.
exec 9>/run/monitoring-deploy-e2e.lock
if ! flock -n 9; then
  echo "another end-to-end run holds this machine's sandbox: waiting for it to finish (up to 80 minutes)"
  flock -w 4800 9 || { echo "gave up waiting for the other end-to-end run" >&2; exit 1; }
fi
# Someone's live sandbox (npm run demo) is theirs to take down, not ours. One whose sshd is gone
# was left by a run the machine stopped under it: nobody can use it, so its remains go.
if [ -f "$sandbox_dir/sandbox.env" ]; then
  if [ -s "$sandbox_dir/sshd.pid" ] && kill -0 "$(cat "$sandbox_dir/sshd.pid")" 2>/dev/null; then
    echo "a sandbox is already up ($sandbox_dir): take it down first (npm run demo:down)" >&2
    exit 1
  fi
  echo "a sandbox at $sandbox_dir has no sshd running (left by a run that was stopped): taking it down"
  bash test/sandbox/down.sh
fi
trap 'bash test/sandbox/down.sh' EXIT
bash test/sandbox/up.sh
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
