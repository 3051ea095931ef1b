#!/usr/bin/env bash
# Builds the sandbox's local images (there is no registry to pull from) and prints the
# `images` input lines (service=image) that point the default stack at them.
# Real software where Debian packages it (Prometheus, node-exporter, nginx); small stand-ins,
# tagged as such, for what no Debian package provides (the Spring Boot app, Loki, Promtail, Grafana).
. "$(dirname "$0")/lib.sh"
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

# Copies a dynamically linked binary's loader and libraries into the rootfs.
copy_libs() {
  local root=$1 bin=$2
  for lib in $(ldd "$bin" | grep -o '/[^ ]*'); do
    mkdir -p "$root$(dirname "$lib")"
    cp -L "$lib" "$root$lib"
  done
}

# import TAG ROOTFS CHANGE...
import_image() {
  local tag=$1 root=$2; shift 2
  local changes=()
  for c in "$@"; do changes+=(--change "$c"); done
  tar -C "$root" -c . | docker import "${changes[@]}" - "$tag" >/dev/null
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

# --- real software from Debian ---------------------------------------------------------------
prom_dir=$(alt_suite_package sid prometheus)
prom_version=$(sed 's/+.*//' "$prom_dir/.version")
root="$work/prometheus"; base_rootfs "$root"
cp "$prom_dir/usr/bin/prometheus" "$root/bin/prometheus"
copy_libs "$root" "$root/bin/prometheus"
mkdir -p "$root/etc/prometheus" "$root/prometheus"
printf 'global:\n  scrape_interval: 15s\n' > "$root/etc/prometheus/prometheus.yml"
PROMETHEUS_IMAGE="sandbox/prometheus:${prom_version}-debian"
import_image "$PROMETHEUS_IMAGE" "$root" 'ENTRYPOINT ["/bin/prometheus"]' \
  'CMD ["--config.file=/etc/prometheus/prometheus.yml", "--storage.tsdb.path=/prometheus"]' \
  'WORKDIR /prometheus' 'EXPOSE 9090'

ne_dir=$(alt_suite_package sid prometheus-node-exporter)
ne_version=$(sed 's/-.*//' "$ne_dir/.version")
root="$work/node-exporter"; base_rootfs "$root"
cp "$ne_dir/usr/bin/prometheus-node-exporter" "$root/bin/node_exporter"
copy_libs "$root" "$root/bin/node_exporter"
NODE_EXPORTER_IMAGE="sandbox/node-exporter:${ne_version}-debian"
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
NGINX_IMAGE="sandbox/nginx:${nginx_version}-debian"
import_image "$NGINX_IMAGE" "$root" 'CMD ["/usr/sbin/nginx", "-g", "daemon off;"]' 'EXPOSE 80'

# --- stand-ins ---------------------------------------------------------------------------------
APP_IMAGE=sandbox/app-standin:1
standin app "$APP_IMAGE" 'ENTRYPOINT ["/standin/app-standin.sh"]' 'WORKDIR /app' 'EXPOSE 8080 19021'
LOKI_IMAGE=sandbox/loki-standin:1
standin loki "$LOKI_IMAGE" 'ENTRYPOINT ["/standin/loki-standin.sh"]' 'CMD ["-config.file=/etc/loki/local-config.yaml"]' 'EXPOSE 3100'
PROMTAIL_IMAGE=sandbox/promtail-standin:1
standin promtail "$PROMTAIL_IMAGE" 'ENTRYPOINT ["/standin/promtail-standin.sh"]' 'CMD ["-config.file=/etc/promtail/config.yml"]' 'EXPOSE 9080'
GRAFANA_IMAGE=sandbox/grafana-standin:1
standin grafana "$GRAFANA_IMAGE" 'ENTRYPOINT ["/standin/grafana-standin.sh"]' 'EXPOSE 3000'

cat <<LINES
server=$APP_IMAGE
nginx=$NGINX_IMAGE
prometheus=$PROMETHEUS_IMAGE
node-exporter=$NODE_EXPORTER_IMAGE
loki=$LOKI_IMAGE
promtail=$PROMTAIL_IMAGE
grafana=$GRAFANA_IMAGE
LINES
