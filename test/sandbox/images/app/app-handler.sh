#!/bin/sh
. /standin/http.sh
read_request

metrics() {
  uptime=$(( $(date +%s) - STARTED_AT ))
  cat <<METRICS
# HELP jvm_memory_used_bytes The amount of used memory
# TYPE jvm_memory_used_bytes gauge
jvm_memory_used_bytes{area="heap",id="G1 Eden Space"} 2.5165824E7
jvm_memory_used_bytes{area="nonheap",id="Metaspace"} 6.1234567E7
# HELP jvm_threads_live_threads The current number of live threads
# TYPE jvm_threads_live_threads gauge
jvm_threads_live_threads 23.0
# HELP jvm_gc_pause_seconds Time spent in GC pause
# TYPE jvm_gc_pause_seconds summary
jvm_gc_pause_seconds_count{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} $uptime
jvm_gc_pause_seconds_sum{action="end of minor GC",cause="G1 Evacuation Pause",gc="G1 Young Generation"} 0.05
# HELP process_cpu_usage The recent cpu usage for the JVM process
# TYPE process_cpu_usage gauge
process_cpu_usage 0.01
# HELP process_uptime_seconds The uptime of the Java virtual machine
# TYPE process_uptime_seconds gauge
process_uptime_seconds $uptime
# HELP http_server_requests_seconds Duration of HTTP server request handling
# TYPE http_server_requests_seconds summary
http_server_requests_seconds_count{method="GET",outcome="SUCCESS",status="200",uri="/"} $uptime
http_server_requests_seconds_sum{method="GET",outcome="SUCCESS",status="200",uri="/"} 0.3
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
