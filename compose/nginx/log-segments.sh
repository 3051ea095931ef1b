#!/bin/sh
# nginx's entrypoint (monitoring-deploy): nginx's log files, rotated by size without losing a
# line the log agent has not read.
#
# nginx writes /var/log/nginx/NAME.log (every NAME the config names there: access, error, ...).
# Here those are links, inside the container, to segments in the host's logs/nginx, mounted at
# /var/log/nginx-files: NAME-YYYYmmddTHHMMSS.log. A segment is never renamed, truncated or moved:
# when it reaches NGINX_LOG_SEGMENT_BYTES (default 10 MiB) a new one is made, the link points to
# it, and nginx is told to reopen its logs (USR1). The log agent tails every segment by its own
# path, so it reads the old one to its end, late lines included, and the new one from its first
# byte. disk-guard removes a segment once the agent has read it; this script keeps at most
# NGINX_LOG_SEGMENTS_KEPT segments of a name (default 5), the bound when no agent reads them.
#
# A NAME.log file a deploy before segments left in logs/nginx is no longer written; the agent
# reads it to its end under its old name, and disk-guard removes it then.
set -u
FILES=/var/log/nginx-files
LINKS=/var/log/nginx
MAX_BYTES=${NGINX_LOG_SEGMENT_BYTES:-10485760}
KEEP=${NGINX_LOG_SEGMENTS_KEPT:-5}
EVERY=${NGINX_LOG_CHECK_SECONDS:-10}

say() { echo "log-segments: $*" >&2; }

# Every log file the configuration writes under /var/log/nginx, by name; access and error at least.
names=$( (
  echo access error
  find /etc/nginx -name '*.conf' -exec cat {} + 2>/dev/null | sed 's/#.*//' |
    grep -oE '/var/log/nginx/[A-Za-z0-9_.]+\.log' | sed 's|.*/||; s|\.log$||'
) | tr ' ' '\n' | sort -u)

new_segment() { # NAME: makes an empty segment, prints its path
  s="$FILES/$1-$(date -u +%Y%m%dT%H%M%S).log"
  while [ -e "$s" ]; do sleep 1; s="$FILES/$1-$(date -u +%Y%m%dT%H%M%S).log"; done
  : > "$s" && echo "$s"
}

point() { # NAME SEGMENT: the link replaced in one rename, never missing
  ln -sf "$2" "$LINKS/.$1.log.new" && mv -f "$LINKS/.$1.log.new" "$LINKS/$1.log"
}

prune() { # NAME: the newest KEEP segments stay
  ls -1 "$FILES" | grep -E "^$1-[0-9]{8}T[0-9]{6}\\.log\$" | sort -r | tail -n +$((KEEP + 1)) |
    while read -r f; do
      rm -f -- "$FILES/$f" && say "removed $f: more than $KEEP segments of $1 (the log agent may not have read it)"
    done
}

rotate() {
  while sleep "$EVERY"; do
    switched=
    for n in $names; do
      current=$(readlink "$LINKS/$n.log") || continue
      size=$(stat -c %s "$current" 2>/dev/null || echo 0)
      if [ "$size" -ge "$MAX_BYTES" ] && segment=$(new_segment "$n"); then
        point "$n" "$segment" && switched=1
      fi
      prune "$n"
    done
    # The master reopens its files, gives them to the worker user and tells the workers.
    [ -z "$switched" ] || kill -USR1 1
  done
}

mkdir -p "$LINKS"
for n in $names; do
  current=$(readlink "$LINKS/$n.log" 2>/dev/null) || current=
  case "$current" in
    "$FILES"/*) [ -f "$current" ] && continue ;;
  esac
  segment=$(new_segment "$n") && point "$n" "$segment" || say "cannot make a log segment for $n in $FILES"
done
rotate &
# nginx as process 1, as the image would run it (the official image's entrypoint first, if any).
[ -x /docker-entrypoint.sh ] && exec /docker-entrypoint.sh "$@"
exec "$@"
