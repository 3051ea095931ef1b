#!/bin/sh
. /standin/http.sh
read_request
case "$REQUEST_METHOD $REQUEST_PATH" in
  "GET /api/health")
    respond "200 OK" "application/json; charset=UTF-8" '{"database":"ok","version":"standin","commit":"standin"}' ;;
  *) respond "404 Not Found" "application/json" '{"message":"Not found"}' ;;
esac
