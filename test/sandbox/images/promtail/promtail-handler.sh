#!/bin/sh
. /standin/http.sh
read_request
case "$REQUEST_METHOD $REQUEST_PATH" in
  "GET /ready")
    if [ -f "$STATE_DIR/ready" ]; then
      respond "200 OK" "text/plain; charset=utf-8" "Ready
"
    else
      respond "500 Internal Server Error" "text/plain; charset=utf-8" "Not ready
"
    fi ;;
  *) respond "404 Not Found" "text/plain" "404 page not found
" ;;
esac
