#!/bin/sh
. /standin/http.sh
read_request

# The le bounds Micrometer publishes for a Timer with percentiles-histogram on: its
# PercentileHistogramBuckets (powers of 4 in nanoseconds, each split in thirds) between the Timer
# builder's minimum and maximum expected values (1 ms, 30 s), and those two themselves
# (DistributionStatisticConfig.getHistogramBuckets), in seconds as Java prints a double.
timer_bounds() {
  awk 'BEGIN {
    lo = 1e6; hi = 3e10; n = 0
    b[n++] = lo; b[n++] = hi
    for (pow4 = 4; pow4 <= hi; pow4 *= 4) {
      cur = pow4; delta = int(cur / 3); nxt = cur * 4 - delta
      for (; cur < nxt && cur <= hi; cur += delta) if (cur > lo) b[n++] = cur
    }
    for (i = 0; i < n; i++) for (j = i + 1; j < n; j++) if (b[j] < b[i]) { t = b[i]; b[i] = b[j]; b[j] = t }
    for (i = 0; i < n; i++) {
      s = sprintf("%.9f", b[i] / 1e9); sub(/0+$/, "", s); sub(/\.$/, ".0", s); print s
    }
  }'
}

# One GET / every second since the start, each taking 3 ms: the Timer's series as Micrometer's
# Prometheus registry writes them. With the histogram on (the variable Spring Boot binds to
# management.metrics.distribution.percentiles-histogram.http.server.requests) it is a histogram
# with a _bucket per bound; without it a summary, _count and _sum only. Either way a _max gauge.
http_timer() {
  tags='error="none",exception="none",method="GET",outcome="SUCCESS",status="200",uri="/"'
  echo "# HELP http_server_requests_seconds Duration of HTTP server request handling"
  if [ "${MANAGEMENT_METRICS_DISTRIBUTION_PERCENTILESHISTOGRAM_HTTP_SERVER_REQUESTS:-}" = true ]; then
    echo "# TYPE http_server_requests_seconds histogram"
    { timer_bounds; echo +Inf; } | awk -v tags="$tags" -v n="$1" \
      '{ printf "http_server_requests_seconds_bucket{%s,le=\"%s\"} %s\n", tags, $1, ($1 == "+Inf" || $1 + 0 >= 0.003) ? n : 0 }'
  else
    echo "# TYPE http_server_requests_seconds summary"
  fi
  echo "http_server_requests_seconds_count{$tags} $1"
  echo "http_server_requests_seconds_sum{$tags} $(awk -v n="$1" 'BEGIN { print n * 0.003 }')"
  echo "# HELP http_server_requests_seconds_max Duration of HTTP server request handling"
  echo "# TYPE http_server_requests_seconds_max gauge"
  echo "http_server_requests_seconds_max{$tags} 0.003"
}

metrics() {
  uptime=$(( $(date +%s) - STARTED_AT ))
  cat <<METRICS
# HELP jvm_memory_used_bytes The amount of used memory
# TYPE jvm_memory_used_bytes gauge
jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 2.5165824E7
jvm_memory_used_bytes{area="heap",id="G1 Old Gen"} 1.8874368E7
jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 6.1234567E7
jvm_memory_used_bytes{area="nonheap",id="CodeCache"} 1.2582912E7
# HELP jvm_memory_max_bytes The maximum amount of memory in bytes that can be used for memory management
# TYPE jvm_memory_max_bytes gauge
jvm_memory_max_bytes{area="heap",id="G1 Eden Space"} -1.0
jvm_memory_max_bytes{area="heap",id="G1 Old Gen"} 2.68435456E8
jvm_memory_max_bytes{area="nonheap",id="Metaspace"} -1.0
jvm_memory_max_bytes{area="nonheap",id="CodeCache"} 5.0331648E7
# HELP jvm_threads_live_threads The current number of live threads including both daemon and non-daemon threads
# TYPE jvm_threads_live_threads gauge
jvm_threads_live_threads 23.0
# HELP jvm_threads_daemon_threads The current number of live daemon threads
# TYPE jvm_threads_daemon_threads gauge
jvm_threads_daemon_threads 19.0
# HELP jvm_gc_pause_seconds Time spent in GC pause
# TYPE jvm_gc_pause_seconds summary
jvm_gc_pause_seconds_count{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} $uptime
jvm_gc_pause_seconds_sum{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} 0.05
# HELP process_cpu_usage The recent cpu usage for the JVM process
# TYPE process_cpu_usage gauge
process_cpu_usage 0.01
# HELP system_cpu_usage The recent cpu usage of the system the application is running in
# TYPE system_cpu_usage gauge
system_cpu_usage 0.05
# HELP process_uptime_seconds The uptime of the Java virtual machine
# TYPE process_uptime_seconds gauge
process_uptime_seconds $uptime
$(http_timer "$uptime")
# HELP logback_events_total Number of log events that were enabled by the effective log level
# TYPE logback_events_total counter
logback_events_total{level="info"} $uptime
logback_events_total{level="error"} 0.0
METRICS
}

# Like Actuator with management.server.port: the metrics path exists only on the management port.
route="$REQUEST_METHOD $REQUEST_PATH"
[ "$SERVED_PORT" = "$METRICS_PORT" ] || route="app $route"

case "$route" in
  "GET $METRICS_PATH")
    if [ -f /tmp/unhealthy ]; then
      respond "500 Internal Server Error" "application/json" '{"status":500,"error":"Internal Server Error"}'
    else
      respond "200 OK" "text/plain;version=0.0.4;charset=utf-8" "$(metrics)
"
    fi ;;
  "app GET /")
    respond "200 OK" "text/plain" "app stand-in: hello
" ;;
  *)
    respond "404 Not Found" "application/json" '{"status":404,"error":"Not Found"}' ;;
esac
