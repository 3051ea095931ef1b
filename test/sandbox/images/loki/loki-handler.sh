#!/bin/sh
. /standin/http.sh
read_request

label_values() {
  file="$DATA_DIR/standin/$1"
  values=$(sort -u "$file" 2>/dev/null | sed 's/.*/"&"/' | paste -sd, -)
  respond "200 OK" "application/json" "{\"status\":\"success\",\"data\":[${values}]}"
}

case "$REQUEST_METHOD $REQUEST_PATH" in
  "GET /ready")
    age=$(( $(date +%s) - STARTED_AT ))
    if [ "$READY_AFTER" != never ] && [ "$age" -ge "$READY_AFTER" ]; then
      respond "200 OK" "text/plain; charset=utf-8" "ready
"
    else
      respond "503 Service Unavailable" "text/plain; charset=utf-8" "Ingester not ready: waiting for 15s after being ready
"
    fi ;;
  "POST /loki/api/v1/push")
    # Remember each stream's job and host labels, and how many lines arrived.
    printf '%s' "$REQUEST_BODY" | grep -o '"job" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' >> "$DATA_DIR/standin/job"
    printf '%s' "$REQUEST_BODY" | grep -o '"host" *: *"[^"]*"' | sed 's/.*"\([^"]*\)"$/\1/' >> "$DATA_DIR/standin/host"
    printf '%s\n' "$REQUEST_BODY" >> "$DATA_DIR/standin/pushes.jsonl"
    echo "level=info msg=\"push received\" bytes=$CONTENT_LENGTH" >&2
    respond "204 No Content" "text/plain" "" ;;
  "GET /loki/api/v1/label/job/values") label_values job ;;
  "GET /loki/api/v1/label/host/values") label_values host ;;
  *)
    respond "404 Not Found" "text/plain" "404 page not found
" ;;
esac
