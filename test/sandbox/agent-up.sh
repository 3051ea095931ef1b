#!/usr/bin/env bash
# A second (third, ...) sandbox host, for agents: its own network namespace and address
# (10.77.N.2, the main host is 10.77.N.1 from there), its own Docker engine and its own sshd,
# and a login user ec2-NAME with the sandbox's ed25519 key. Needs the main sandbox (up.sh) up:
# it loads the images up.sh built into the new engine. Usage: agent-up.sh NAME N [--behind OTHER]
# (N in 1..200). --behind OTHER: the host's only link goes to the namespace of agent OTHER
# (10.79.N.2, OTHER at 10.79.N.1 from there), not to this machine's: nothing but OTHER reaches it,
# as a host in a private subnet behind a bastion.
# Writes $SANDBOX_DIR/agents/NAME/agent.env. agent-down.sh NAME (or down.sh) removes it all.
# AGENT_DISK_MB=N: the host's disk is a filesystem of its own of N MiB (an ext4 image on a loop
# device) holding its Docker engine's data and the login user's home, as a small root volume would.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root"
name=${1:?usage: agent-up.sh NAME N} n=${2:?usage: agent-up.sh NAME N}
behind=
[ "${3:-}" != --behind ] || behind=${4:?usage: agent-up.sh NAME N --behind OTHER}
[ -f "$SANDBOX_DIR/sandbox.env" ] || die "bring the main sandbox up first (up.sh)"
dir="$SANDBOX_DIR/agents/$name"
[ ! -e "$dir" ] || die "agent $name is already up"
mkdir -p "$dir"
ns="md-$name" user="ec2-$name" sock="/run/md-$name-docker.sock"
host_if="md-${name}h" ns_if="md-${name}a"
host_ip="10.77.$n.1" ns_ip="10.77.$n.2"
echo "$ns" > "$dir/netns"

# --- the network namespace: a host on its own address ---------------------------------------
ip netns add "$ns"
ip link add "$host_if" type veth peer name "$ns_if"
ip link set "$ns_if" netns "$ns"
if [ -n "$behind" ]; then
  # The other end in OTHER's namespace, which forwards nothing (a new namespace's default), and
  # no route to this subnet anywhere else.
  other_ns=$(cat "$SANDBOX_DIR/agents/$behind/netns") || die "no agent $behind to put $name behind"
  host_ip="10.79.$n.1" ns_ip="10.79.$n.2"
  ip link set "$host_if" netns "$other_ns"
  ip netns exec "$other_ns" sh -c "ip addr add $host_ip/24 dev $host_if && ip link set $host_if up"
else
  ip addr add "$host_ip/24" dev "$host_if" && ip link set "$host_if" up
fi
ip netns exec "$ns" sh -c "ip addr add $ns_ip/24 dev $ns_if && ip link set $ns_if up && ip link set lo up && ip route add default via $host_ip"

# --- a small disk of its own, if asked --------------------------------------------------------
disk="$dir"
if [ -n "${AGENT_DISK_MB:-}" ]; then
  # Mounted where the login user can reach its home (the sandbox's own directory is root's alone).
  disk="/var/lib/md-$name-disk"
  echo "$disk" > "$dir/disk"
  truncate -s "${AGENT_DISK_MB}M" "$dir/disk.img"
  mkfs.ext4 -q -F -m 0 "$dir/disk.img"
  mkdir -p "$disk" && mount -o loop "$dir/disk.img" "$disk" && chmod 755 "$disk"
fi

# --- its Docker engine (nsenter, not ip netns exec: that remounts /sys and dockerd fails) ----
nsenter --net="/run/netns/$ns" dockerd --data-root "$disk/docker" --exec-root "/run/md-$name-docker" \
  --pidfile "/run/md-$name-docker.pid" -H "unix://$sock" --bip "10.78.$n.1/24" >"$dir/dockerd.log" 2>&1 &
echo $! > "$dir/dockerd.pid"
for _ in $(seq 1 60); do DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1 && break; sleep 0.5; done
DOCKER_HOST="unix://$sock" docker info >/dev/null 2>&1 || die "the agent's dockerd did not start; see $dir/dockerd.log"
# No registry here: the images the main sandbox built, copied into this engine.
cut -d= -f2 "$SANDBOX_DIR/images.txt" | sort -u | xargs docker save | DOCKER_HOST="unix://$sock" docker load >/dev/null

# --- its login user and sshd ----------------------------------------------------------------
id "$user" >/dev/null 2>&1 && die "user $user already exists"
if [ "$disk" != "$dir" ]; then useradd --create-home --home-dir "$disk/home" --shell /bin/bash "$user"
else useradd --create-home --shell /bin/bash "$user"; fi
usermod -aG docker "$user" && usermod -p '*' "$user"
echo "$user ALL=(ALL) NOPASSWD:ALL" > "/etc/sudoers.d/monitoring-deploy-sandbox-$user"
chmod 440 "/etc/sudoers.d/monitoring-deploy-sandbox-$user"
home=$(getent passwd "$user" | cut -d: -f6)
install -d -o "$user" "$home/.docker" "$home/.docker/cli-plugins"
install -m 755 -o "$user" /root/.docker/cli-plugins/docker-compose "$home/.docker/cli-plugins/docker-compose"
install -d -m 700 -o "$user" "$home/.ssh"
install -m 600 -o "$user" "$SANDBOX_DIR/keys/id_ed25519.pub" "$home/.ssh/authorized_keys"
ssh-keygen -q -t ed25519 -N '' -C "sandbox-$name" -f "$dir/host_ed25519"
sshd_config 22 "$ns_ip" "$dir/host_ed25519" "$dir/sshd.pid" "$user" > "$dir/sshd_config" <<CONF
# This host's logins use this host's engine.
SetEnv DOCKER_HOST=unix://$sock
CONF
nsenter --net="/run/netns/$ns" /usr/sbin/sshd -f "$dir/sshd_config" -E "$dir/sshd.log"
for _ in $(seq 1 50); do [ -s "$dir/sshd.pid" ] && break; sleep 0.1; done
[ -s "$dir/sshd.pid" ] || die "the agent's sshd did not start; see $dir/sshd.log"
fingerprint=$(ssh-keygen -lf "$dir/host_ed25519.pub" | awk '{print $2}')

cat > "$dir/agent.env" <<ENV
AGENT_NAME=$name
AGENT_HOST=$ns_ip
AGENT_PORT=22
AGENT_USER=$user
AGENT_HOME=$home
AGENT_FINGERPRINT=$fingerprint
AGENT_DOCKER_HOST=unix://$sock
AGENT_NETNS=$ns
AGENT_CENTRAL_ADDRESS=$host_ip
AGENT_BEHIND=$behind
AGENT_SSHD_LOG=$dir/sshd.log
ENV
say "agent $name up: $user@$ns_ip (central host seen at $host_ip), host key $fingerprint"
