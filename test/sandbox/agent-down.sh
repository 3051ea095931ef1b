#!/usr/bin/env bash
# Removes an agent host made by agent-up.sh: its containers, engine, sshd, user and namespace.
. "$(dirname "$0")/lib.sh"
name=${1:?usage: agent-down.sh NAME}
dir="$SANDBOX_DIR/agents/$name"
[ -d "$dir" ] || { say "no agent $name"; exit 0; }
set +e
user="ec2-$name" sock="/run/md-$name-docker.sock" ns=$(cat "$dir/netns" 2>/dev/null)
[ -s "$dir/sshd.pid" ] && kill "$(cat "$dir/sshd.pid")" 2>/dev/null
pkill -f "[s]shd: $user" 2>/dev/null
if DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1; then
  DOCKER_HOST="unix://$sock" docker ps -aq | xargs -r env DOCKER_HOST="unix://$sock" docker rm -f >/dev/null
fi
if [ -s "$dir/dockerd.pid" ]; then
  pid=$(cat "$dir/dockerd.pid"); kill "$pid" 2>/dev/null
  for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.2; done
fi
if id "$user" >/dev/null 2>&1; then pkill -u "$user" 2>/dev/null; sleep 0.2; userdel -r "$user" 2>/dev/null; fi
rm -f "/etc/sudoers.d/monitoring-deploy-sandbox-$user"
[ -n "$ns" ] && ip netns del "$ns" 2>/dev/null
ip link del "md-${name}h" 2>/dev/null
# Volumes' mounts are gone with the engine; what is left is plain files.
umount -R "$dir/docker" 2>/dev/null
# A small disk of its own (AGENT_DISK_MB): everything on it goes with it.
disk=$(cat "$dir/disk" 2>/dev/null)
if [ -n "$disk" ] && mountpoint -q "$disk" 2>/dev/null; then umount -R "$disk/docker" 2>/dev/null; umount "$disk" && rmdir "$disk"; fi
rm -rf "$dir" "/run/md-$name-docker" "/run/md-$name-docker.pid" "$sock"
say "agent $name down"
