#!/usr/bin/env bash
# Brings up the sandbox "dev server" on this machine (as root) and writes what tests need to
# $SANDBOX_DIR/sandbox.env. Options:
#   --compose v2|v1|v1-old|none
#                     the login user sees Compose v2 (`docker compose`, default), only v1
#                     (`docker-compose`, Debian bookworm's Python Compose 1.29), v1 saying it is
#                     1.27.4 (older than profiles), or neither
#   --no-docker-group the login user is not in the docker group
#   --no-sudo         the login user has no sudo
#   --no-images       skip building the local images (they already exist)
#   --images-file F   with --no-images: the `images` lines of an earlier build (another sandbox's)
# Tear down with down.sh, which restores what this changed.
. "$(dirname "$0")/lib.sh"
[ "$(id -u)" = 0 ] || die "run as root: the sandbox adds a user, starts sshd and dockerd"

compose=v2 build_images=1 images_file= docker_group=1 sudo=1
while [ $# -gt 0 ]; do
  case "$1" in
    --compose) compose=$2; shift 2 ;;
    --no-images) build_images=0; shift ;;
    --images-file) images_file=$2; shift 2 ;;
    --no-docker-group) docker_group=0; shift ;;
    --no-sudo) sudo=0; shift ;;
    *) die "unknown option $1" ;;
  esac
done
case "$compose" in v1|v2|v1-old|none) ;; *) die "--compose takes v1, v2, v1-old or none" ;; esac
[ ! -f "$SANDBOX_DIR/sandbox.env" ] || die "a sandbox is already up ($SANDBOX_DIR); run down.sh first"

bash "$SANDBOX_HERE/install.sh"
# Compose v1 is Debian's docker-compose (Python) by its path: a `docker-compose` elsewhere on the
# PATH may be a Compose v2 binary of that name.
compose_v1=/usr/bin/docker-compose
if [ "$compose" = v1 ] || [ "$compose" = v1-old ]; then
  v1_version=$("$compose_v1" version --short 2>/dev/null) || die "--compose $compose needs Debian's docker-compose at $compose_v1 (install.sh installs it)"
  case "$v1_version" in
    1.2[89].*) ;;
    *) die "--compose $compose needs Compose v1 1.28 or 1.29 at $compose_v1 (Debian bookworm's docker-compose); it says $v1_version" ;;
  esac
fi

mkdir -p "$SANDBOX_DIR/state" "$SANDBOX_DIR/keys"
chmod 700 "$SANDBOX_DIR"
state="$SANDBOX_DIR/state"

# --- Docker engine: start it unless one already answers; remember what existed before ------------
if ! docker_ready; then
  say "starting dockerd"
  dockerd >"$SANDBOX_DIR/dockerd.log" 2>&1 &
  echo $! > "$state/dockerd.pid"
  for _ in $(seq 1 60); do docker_ready && break; sleep 0.5; done
  docker_ready || die "dockerd did not start; see $SANDBOX_DIR/dockerd.log"
  # With no engine running, nothing owns the deploy's stacks: any here were left by a sandbox
  # that was killed, and their restart policy brought them back with root-owned bind mounts in
  # the next user's home. (With an engine already up, they may be another sandbox's.)
  # The fix it prints removes their volumes too: kept, a deploy here would take their data over.
  for project in md-app md-monitoring; do
    [ -z "$(docker ps -aq --filter "label=com.docker.compose.project=$project")" ] ||
      die "containers of the stack $project are on this machine, left by a sandbox that was not taken down: docker ps -aq --filter label=com.docker.compose.project=$project | xargs -r docker rm -f; docker volume ls -q --filter label=com.docker.compose.project=$project | xargs -r docker volume rm, then run this again"
  done
fi
docker ps -aq --no-trunc | sort > "$state/containers.before"
docker network ls -q --no-trunc | sort > "$state/networks.before"
docker volume ls -q | sort > "$state/volumes.before"
swapon --show=NAME --noheadings 2>/dev/null | sort > "$state/swaps.before"
cp /etc/fstab "$state/fstab.before"

if [ "$build_images" = 1 ]; then
  bash "$SANDBOX_HERE/build-images.sh" > "$SANDBOX_DIR/images.txt"
else
  [ -z "$images_file" ] || { cp "$images_file" "$SANDBOX_DIR/images.txt"; touch "$state/borrowed-images"; }
  [ -s "$SANDBOX_DIR/images.txt" ] || die "--no-images, but no $SANDBOX_DIR/images.txt from an earlier build (see --images-file)"
  while IFS== read -r _ image; do
    docker image inspect "$image" >/dev/null 2>&1 || die "--no-images, but image $image is missing"
  done < "$SANDBOX_DIR/images.txt"
fi

# --- the login user ------------------------------------------------------------------------------
if id "$SANDBOX_USER" >/dev/null 2>&1; then
  die "user $SANDBOX_USER already exists; the sandbox only removes a user it created"
fi
# A home without its user is what a killed sandbox leaves: start from an empty one.
[ ! -d "/home/$SANDBOX_USER" ] || { say "removing /home/$SANDBOX_USER, left by a sandbox that was not taken down"; rm -rf "/home/${SANDBOX_USER:?}"; }
useradd --create-home --shell /bin/bash "$SANDBOX_USER"
[ "$docker_group" = 1 ] && usermod -aG docker "$SANDBOX_USER"
usermod -p '*' "$SANDBOX_USER" # unlocked, but no password: sshd refuses keys for a locked account
if [ "$sudo" = 1 ]; then
  echo "$SANDBOX_USER ALL=(ALL) NOPASSWD:ALL" > /etc/sudoers.d/monitoring-deploy-sandbox-$SANDBOX_USER
  chmod 440 /etc/sudoers.d/monitoring-deploy-sandbox-$SANDBOX_USER
fi
home=$(getent passwd "$SANDBOX_USER" | cut -d: -f6)
set_path=
# The docker CLI looks for a plugin in the user's own ~/.docker/cli-plugins first, then in the
# system's (/usr/local/lib, /usr/local/libexec, /usr/lib, /usr/libexec: docker/cli-plugins), and
# runs the first file of the name it finds. A v2 host gets the sandbox's plugin there; the others
# get a file of that name that is no plugin (it answers no metadata), so `docker compose` says
# "'compose' is not a docker command" for this user alone, whatever plugin the machine has
# system-wide. Nothing outside the user's home changes.
install -d -o "$SANDBOX_USER" "$home/.docker" "$home/.docker/cli-plugins"
if [ "$compose" = v2 ]; then
  install -m 755 -o "$SANDBOX_USER" /root/.docker/cli-plugins/docker-compose "$home/.docker/cli-plugins/docker-compose"
else
  cat > "$home/.docker/cli-plugins/docker-compose" <<'HIDE'
#!/bin/sh
# test/sandbox/up.sh --compose v1|v1-old|none: not a Compose plugin. Being first in this user's
# plugin search and answering no metadata, it hides any Compose v2 plugin of the machine's.
exit 1
HIDE
  chmod 755 "$home/.docker/cli-plugins/docker-compose"
  # The user's own docker-compose, first on its PATH: Debian's v1, or none.
  install -d -o "$SANDBOX_USER" "$home/.sandbox-bin"
  case "$compose" in
    none) # A host without Compose: Debian's docker-compose (v1) is on this machine, so shadow it.
      printf '#!/bin/sh\necho "docker-compose: command not found" >&2\nexit 127\n' > "$home/.sandbox-bin/docker-compose" ;;
    v1-old) # A Compose v1 from before profiles (1.28): it says 1.27.4 and is otherwise the real v1.
      printf '#!/bin/sh\nif [ "$*" = "version --short" ]; then echo 1.27.4; exit 0; fi\nexec %s "$@"\n' "$compose_v1" > "$home/.sandbox-bin/docker-compose" ;;
    v1) printf '#!/bin/sh\nexec %s "$@"\n' "$compose_v1" > "$home/.sandbox-bin/docker-compose" ;;
  esac
  chmod 755 "$home/.sandbox-bin/docker-compose"
  set_path="SetEnv PATH=$home/.sandbox-bin:/usr/local/bin:/usr/bin:/bin"
fi

keys="$SANDBOX_DIR/keys"
ssh-keygen -q -t ed25519 -N '' -C sandbox-ed25519 -f "$keys/id_ed25519"
ssh-keygen -q -t ed25519 -N "$SANDBOX_KEY_PASSPHRASE" -C sandbox-ed25519-passphrase -f "$keys/id_ed25519_passphrase"
ssh-keygen -q -t rsa -b 3072 -N '' -C sandbox-rsa -f "$keys/id_rsa"
ssh-keygen -q -t ed25519 -N '' -C not-authorized -f "$keys/id_unauthorized"
install -d -m 700 -o "$SANDBOX_USER" "$home/.ssh"
cat "$keys/id_ed25519.pub" "$keys/id_ed25519_passphrase.pub" "$keys/id_rsa.pub" > "$home/.ssh/authorized_keys"
chown "$SANDBOX_USER" "$home/.ssh/authorized_keys" && chmod 600 "$home/.ssh/authorized_keys"

# --- sshd on 127.0.0.1 at a free port ------------------------------------------------------------
mkdir -p /run/sshd
ssh-keygen -q -t ed25519 -N '' -C sandbox-host -f "$keys/host_ed25519"
port=$(node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})')
sshd_config "$port" 127.0.0.1 "$keys/host_ed25519" "$SANDBOX_DIR/sshd.pid" "$SANDBOX_USER" > "$SANDBOX_DIR/sshd_config" <<CONF
Subsystem sftp /usr/lib/openssh/sftp-server
$set_path
CONF
/usr/sbin/sshd -f "$SANDBOX_DIR/sshd_config" -E "$SANDBOX_DIR/sshd.log"
for _ in $(seq 1 50); do [ -s "$SANDBOX_DIR/sshd.pid" ] && break; sleep 0.1; done
[ -s "$SANDBOX_DIR/sshd.pid" ] || die "sshd did not start; see $SANDBOX_DIR/sshd.log"
fingerprint=$(ssh-keygen -lf "$keys/host_ed25519.pub" | awk '{print $2}')
ssh-keyscan -p "$port" -t ed25519 127.0.0.1 2>/dev/null > "$SANDBOX_DIR/known_hosts"

# --- the Compose the login user sees, asked as a deploy asks it: over SSH -----------------------
# Their stderr goes to compose-check.log (Python's warnings, the CLI's "not a docker command").
as_user() {
  ssh -F /dev/null -i "$keys/id_ed25519" -o IdentitiesOnly=yes -o BatchMode=yes \
    -o UserKnownHostsFile="$SANDBOX_DIR/known_hosts" -o StrictHostKeyChecking=yes \
    -p "$port" "$SANDBOX_USER@127.0.0.1" "$@" 2>>"$SANDBOX_DIR/compose-check.log"
}
v2=$(as_user 'docker compose version --short') || v2=
v1=$(as_user 'docker-compose version --short') || v1=
# Without the docker group a deploy uses `sudo -n docker`, which is root's, with root's plugin.
sudo_v2=
[ "$docker_group" = 1 ] || [ "$sudo" = 0 ] || sudo_v2=$(as_user 'sudo -n docker compose version --short') || sudo_v2=
wrong=
case "$compose" in
  v2) [ -n "$v2" ] || wrong="\`docker compose version\` fails" ;;
  *)
    [ -z "$v2" ] || wrong="\`docker compose version\` still works ($v2): a Compose v2 plugin is not hidden from the user"
    [ -z "$sudo_v2" ] || wrong="${wrong:+$wrong; }\`sudo -n docker compose version\` works ($sudo_v2): without the docker group the user's docker is root's, with root's plugin"
    case "$compose:$v1" in
      v1:1.2[89].* | v1-old:1.27.4 | none:) ;;
      *) wrong="${wrong:+$wrong; }\`docker-compose version --short\` says ${v1:-nothing (it fails)}" ;;
    esac
    ;;
esac
if [ -n "$wrong" ]; then
  said=$(tr '\n' ' ' < "$SANDBOX_DIR/compose-check.log" 2>/dev/null | cut -c1-600)
  SANDBOX_DIR=$SANDBOX_DIR SANDBOX_USER=$SANDBOX_USER bash "$SANDBOX_HERE/down.sh"
  die "--compose $compose: $SANDBOX_USER sees the wrong Compose: $wrong (the sandbox is taken down again; the commands' stderr: ${said:-nothing})"
fi
say "$SANDBOX_USER sees: docker compose ${v2:-(none)}, docker-compose ${v1:-(none)}"

cat > "$SANDBOX_DIR/sandbox.env" <<ENV
SANDBOX_DIR=$SANDBOX_DIR
SANDBOX_HOST=127.0.0.1
SANDBOX_PORT=$port
SANDBOX_USER=$SANDBOX_USER
SANDBOX_HOME=$home
SANDBOX_COMPOSE=$compose
SANDBOX_FINGERPRINT=$fingerprint
SANDBOX_KNOWN_HOSTS=$SANDBOX_DIR/known_hosts
SANDBOX_KEY=$keys/id_ed25519
SANDBOX_KEY_PASSPHRASE_FILE=$keys/id_ed25519_passphrase
SANDBOX_KEY_PASSPHRASE=$SANDBOX_KEY_PASSPHRASE
SANDBOX_KEY_RSA=$keys/id_rsa
SANDBOX_KEY_UNAUTHORIZED=$keys/id_unauthorized
SANDBOX_IMAGES=$SANDBOX_DIR/images.txt
ENV
say "up: $SANDBOX_USER@127.0.0.1 port $port (compose $compose)"
say "host key fingerprint: $fingerprint"
echo "$fingerprint"
