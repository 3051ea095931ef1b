#!/usr/bin/env bash
# Tears the sandbox down and leaves the machine as up.sh found it: containers, networks and
# volumes made since (and those of the stacks its login user deployed), swap and
# /etc/fstab lines added since, the login user, sudoers entry, sshd, and dockerd if up.sh started
# it. Images are removed too unless --keep-images.
. "$(dirname "$0")/lib.sh"
keep_images=0
[ "${1:-}" = --keep-images ] && keep_images=1
# A sandbox that borrowed another's images (up.sh --no-images) leaves them to their owner.
[ -f "$SANDBOX_DIR/state/borrowed-images" ] && keep_images=1
state="$SANDBOX_DIR/state"
[ -d "$SANDBOX_DIR" ] || { say "no sandbox at $SANDBOX_DIR"; exit 0; }
# A teardown cut short (the machine restarted during rm -rf) can leave sandbox.env without the
# state it recorded: what it can still know (agents, sshd, the user, swap) is undone below.
[ -d "$state" ] || say "$SANDBOX_DIR has no record of what it changed: removing what remains of it"
set +e
for agent in "$SANDBOX_DIR"/agents/*/; do
  [ -d "$agent" ] && bash "$SANDBOX_HERE/agent-down.sh" "$(basename "$agent")"
done

if [ -s "$SANDBOX_DIR/sshd.pid" ]; then
  kill "$(cat "$SANDBOX_DIR/sshd.pid")" 2>/dev/null
fi
# sshd's per-connection children outlive the listener; end those of this sandbox.
pkill -f "sshd: $SANDBOX_USER" 2>/dev/null

if [ -d "$state" ] && docker_ready; then
  new() { comm -13 "$state/$1.before" <(sort); }
  containers=$(docker ps -aq --no-trunc | sort | new containers)
  # The stacks this sandbox's user deployed (compose projects whose files were in its home): their
  # volumes go with them, as `docker compose down --volumes` would take them, also those that were
  # on the engine before up.sh (left by another sandbox, whose stack this one's deploy took over):
  # they hold this sandbox's data now, and kept, the next sandbox would record them as not its own.
  home=$(getent passwd "$SANDBOX_USER" | cut -d: -f6)
  projects=$(printf '%s\n' "$containers" | xargs -r docker inspect -f '{{index .Config.Labels "com.docker.compose.project.working_dir"}} {{index .Config.Labels "com.docker.compose.project"}}' 2>/dev/null |
    awk -v home="$home/" 'home != "/" && $2 != "" && index($1, home) == 1 { print $2 }' | sort -u)
  printf '%s\n' "$containers" | xargs -r docker rm -f >/dev/null
  docker network ls -q --no-trunc --filter type=custom | sort | new networks | xargs -r docker network rm >/dev/null
  {
    docker volume ls -q | sort | new volumes
    for project in $projects; do docker volume ls -q --filter "label=com.docker.compose.project=$project"; done
  } | sort -u | xargs -r docker volume rm >/dev/null
  if [ "$keep_images" = 0 ]; then
    cat "$SANDBOX_DIR/images.txt" "$SANDBOX_DIR/extra-images.txt" 2>/dev/null | cut -d= -f2 | sort -u | xargs -r docker rmi -f >/dev/null
  fi
fi

[ -f "$state/swaps.before" ] && swapon --show=NAME --noheadings 2>/dev/null | sort | comm -13 "$state/swaps.before" - | while read -r swap; do
  swapoff "$swap" && case "$swap" in /dev/*) ;; *) rm -f "$swap" ;; esac
done
[ -f "$state/fstab.before" ] && cp "$state/fstab.before" /etc/fstab

if id "$SANDBOX_USER" >/dev/null 2>&1; then
  pkill -u "$SANDBOX_USER" 2>/dev/null; sleep 0.2
  userdel -r "$SANDBOX_USER" 2>/dev/null
fi
rm -f /etc/sudoers.d/monitoring-deploy-sandbox-$SANDBOX_USER

if [ -s "$state/dockerd.pid" ]; then
  pid=$(cat "$state/dockerd.pid")
  kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
fi
rm -rf "$SANDBOX_DIR"
say "down"
