#!/usr/bin/env bash
# npm run demo: a deploy exactly as the action makes it, to a throwaway host on this machine.
# As root with Docker (the sandbox installs what it needs): brings up the sandbox host if none
# is up (sshd on 127.0.0.1, a login user, the machine's Docker engine), deploys the bundled stack
# to it with a small swap file, and ends with the steps, the targets and data path, and
# Grafana's address and login. Run it again: a redeploy that changes nothing (changed=false).
# npm run demo:down removes it all. Images: where a registry is reachable, the real pinned images
# (the app is a stand-in: there is no app of yours here); where none is, images built locally.
# SANDBOX_UP_FLAGS: extra flags for test/sandbox/up.sh (the test suite reuses its images).
set -euo pipefail
cd "$(dirname "$0")/.."
[ "$(id -u)" = 0 ] || {
  echo "npm run demo needs root: it makes this machine a throwaway host (a login user, sshd, Docker)" >&2
  exit 1
}
[ -f dist/cli.js ] || npm run -s build
dir=${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}
if [ ! -f "$dir/sandbox.env" ]; then
  echo "Bringing up the demo host: sshd on 127.0.0.1, a login user, this machine's Docker engine (a few minutes the first time)…"
  # shellcheck disable=SC2086
  bash test/sandbox/up.sh ${SANDBOX_UP_FLAGS:-} >/dev/null
fi
# shellcheck disable=SC1091
. "$dir/sandbox.env"

images=$(cat "$SANDBOX_IMAGES")
pull=never
pinned_grafana=$(awk '$1 == "image:" && $2 ~ /^grafana\/grafana:/ { print $2; exit }' compose/docker-compose-dev-monitoring.yml)
if timeout 20 docker pull -q "$pinned_grafana" >/dev/null 2>&1; then
  echo "A registry is in reach: the real pinned images (your app is a stand-in here)."
  images=$(grep '^server=' "$SANDBOX_IMAGES")
  pull=missing
else
  echo "No registry in reach: images built on this machine ($(cut -d= -f1 "$dir/standins.txt" | tr '\n' ' ')are stand-ins)."
fi

node dist/cli.js deploy \
  --host "$SANDBOX_HOST" --port "$SANDBOX_PORT" --username "$SANDBOX_USER" \
  --ssh-key-file "$SANDBOX_KEY" --host-fingerprint "$SANDBOX_FINGERPRINT" \
  --images "$images" --pull "$pull" --swap-size 256M --grafana-dashboards none

password=$(cat "$SANDBOX_HOME/monitoring/secrets/grafana_admin_password")
cat <<DONE

Grafana: http://127.0.0.1:3000   login: admin / $password   (a throwaway password made on the host)
The stack lives in $SANDBOX_HOME/monitoring on the demo host; \`npm run demo\` again redeploys.
Tear it all down (containers, networks, volumes, swap, the login user, sshd): npm run demo:down
DONE
