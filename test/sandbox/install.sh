#!/usr/bin/env bash
# Installs what the sandbox needs on a Debian bookworm machine (as root). Idempotent.
. "$(dirname "$0")/lib.sh"

# docker-compose is Compose v1 (Python), for the Compose-v1-only host (up.sh --compose v1);
# netcat-openbsd (nc) is the proxy command of the proxy-command tests (nc %h %p, as OpenSSH users write it).
# age (1.1.1) decrypts a backup in the unit test that proves the archive is age's format; sqlite3 is
# the real SQLite a frozen writer's copy is checked with (test/unit/backup-sqlite.test.ts); script
# (bsdutils) gives age the terminal it reads a passphrase from.
packages=(docker.io docker-compose openssh-server openssh-client nginx-core busybox-static sudo iproute2 curl ca-certificates util-linux netcat-openbsd age sqlite3 bsdutils)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing+=("$p")
done
if [ "${#missing[@]}" -gt 0 ]; then
  say "installing ${missing[*]}"
  apt-get update -q
  # nginx-core without its service starting: the sandbox runs nginx only inside an image.
  DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends "${missing[@]}"
fi

mkdir -p "$SANDBOX_CACHE"
compose_dir=$(alt_suite_package trixie docker-compose)
prom_dir=$(alt_suite_package sid prometheus)
promtool_dir=$(alt_suite_package sid promtool)
nodeexp_dir=$(alt_suite_package sid prometheus-node-exporter)

# promtool on the PATH, for the tests that check rendered configs with the real tool.
ln -sf "$promtool_dir/usr/bin/promtool" /usr/local/bin/promtool

# The Compose v2 plugin goes in root's own plugin dir, not a system one, so that a sandbox
# login user can be made Compose-v1-only (see up.sh --compose v1).
mkdir -p /root/.docker/cli-plugins
install -m 755 "$compose_dir/usr/libexec/docker/cli-plugins/docker-compose" /root/.docker/cli-plugins/docker-compose

for pair in "prometheus:$prom_dir:3." "node-exporter:$nodeexp_dir:1." "promtool:$promtool_dir:3."; do
  IFS=: read -r what dir major <<<"$pair"
  v=$(cat "$dir/.version")
  case "$v" in
    "$major"*) say "$what $v" ;;
    *) die "$what from Debian sid is now $v; the sandbox expects ${major}x. Update test/sandbox for it." ;;
  esac
done
say "compose plugin $(cat "$compose_dir/.version")"
