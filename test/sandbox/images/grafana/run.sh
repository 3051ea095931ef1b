#!/bin/sh
# Entrypoint of the Grafana STAND-IN image, doing what the official image's /run.sh does before it
# starts Grafana: report unreadable/unwritable paths, create the plugins directory (which fails, and
# stops the container, when /var/lib/grafana is not writable by the container's user), and turn each
# GF_*__FILE variable into GF_* holding that file's content.
set -e
problem=0
[ -r "$GF_PATHS_CONFIG" ] || { echo "GF_PATHS_CONFIG='$GF_PATHS_CONFIG' is not readable."; problem=1; }
[ -w "$GF_PATHS_DATA" ] || { echo "GF_PATHS_DATA='$GF_PATHS_DATA' is not writable."; problem=1; }
[ -r "$GF_PATHS_HOME" ] || { echo "GF_PATHS_HOME='$GF_PATHS_HOME' is not readable."; problem=1; }
if [ "$problem" = 1 ]; then
  echo "You may have issues with file permissions, more information here: http://docs.grafana.org/installation/docker/#migrate-to-v51-or-later"
fi
[ -d "$GF_PATHS_PLUGINS" ] || mkdir "$GF_PATHS_PLUGINS"

for name in $(env | sed -n 's/^\(GF_[^=]*\)__FILE=..*/\1/p'); do
  eval "value=\${$name:-}; file=\${${name}__FILE}"
  if [ -n "$value" ]; then
    echo >&2 "ERROR: Both $name and ${name}__FILE are set (but are exclusive)"
    exit 1
  fi
  echo "Getting secret $name from $file"
  export "$name=$(cat "$file")"
  unset "${name}__FILE"
done

export HOME="$GF_PATHS_HOME"
exec grafana server "$@"
