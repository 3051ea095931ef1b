#!/bin/sh
# STAND-IN for Grafana Promtail (not Promtail). It does what the deploy relies on:
# reads its config (-config.file=...), finds every static_configs `labels:` block with a
# `__path__` glob, tails the matching files and pushes new lines to the `clients[].url` as
# Loki's JSON push format, with the block's labels plus `filename`.
# A client's `basic_auth` (username + password_file) is sent as real Promtail sends it.
# GET /ready (port 9080): 200 "Ready" once some glob matched a file, else 500 "Not ready",
# as real Promtail answers while it has no ready target.
config=/etc/promtail/config.yml
for arg in "$@"; do
  case "$arg" in -config.file=*) config=${arg#-config.file=} ;; esac
done
[ -f "$config" ] || { echo "level=error msg=\"config file not found\" file=$config" >&2; exit 1; }

export STATE_DIR=/tmp/promtail-standin
mkdir -p "$STATE_DIR/offsets"
rm -f "$STATE_DIR/ready"

url=$(awk '/^[ \t]*-?[ \t]*url:/{sub(/^[ \t]*-?[ \t]*url:[ \t]*/,""); gsub(/["\047]/,""); print; exit}' "$config")
user=$(awk '/^[ \t]*username:/{sub(/^[ \t]*username:[ \t]*/,""); gsub(/["\047]/,""); print; exit}' "$config")
password_file=$(awk '/^[ \t]*password_file:/{sub(/^[ \t]*password_file:[ \t]*/,""); gsub(/["\047]/,""); print; exit}' "$config")
auth=
if [ -n "$user" ]; then
  auth="Authorization: Basic $(printf '%s:%s' "$user" "$(cat "$password_file" 2>/dev/null)" | base64 | tr -d '\n')"
fi
port=$(awk '/http_listen_port:/{print $2; exit}' "$config")
port=${port:-9080}

# One line per labels block: GLOB<TAB>"k":"v","k2":"v2"
awk '
  function flush() { if (path != "") print path "\t" labels; path=""; labels=""; inlabels=0 }
  {
    match($0, /^[ \t]*/); indent = RLENGTH
    line = $0; sub(/^[ \t]*/, "", line); sub(/[ \t]+#.*$/, "", line)
    if (inlabels && (indent <= lindent || line ~ /^-/)) flush()
    if (line ~ /^labels:[ \t]*$/) { flush(); inlabels=1; lindent=indent; next }
    if (inlabels && line ~ /^[A-Za-z_][A-Za-z0-9_]*:/) {
      key = line; sub(/:.*/, "", key)
      val = line; sub(/^[^:]*:[ \t]*/, "", val); gsub(/["\047]/, "", val)
      if (key == "__path__") path = val
      else labels = labels (labels == "" ? "" : ",") "\"" key "\":\"" val "\""
    }
  }
  END { flush() }
' "$config" > "$STATE_DIR/targets.tsv"

echo "level=info msg=\"Promtail stand-in started\" client=$url targets=$(wc -l < "$STATE_DIR/targets.tsv")"
nc -ll -p "$port" -e /standin/promtail-handler.sh &

json_escape() { sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/\t/\\t/g' | tr -d '\r'; }

while :; do
  while IFS="$(printf '\t')" read -r glob labels; do
    case "$glob" in /*) ;; *) echo "level=warn msg=\"relative __path__ ignored\" path=$glob" >&2; continue ;; esac
    for file in $glob; do
      [ -f "$file" ] || continue
      : > "$STATE_DIR/ready"
      key=$(printf '%s' "$file" | md5sum | cut -c1-16)
      offset=$(cat "$STATE_DIR/offsets/$key" 2>/dev/null || echo 0)
      size=$(wc -c < "$file")
      [ "$size" -lt "$offset" ] && offset=0 # truncated or rotated
      [ "$size" -gt "$offset" ] || continue
      ts=$(date +%s)000000000
      values=$(tail -c +"$((offset + 1))" "$file" | head -c "$((size - offset))" | json_escape |
        awk -v ts="$ts" 'NF { printf "%s[\"%s\",\"%s\"]", (n++ ? "," : ""), ts, $0 }')
      body="{\"streams\":[{\"stream\":{${labels},\"filename\":\"$file\"},\"values\":[${values}]}]}"
      if wget -q -O /dev/null --header 'Content-Type: application/json' ${auth:+--header "$auth"} --post-data "$body" "$url" 2>"$STATE_DIR/wget.err"; then
        echo "$size" > "$STATE_DIR/offsets/$key"
      else
        echo "level=warn msg=\"push failed, will retry\" url=$url file=$file error=\"$(head -c 200 "$STATE_DIR/wget.err" | tr '\n' ' ')\"" >&2
      fi
    done
  done < "$STATE_DIR/targets.tsv"
  sleep "${SCAN_INTERVAL:-2}"
done
