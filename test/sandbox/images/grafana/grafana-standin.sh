#!/bin/sh
# STAND-IN for Grafana (not Grafana). GET /api/health answers as Grafana does once its
# database is up: 200 {"database":"ok",...}. It also reports, in its log, which provisioning
# files it was given, so a test can see the mounts line up.
export GF_PATHS_PROVISIONING=${GF_PATHS_PROVISIONING:-/etc/grafana/provisioning}
export GF_PATHS_DATA=${GF_PATHS_DATA:-/var/lib/grafana}
mkdir -p "$GF_PATHS_DATA" || exit 1
if ! touch "$GF_PATHS_DATA/.write-test" 2>/dev/null; then
  # Real Grafana fails the same way when /var/lib/grafana is not writable by its user.
  echo "GF_PATHS_DATA='$GF_PATHS_DATA' is not writable." >&2
  exit 1
fi
find "$GF_PATHS_PROVISIONING" -type f 2>/dev/null | sed 's/^/provisioning file: /'
echo "Grafana stand-in listening on :3000"
exec nc -ll -p 3000 -e /standin/grafana-handler.sh
