#!/bin/sh
# STAND-IN for Grafana Loki (not Loki). It mimics the HTTP behaviour the deploy checks:
# - GET /ready: 503 "Ingester not ready: waiting for 15s after being ready" for the first
#   READY_AFTER seconds (15 by default, as real Loki's ingester), then 200 "ready".
#   READY_AFTER=never keeps it unready (fault injection).
# - POST /loki/api/v1/push (JSON, as Promtail's stand-in sends): 204, and the stream labels are
#   remembered under $DATA_DIR so tests can ask what arrived.
# - GET /loki/api/v1/label/job/values and /loki/api/v1/label/host/values, as real Loki answers.
# It takes (and ignores) -config.file=... like real Loki, but checks that the file exists.
for arg in "$@"; do
  case "$arg" in
    -config.file=*)
      f=${arg#-config.file=}
      if [ ! -f "$f" ]; then
        echo "level=error msg=\"error loading config file\" file=$f err=\"no such file\"" >&2
        exit 1
      fi ;;
  esac
done
export READY_AFTER=${READY_AFTER:-15}
export DATA_DIR=${DATA_DIR:-/loki}
export STARTED_AT=$(date +%s)
mkdir -p "$DATA_DIR/standin"
echo "level=info msg=\"Loki stand-in started\" ready_after=$READY_AFTER"
exec nc -ll -p 3100 -e /standin/loki-handler.sh
