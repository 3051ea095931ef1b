#!/usr/bin/env bash
# npm run soak [-- --minutes N --log-kbps N --disk-mb N --logs-disk-budget SIZE]: the stack on a
# host limited as the post's is (its services' memory limits, a small disk of its own), under a
# sustained log load and nginx traffic for a while; prints figures (asserts nothing). Brings the
# sandbox up if none is up (and takes down what it brought up).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || { echo "the soak needs root: it brings up a host of its own (a network namespace, a Docker engine, a loop disk)" >&2; exit 1; }
[ -f dist/cli.js ] || npm run -s build
dir=${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}
disk_mb=3072
args=("$@")
for ((i = 0; i < ${#args[@]}; i++)); do [ "${args[$i]}" = --disk-mb ] && disk_mb=${args[$((i + 1))]}; done
cleanup=()
if [ ! -f "$dir/sandbox.env" ]; then
  bash test/sandbox/up.sh >/dev/null
  cleanup+=("bash test/sandbox/down.sh >/dev/null")
fi
# A host of its own, number 9 (10.77.9.2), on a disk of disk_mb MiB.
[ ! -d "$dir/agents/soak" ] || bash test/sandbox/agent-down.sh soak >/dev/null
AGENT_DISK_MB=$disk_mb bash test/sandbox/agent-up.sh soak 9 >/dev/null
cleanup=("bash test/sandbox/agent-down.sh soak >/dev/null" "${cleanup[@]}")
trap 'for c in "${cleanup[@]}"; do eval "$c"; done' EXIT
node scripts/soak.mjs "$@"
