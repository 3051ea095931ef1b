# Shared by the sandbox scripts. The sandbox is a throwaway "dev server" on this machine:
# sshd on 127.0.0.1, a non-root login user in the docker group with passwordless sudo, the
# machine's Docker engine with Compose, and local images for every service of the default stack.
set -euo pipefail

SANDBOX_DIR=${SANDBOX_DIR:-/var/tmp/monitoring-deploy-sandbox}
SANDBOX_CACHE=${SANDBOX_CACHE:-/var/cache/monitoring-deploy-sandbox}
SANDBOX_USER=${SANDBOX_USER:-ec2-user}
SANDBOX_KEY_PASSPHRASE=${SANDBOX_KEY_PASSPHRASE:-sandbox-passphrase}
SANDBOX_HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

say() { printf '[sandbox] %s\n' "$*" >&2; }
die() { printf '[sandbox] error: %s\n' "$*" >&2; exit 1; }

# Debian's archive for a suite other than this machine's, without touching the system's apt
# sources: the Compose v2 plugin (trixie) and Prometheus 3 / node-exporter (sid) live there.
alt_suite_apt() {
  local suite=$1; shift
  local dir="$SANDBOX_CACHE/apt-$suite"
  if [ ! -f "$dir/sources.list" ]; then
    local uri
    uri=$(awk '/^URIs:/{print $2; exit}' /etc/apt/sources.list.d/debian.sources 2>/dev/null || true)
    [ -n "$uri" ] || uri=$(awk '/^deb /{print $2; exit}' /etc/apt/sources.list)
    mkdir -p "$dir/lists/partial"
    echo "deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] $uri $suite main" > "$dir/sources.list"
  fi
  apt-get -q -oDir::Etc::SourceList="$dir/sources.list" -oDir::Etc::SourceParts=/dev/null \
    -oDir::State::Lists="$dir/lists" -oAPT::Sandbox::User=root "$@"
}

# Extract a package from another suite into $SANDBOX_CACHE/pkg/NAME; prints that directory.
alt_suite_package() {
  local suite=$1 name=$2 out="$SANDBOX_CACHE/pkg/$2"
  if [ ! -f "$out/.done" ]; then
    [ -n "$(ls "$SANDBOX_CACHE/apt-$suite/lists/" 2>/dev/null | grep -v partial)" ] || alt_suite_apt "$suite" update >&2
    rm -rf "$out" && mkdir -p "$out"
    (cd "$SANDBOX_CACHE" && alt_suite_apt "$suite" download "$name" >&2)
    dpkg -x "$SANDBOX_CACHE/${name}"_*.deb "$out"
    dpkg-deb -f "$SANDBOX_CACHE/${name}"_*.deb Version > "$out/.version"
    touch "$out/.done"
  fi
  echo "$out"
}

docker_ready() { docker info >/dev/null 2>&1; }

# An sshd_config for a sandbox host: key logins only, for one user. Extra lines follow on stdin.
# Usage: sshd_config PORT ADDRESS HOSTKEY PIDFILE USER < extra-lines
sshd_config() {
  cat <<CONF
Port $1
ListenAddress $2
HostKey $3
PidFile $4
AllowUsers $5
PasswordAuthentication no
KbdInteractiveAuthentication no
PubkeyAuthentication yes
StrictModes no
MaxStartups 50
MaxSessions 50
CONF
  cat
}
