#!/bin/sh
# disk-guard (monitoring-deploy): keeps what grows on the host within its budget while nobody
# watches. Every DISK_GUARD_INTERVAL seconds (default 60):
#
# Loki. Loki has no size-based retention (grafana/loki#2314). Its volume is measured; when it
# would exceed LOKI_TARGET_PERCENT (default 60) of LOKI_BUDGET_BYTES, Loki's retention_period is
# lowered through its runtime overrides file, which Loki reloads every 10s: its compactor then
# deletes the chunks that ended before that age, oldest first, and the newest stay queryable.
# The retention is the age of the newest chunks that fit in the target, so the cut follows the
# data, not the clock; back under the target, LOKI_RETENTION_MINUTES applies again. The rest of
# the budget is for what retention cannot reach yet (chunks whose index Loki has not shipped,
# the WAL): Loki's ingestion rate limit keeps that part within it.
#
# nginx. nginx writes its logs as segments (nginx/log-segments.sh). A segment nginx no longer
# writes to, that the log agent has read to its end (its positions file says so) and that has
# not changed for a minute, is removed. Segments the agent has not read stay.
#
# Files: /disk-guard/loki-overrides.yaml (read by Loki), /disk-guard/status (read by the deploy
# and the watchdog: one key=value per line).
set -u
INTERVAL=${DISK_GUARD_INTERVAL:-60}
LOKI_DIR=${LOKI_DIR:-/loki}
OUT_DIR=${DISK_GUARD_DIR:-/disk-guard}
NGINX_DIR=${NGINX_DIR:-/var/log/nginx}
AGENT_DIR=${AGENT_DIR:-/agent}
BUDGET_KB=$(( ${LOKI_BUDGET_BYTES:-0} / 1024 ))
TARGET_PERCENT=${LOKI_TARGET_PERCENT:-60}
MAX_MINUTES=${LOKI_RETENTION_MINUTES:-10080}

say() { echo "disk-guard: $*"; }

# Prints the retention (minutes) that keeps the newest chunks within the target: chunk files
# newest first ("mtime KiB"), the volume's total KiB, and the target KiB. A chunk's file is
# written when the chunk is flushed, after its last line: every chunk whose file is older than
# the cut ended before it, and Loki's retention (now - end > retention) removes it.
retention_minutes() {
  awk -v now="$1" -v total="$2" -v target="$3" -v max="$MAX_MINUTES" '
    { mtime[NR] = $1; kib[NR] = $2; chunks += $2 }
    END {
      allowed = target - (total - chunks)
      for (i = 1; i <= NR; i++) {
        kept += kib[i]
        if (kept > allowed) {
          m = int((now - mtime[i]) / 60)
          print (m < 1 ? 1 : (m > max ? max : m))
          exit
        }
      }
      print max
    }'
}

write_file() { # path content: replaced whole (Loki never reads half a file)
  printf '%s\n' "$2" > "$1.tmp" && mv -f "$1.tmp" "$1"
}

loki_cap() {
  [ "$BUDGET_KB" -gt 0 ] && [ -d "$LOKI_DIR" ] || return 0
  now=$(date +%s)
  total=$(du -sk "$LOKI_DIR" | cut -f1)
  target=$(( BUDGET_KB * TARGET_PERCENT / 100 ))
  minutes=$(find "$LOKI_DIR/chunks" -type f -exec stat -c '%Y %b %B' {} + 2>/dev/null |
    awk '{ print $1, int($2 * $3 / 1024) }' | sort -rn | retention_minutes "$now" "$total" "$target")
  if [ "$minutes" -ge "$MAX_MINUTES" ]; then
    overrides='overrides: {}'
  else
    overrides="overrides:
  fake:
    retention_period: ${minutes}m"
  fi
  if [ "$minutes" != "${last_minutes:-}" ]; then
    write_file "$OUT_DIR/loki-overrides.yaml" "$overrides"
    if [ "$minutes" -ge "$MAX_MINUTES" ]; then
      say "loki: ${total} KiB of ${BUDGET_KB} KiB budget: retention ${MAX_MINUTES}m (the configured one)"
    else
      say "loki: ${total} KiB of ${BUDGET_KB} KiB budget: retention lowered to ${minutes}m, older logs are deleted"
    fi
    last_minutes=$minutes
  fi
  loki_status="loki_kib=$total
loki_budget_kib=$BUDGET_KB
loki_retention_minutes=$minutes"
}

# "path offset" for every file in the log agent's positions: Promtail's (path: "offset") and
# Alloy's (? path: P / labels: L / : "offset").
read_positions() {
  cat "$AGENT_DIR"/promtail/positions.yaml "$AGENT_DIR"/alloy/*/positions.yml 2>/dev/null | awk '
    /^[ \t]*\? path: / { sub(/^[ \t]*\? path: /, ""); p = $0; next }
    /^[ \t]*: / && p != "" { v = $2; gsub(/"/, "", v); print p, v; p = ""; next }
    /^[ \t]+\/[^:]*: / { v = $NF; gsub(/"/, "", v); k = $0; sub(/^[ \t]+/, "", k); sub(/: [^:]*$/, "", k); print k, v }'
}

nginx_segments() {
  [ -d "$NGINX_DIR" ] || return 0
  now=$(date +%s)
  positions=$(read_positions)
  removed=0
  # Segments are NAME-YYYYmmddTHHMMSS.log; a NAME.log of an older deploy counts as older than any.
  # The newest of each name is the one nginx writes to: never removed.
  for f in $(cd "$NGINX_DIR" && ls -1 | awk '
      /^monitoring-deploy-canary-/ { next }
      match($0, /-[0-9][0-9][0-9][0-9][0-9][0-9][0-9][0-9]T[0-9][0-9][0-9][0-9][0-9][0-9]\.log$/) { name = substr($0, 1, RSTART - 1); print name, $0; next }
      /\.log$/ { name = substr($0, 1, length($0) - 4); print name, "0" }' | sort |
    awk '{ if (prev != "" && $1 == prevname) print prev; prevname = $1; prev = ($2 == "0" ? $1 ".log" : $2) }'); do
    path="$NGINX_DIR/$f"
    [ -f "$path" ] && [ ! -L "$path" ] || continue
    set -- $(stat -c '%s %Y' "$path")
    size=$1 mtime=$2
    [ $((now - mtime)) -ge 60 ] || continue
    # The furthest any entry says: after a Promtail → Alloy switch one file has several (Promtail's
    # last, Alloy's converted copy of it with the labels "{}", and Alloy's own).
    read_to=$(printf '%s\n' "$positions" | awk -v p="$path" '$1 == p && (!seen || $2 + 0 > max) { max = $2 + 0; seen = 1 } END { if (seen) print max }')
    if [ -n "$read_to" ] && [ "$read_to" -ge "$size" ]; then
      rm -f -- "$path" && removed=$((removed + 1))
    fi
  done
  [ "$removed" = 0 ] || say "nginx: removed $removed log segment(s) the log agent had read"
  nginx_status="nginx_kib=$(du -sk "$NGINX_DIR" | cut -f1)"
}

mkdir -p "$OUT_DIR"
say "started: loki budget ${BUDGET_KB} KiB (target ${TARGET_PERCENT}%), every ${INTERVAL}s"
while :; do
  loki_status= nginx_status=
  loki_cap
  nginx_segments
  write_file "$OUT_DIR/status" "time=$(date +%s)
$loki_status
$nginx_status"
  [ "${DISK_GUARD_ONCE:-}" = 1 ] && exit 0
  sleep "$INTERVAL"
done
