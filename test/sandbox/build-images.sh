#!/usr/bin/env bash
# Builds the sandbox's local images (there is no registry to pull from) and prints on stdout the
# deploy's `images` input: one service=image line per service of the default stack.
#
# What the images are:
#   prometheus, node-exporter, nginx  the real programs, from Debian packages;
#   loki, promtail                    the real programs, from the static binaries in the realbin
#                                     directory (see its README; sha256 checked): $SANDBOX_REALBIN, else
#                                     <repo>/../shared/realbin, else /work/shared/realbin. Without them,
#                                     shell STAND-INS are built instead, with a loud warning on stderr;
#   server, grafana                   STAND-INS (tagged *-standin): the user's Spring Boot app, and
#                                     Grafana's HTTP API for what the deploy checks (images/grafana/).
#
# Environment:
#   SANDBOX_IMAGE_NS=sandbox   namespace of the tags ($SANDBOX_IMAGE_NS/NAME:TAG)
#   SANDBOX_REALBIN=DIR        where loki.xz, promtail.xz and victoria-metrics.xz are
#   SANDBOX_YAML_DIR=DIR       the `yaml` npm package the Grafana stand-in parses provisioning with
#                              (default: resolved from the repository's node_modules)
#   SANDBOX_IMAGES=pull        where a registry is reachable: pull the real images the compose files pin
#                              (and VictoriaMetrics) instead of building; only the app stand-in is built
#
# Files written to $SANDBOX_DIR besides stdout (both service=image lines):
#   standins.txt      every service whose image is a stand-in, not the real program
#   extra-images.txt  images no compose file names, for tests that need them: victoria-metrics= the real
#                     VictoriaMetrics single node (Prometheus remote-write and query APIs, port 8428);
#                     discord= the Discord stand-in (webhook API over HTTPS, images/discord/)
. "$(dirname "$0")/lib.sh"

NS=${SANDBOX_IMAGE_NS:-sandbox}
REPO=$(cd "$SANDBOX_HERE/../.." && pwd)
VICTORIA_METRICS_VERSION=1.150.0 # what realbin's victoria-metrics.xz is; pulled as such in pull mode
mkdir -p "$SANDBOX_DIR"
STANDINS="$SANDBOX_DIR/standins.txt"
EXTRA="$SANDBOX_DIR/extra-images.txt"
: > "$STANDINS"
: > "$EXTRA"

docker_ready || die "the Docker engine does not answer (run up.sh, which starts it)"
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# A minimal root filesystem: busybox-static with its applets linked, users like the official images'.
base_rootfs() {
  local root=$1
  mkdir -p "$root"/{bin,etc,tmp,var/log,run,root}
  chmod 1777 "$root/tmp"
  cp /bin/busybox "$root/bin/busybox"
  for applet in $("$root/bin/busybox" --list); do
    [ -e "$root/bin/$applet" ] || ln -s busybox "$root/bin/$applet"
  done
  cat > "$root/etc/passwd" <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
nginx:x:101:101:nginx:/var/cache/nginx:/bin/false
www-data:x:33:33:www-data:/var/www:/bin/false
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
  cat > "$root/etc/group" <<'GROUP'
root:x:0:
www-data:x:33:
nginx:x:101:
nogroup:x:65534:
GROUP
  echo "hosts: files dns" > "$root/etc/nsswitch.conf"
}

# CA certificates and time zones, which Go programs (Loki, Promtail) read from the usual paths.
add_certs_and_zones() {
  local root=$1
  mkdir -p "$root/etc/ssl/certs" "$root/usr/share"
  cp /etc/ssl/certs/ca-certificates.crt "$root/etc/ssl/certs/"
  [ ! -d /usr/share/zoneinfo ] || cp -r /usr/share/zoneinfo "$root/usr/share/"
}

# Copies a dynamically linked binary's loader and libraries into the rootfs.
copy_libs() {
  local root=$1 bin=$2
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# import TAG ROOTFS CHANGE...   (file owners are kept by number: /loki belongs to uid 10001)
import_image() {
  local tag=$1 root=$2; shift 2
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  tar --numeric-owner -C "$root" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
  say "built $tag"
}

standin() {
  local name=$1 tag=$2; shift 2
  local root="$work/$name"
  base_rootfs "$root"
  mkdir -p "$root/standin"
  cp "$SANDBOX_HERE/images/standin-lib/http.sh" "$SANDBOX_HERE/images/$name/"*.sh "$root/standin/"
  chmod 755 "$root/standin/"*.sh
  import_image "$tag" "$root" "$@"
}

build_app_standin() {
  APP_IMAGE=$NS/app-standin:1
  standin app "$APP_IMAGE" 'ENTRYPOINT ["/standin/app-standin.sh"]' 'WORKDIR /app' 'EXPOSE 8080 19021'
  echo "server=$APP_IMAGE" >> "$STANDINS"
}

# --- SANDBOX_IMAGES=pull: the pinned real images, from a registry ---------------------------------
if [ "${SANDBOX_IMAGES:-}" = pull ]; then
  # service=image for each service of the compose files whose image is a literal (not ${APP_IMAGE}).
  pinned=$(awk '/^  [a-z][a-z0-9_-]*:[ \t]*$/ { svc = $1; sub(/:$/, "", svc) }
                /^    image:/ && $2 !~ /\$/ { print svc "=" $2 }' \
    "$REPO/compose/docker-compose-dev.yml" "$REPO/compose/docker-compose-dev-monitoring.yml")
  build_app_standin
  echo "server=$APP_IMAGE"
  for service in nginx prometheus node-exporter loki promtail grafana disk-guard; do
    image=$(sed -n "s/^$service=//p" <<<"$pinned" | head -n 1)
    [ -n "$image" ] || die "no pinned image for $service in compose/*.yml"
    docker pull -q "$image" >&2 || die "could not pull $image"
    echo "$service=$image"
  done
  vm=victoriametrics/victoria-metrics:v$VICTORIA_METRICS_VERSION
  docker pull -q "$vm" >&2 || die "could not pull $vm"
  echo "victoria-metrics=$vm" >> "$EXTRA"
  exit 0
fi

# --- real software from Debian ---------------------------------------------------------------
prom_dir=$(alt_suite_package sid prometheus)
prom_version=$(sed 's/+.*//' "$prom_dir/.version")
root="$work/prometheus"; base_rootfs "$root"
cp "$prom_dir/usr/bin/prometheus" "$root/bin/prometheus"
copy_libs "$root" "$root/bin/prometheus"
mkdir -p "$root/etc/prometheus" "$root/prometheus"
printf 'global:\n  scrape_interval: 15s\n' > "$root/etc/prometheus/prometheus.yml"
PROMETHEUS_IMAGE="$NS/prometheus:${prom_version}-debian"
import_image "$PROMETHEUS_IMAGE" "$root" 'ENTRYPOINT ["/bin/prometheus"]' \
  'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
  'WORKDIR /prometheus' 'EXPOSE 9090'

ne_dir=$(alt_suite_package sid prometheus-node-exporter)
ne_version=$(sed 's/-.*//' "$ne_dir/.version")
root="$work/node-exporter"; base_rootfs "$root"
cp "$ne_dir/usr/bin/prometheus-node-exporter" "$root/bin/node_exporter"
copy_libs "$root" "$root/bin/node_exporter"
NODE_EXPORTER_IMAGE="$NS/node-exporter:${ne_version}-debian"
import_image "$NODE_EXPORTER_IMAGE" "$root" 'ENTRYPOINT ["/bin/node_exporter"]' 'EXPOSE 9100'

nginx_version=$(/usr/sbin/nginx -v 2>&1 | sed 's/.*nginx\///')
root="$work/nginx"; base_rootfs "$root"
mkdir -p "$root/usr/sbin" "$root/etc/nginx" "$root/var/lib/nginx" "$root/var/log/nginx" "$root/var/cache/nginx" "$root/usr/share/nginx/html"
cp /usr/sbin/nginx "$root/usr/sbin/nginx"
copy_libs "$root" /usr/sbin/nginx
cp /etc/nginx/mime.types "$root/etc/nginx/mime.types"
cat > "$root/etc/nginx/nginx.conf" <<'CONF'
user nginx;
events {}
http {
  include /etc/nginx/mime.types;
  server { listen 80; root /usr/share/nginx/html; }
}
CONF
echo 'nginx from Debian, sandbox image' > "$root/usr/share/nginx/html/index.html"
NGINX_IMAGE="$NS/nginx:${nginx_version}-debian"
import_image "$NGINX_IMAGE" "$root" 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]' 'EXPOSE 80'

# busybox for disk-guard: the real busybox (Debian's busybox-static), as busybox:1.37.0 runs it.
# (busybox without an applet prints its banner and exits 1)
busybox_version=$( (/bin/busybox 2>&1 || true) | sed -n '1s/^BusyBox v\([0-9.]*\).*/\1/p')
[ -n "$busybox_version" ] || die "no BusyBox version from /bin/busybox (package busybox-static)"
root="$work/busybox"; base_rootfs "$root"
BUSYBOX_IMAGE="$NS/busybox:${busybox_version}-debian"
import_image "$BUSYBOX_IMAGE" "$root" 'CMD ["sh"]'

# --- real Loki, Promtail and VictoriaMetrics from realbin ------------------------------------------
realbin=
for dir in ${SANDBOX_REALBIN:+"$SANDBOX_REALBIN"} "$REPO/../shared/realbin" /work/shared/realbin; do
  if [ -d "$dir" ]; then realbin=$(cd "$dir" && pwd); break; fi
done

# realbin_binary NAME: unpacks $realbin/NAME.xz into $work/NAME after checking the sha256 that
# realbin's README lists for it; prints the path, or nothing when there is no such file.
realbin_binary() {
  local name=$1 expected actual
  [ -n "$realbin" ] && [ -f "$realbin/$name.xz" ] || return 0
  expected=$(awk -F'|' -v f="$name.xz" '$2 ~ "^ *" f " *$" { gsub(/[ \t]/, "", $4); print $4 }' "$realbin/README.md" 2>/dev/null)
  [ -n "$expected" ] || die "$realbin/README.md lists no sha256 for $name.xz"
  xz -dc "$realbin/$name.xz" > "$work/$name"
  actual=$(sha256sum "$work/$name" | cut -d' ' -f1)
  [ "$actual" = "$expected" ] || die "$name from $realbin/$name.xz has sha256 $actual, its README says $expected"
  chmod 755 "$work/$name"
  echo "$work/$name"
}

loki_bin=$(realbin_binary loki)
if [ -n "$loki_bin" ]; then
  loki_version=$("$loki_bin" -version | sed -n 's/^loki, version \([^ ]*\).*/\1/p')
  root="$work/loki-root"; base_rootfs "$root"; add_certs_and_zones "$root"
  echo 'loki:x:10001:10001:loki:/loki:/bin/false' >> "$root/etc/passwd"
  echo 'loki:x:10001:' >> "$root/etc/group"
  mkdir -p "$root/usr/bin" "$root/etc/loki" "$root/loki/rules" "$root/loki/rules-temp"
  cp "$loki_bin" "$root/usr/bin/loki"
  # Like the official image's default: single binary, TSDB schema v13 on the filesystem under /loki.
  cat > "$root/etc/loki/local-config.yaml" <<'CONF'
auth_enabled: false

server:
  http_listen_port: 3100
  grpc_listen_port: 9096

common:
  instance_addr: 127.0.0.1
  path_prefix: /loki
  storage:
    filesystem:
      chunks_directory: /loki/chunks
      rules_directory: /loki/rules
  replication_factor: 1
  ring:
    kvstore:
      store: inmemory

schema_config:
  configs:
    - from: 2024-01-01
      store: tsdb
      object_store: filesystem
      schema: v13
      index:
        prefix: index_
        period: 24h

ruler:
  alertmanager_url: http://localhost:9093

# The sandbox has no Internet: no usage reports to stats.grafana.org.
analytics:
  reporting_enabled: false
CONF
  "$loki_bin" -verify-config -config.file="$root/etc/loki/local-config.yaml" >/dev/null 2>&1 ||
    die "Loki $loki_version rejects the image's default config"
  chown -R 10001:10001 "$root/etc/loki" "$root/loki"
  LOKI_IMAGE="$NS/loki:${loki_version}-realbin"
  import_image "$LOKI_IMAGE" "$root" 'ENTRYPOINT ["/usr/bin/loki"]' 'CMD ["-config.file=/etc/loki/local-config.yaml"]' \
    'USER 10001' 'EXPOSE 3100'
else
  LOKI_IMAGE=$NS/loki-standin:1
  standin loki "$LOKI_IMAGE" 'ENTRYPOINT ["/standin/loki-standin.sh"]' 'CMD ["-config.file=/etc/loki/local-config.yaml"]' 'EXPOSE 3100'
  echo "loki=$LOKI_IMAGE" >> "$STANDINS"
fi

promtail_bin=$(realbin_binary promtail)
if [ -n "$promtail_bin" ]; then
  promtail_version=$("$promtail_bin" -version | sed -n 's/^promtail, version \([^ ]*\).*/\1/p')
  root="$work/promtail-root"; base_rootfs "$root"; add_certs_and_zones "$root"
  mkdir -p "$root/usr/bin" "$root/etc/promtail"
  cp "$promtail_bin" "$root/usr/bin/promtail"
  cat > "$root/etc/promtail/config.yml" <<'CONF'
server:
  http_listen_port: 9080
  grpc_listen_port: 0

positions:
  filename: /tmp/positions.yaml

clients:
  - url: http://loki:3100/loki/api/v1/push

scrape_configs:
  - job_name: system
    static_configs:
      - targets: [localhost]
        labels:
          job: varlogs
          __path__: /var/log/*log
CONF
  "$promtail_bin" -check-syntax -config.file="$root/etc/promtail/config.yml" >/dev/null 2>&1 ||
    die "Promtail $promtail_version rejects the image's default config"
  PROMTAIL_IMAGE="$NS/promtail:${promtail_version}-realbin"
  import_image "$PROMTAIL_IMAGE" "$root" 'ENTRYPOINT ["/usr/bin/promtail"]' 'CMD ["-config.file=/etc/promtail/config.yml"]' \
    'EXPOSE 9080'
else
  PROMTAIL_IMAGE=$NS/promtail-standin:1
  standin promtail "$PROMTAIL_IMAGE" 'ENTRYPOINT ["/standin/promtail-standin.sh"]' 'CMD ["-config.file=/etc/promtail/config.yml"]' 'EXPOSE 9080'
  echo "promtail=$PROMTAIL_IMAGE" >> "$STANDINS"
fi

if [ -z "$loki_bin" ] || [ -z "$promtail_bin" ]; then
  cat >&2 <<WARN

********************************************************************************************
*** WARNING: Loki/Promtail are STAND-INS (shell scripts), NOT the real programs:
***   $(grep -E '^(loki|promtail)=' "$STANDINS" | tr '\n' ' ')
*** ${realbin:+No loki.xz / promtail.xz in $realbin.}${realbin:-No realbin directory (SANDBOX_REALBIN, $REPO/../shared/realbin, /work/shared/realbin).}
*** Tests against them do not show what the real Loki and Promtail do.
********************************************************************************************

WARN
fi

vm_bin=$(realbin_binary victoria-metrics)
if [ -n "$vm_bin" ]; then
  vm_version=$("$vm_bin" -version | sed -n 's/^victoria-metrics-v\([0-9.]*\).*/\1/p')
  root="$work/vm-root"; base_rootfs "$root"; add_certs_and_zones "$root"
  cp "$vm_bin" "$root/victoria-metrics-prod"
  VM_IMAGE="$NS/victoria-metrics:${vm_version}-realbin"
  import_image "$VM_IMAGE" "$root" 'ENTRYPOINT ["/victoria-metrics-prod"]' 'CMD ["-storageDataPath=/victoria-metrics-data"]' \
    'WORKDIR /' 'EXPOSE 8428'
  echo "victoria-metrics=$VM_IMAGE" >> "$EXTRA"
else
  say "no victoria-metrics.xz in realbin: no VictoriaMetrics image (extra-images.txt stays empty)"
fi

# --- stand-ins ---------------------------------------------------------------------------------
build_app_standin

# Discord: its webhook API over HTTPS (images/discord/), Node as in the Grafana stand-in. A CA made
# here signs its certificate for the Docker bridge's gateway address (where the host and, through
# their gateway, the stack's containers reach a container on the host's network); the Grafana
# stand-in trusts that CA through its system bundle, the deploy through NODE_EXTRA_CA_CERTS.
gateway=$(docker network inspect bridge -f '{{range .IPAM.Config}}{{.Gateway}}{{end}}')
[ -n "$gateway" ] || die "the Docker engine's bridge network has no gateway address (for the Discord stand-in's certificate)"
root="$work/discord"; base_rootfs "$root"
mkdir -p "$root/standin" "$root/usr/bin"
cp "$(command -v node)" "$root/usr/bin/node"
copy_libs "$root" "$root/usr/bin/node"
cp "$SANDBOX_HERE/images/discord/discord-standin.js" "$root/standin/"
openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj '/CN=monitoring-deploy sandbox CA' \
  -keyout "$work/discord-ca.key" -out "$root/standin/ca.pem" 2>/dev/null
openssl req -newkey rsa:2048 -nodes -subj '/CN=discord.sandbox' -keyout "$root/standin/key.pem" \
  -out "$work/discord.csr" 2>/dev/null
printf 'subjectAltName=IP:%s,IP:127.0.0.1,DNS:discord.sandbox\n' "$gateway" > "$work/discord.ext"
openssl x509 -req -in "$work/discord.csr" -CA "$root/standin/ca.pem" -CAkey "$work/discord-ca.key" -CAcreateserial \
  -days 30 -extfile "$work/discord.ext" -out "$root/standin/cert.pem" 2>/dev/null
chmod 644 "$root/standin/"*.pem
DISCORD_IMAGE=$NS/discord-standin:1
import_image "$DISCORD_IMAGE" "$root" 'ENTRYPOINT ["/usr/bin/node", "/standin/discord-standin.js"]' \
  'ENV CERT=/standin/cert.pem' 'ENV KEY=/standin/key.pem' "ENV SANDBOX_GATEWAY=$gateway"
echo "discord=$DISCORD_IMAGE" >> "$EXTRA"

# Grafana: run.sh (the official image's entrypoint steps), `grafana` (server and cli), the stand-in
# itself (Node, this machine's binary) and the `yaml` package it parses provisioning files with.
yaml_dir=${SANDBOX_YAML_DIR:-}
[ -n "$yaml_dir" ] ||
  yaml_dir=$(cd "$REPO" && node -p 'require("path").dirname(require.resolve("yaml/package.json"))' 2>/dev/null) || true
[ -n "$yaml_dir" ] && [ -f "$yaml_dir/dist/index.js" ] ||
  die "no yaml package for the Grafana stand-in: run npm ci in $REPO (or set SANDBOX_YAML_DIR)"
root="$work/grafana"; base_rootfs "$root"; add_certs_and_zones "$root"
echo 'grafana:x:472:0:grafana:/usr/share/grafana:/bin/false' >> "$root/etc/passwd"
standin_dir="$root/usr/share/grafana/standin"
mkdir -p "$standin_dir/node_modules/yaml" "$root/usr/share/grafana/bin" "$root/usr/bin" "$root/etc/grafana/provisioning" \
  "$root/var/lib/grafana" "$root/var/log/grafana"
cp "$(command -v node)" "$root/usr/bin/node"
copy_libs "$root" "$root/usr/bin/node"
cp -r "$yaml_dir/package.json" "$yaml_dir/LICENSE" "$yaml_dir/dist" "$standin_dir/node_modules/yaml/"
cp "$SANDBOX_HERE/images/grafana/grafana-standin.js" "$standin_dir/"
install -m 755 "$SANDBOX_HERE/images/grafana/run.sh" "$root/run.sh"
install -m 755 "$SANDBOX_HERE/images/grafana/grafana" "$root/usr/share/grafana/bin/grafana"
printf '#!/bin/sh\nexec grafana cli "$@"\n' > "$root/usr/share/grafana/bin/grafana-cli"
chmod 755 "$root/usr/share/grafana/bin/grafana-cli"
printf '; Grafana STAND-IN: this file is not read; settings come from GF_* variables.\n' > "$root/etc/grafana/grafana.ini"
chown -R 472:0 "$root/var/lib/grafana" "$root/var/log/grafana"
# The sandbox's Discord stand-in is signed by the sandbox CA: in Grafana's system bundle, as a CA a
# company installs on its hosts would be.
cat "$work/discord/standin/ca.pem" >> "$root/etc/ssl/certs/ca-certificates.crt"
GRAFANA_IMAGE=$NS/grafana-standin:1
import_image "$GRAFANA_IMAGE" "$root" 'ENTRYPOINT ["/run.sh"]' 'USER 472' 'WORKDIR /usr/share/grafana' 'EXPOSE 3000' \
  'ENV PATH=/usr/share/grafana/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
  'ENV GF_PATHS_CONFIG=/etc/grafana/grafana.ini' 'ENV GF_PATHS_DATA=/var/lib/grafana' 'ENV GF_PATHS_HOME=/usr/share/grafana' \
  'ENV GF_PATHS_LOGS=/var/log/grafana' 'ENV GF_PATHS_PLUGINS=/var/lib/grafana/plugins' \
  'ENV GF_PATHS_PROVISIONING=/etc/grafana/provisioning'
echo "grafana=$GRAFANA_IMAGE" >> "$STANDINS"

cat <<LINES
server=$APP_IMAGE
nginx=$NGINX_IMAGE
prometheus=$PROMETHEUS_IMAGE
node-exporter=$NODE_EXPORTER_IMAGE
loki=$LOKI_IMAGE
promtail=$PROMTAIL_IMAGE
grafana=$GRAFANA_IMAGE
disk-guard=$BUSYBOX_IMAGE
LINES
