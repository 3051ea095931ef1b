#!/bin/sh
# STAND-IN for the user's Spring Boot app (not Spring Boot). It mimics what the deploy checks:
# - Actuator-style Prometheus text on a private management port and path
#   (METRICS_PORT, METRICS_PATH; the seed's :19021/myendpoint/prometheus), sent with the
#   Content-Type real Actuator sends (Prometheus 3 rejects a blank one);
# - the public app port 8080;
# - Logback-style files under $LOG_DIR/{debug,info,warn,error}/, a line every few seconds (the
#   seed's logback-spring.xml); or, with LOGGING_FILE_PATH set, what Spring Boot's own default
#   file logging writes (logging.file.path): every level in one spring.log in that directory.
# Unhealthy on demand: `docker exec CONTAINER touch /tmp/unhealthy` makes the metrics endpoint
# answer 500 until the file is removed; UNHEALTHY_FROM_START=1 starts it that way (a new
# container that fails at once, while the one it replaced was healthy).
export METRICS_PORT=${METRICS_PORT:-19021}
export METRICS_PATH=${METRICS_PATH:-/myendpoint/prometheus}
export LOG_DIR=${LOG_DIR:-/app/logs}
export STARTED_AT=$(date +%s)

if [ -n "${LOGGING_FILE_PATH:-}" ]; then
  mkdir -p "$LOGGING_FILE_PATH"
else
  for level in debug info warn error; do mkdir -p "$LOG_DIR/$level"; done
fi

# One line of a level, where the app's logging setup puts it (Spring Boot's default level is INFO).
log() {
  if [ -z "${LOGGING_FILE_PATH:-}" ]; then echo "$2" >> "$LOG_DIR/$1/$1.log"
  elif [ "$1" != debug ]; then echo "$2" >> "$LOGGING_FILE_PATH/spring.log"; fi
}
[ -z "${UNHEALTHY_FROM_START:-}" ] || touch /tmp/unhealthy

log_loop() {
  n=0
  while :; do
    n=$((n + 1))
    now=$(date '+%Y-%m-%d %H:%M:%S.000')
    log debug "$now DEBUG 1 --- [main] c.e.App : debug tick $n"
    log info "$now INFO 1 --- [main] c.e.App : info tick $n"
    if [ $((n % 5)) -eq 0 ]; then
      log warn "$now WARN 1 --- [main] c.e.App : warn tick $n"
    fi
    if [ -f /tmp/log-error ]; then
      log error "$now ERROR 1 --- [main] c.e.App : error on demand $n"
    fi
    sleep "${LOG_INTERVAL:-3}"
  done
}

log_loop &
SERVED_PORT=8080 nc -ll -p 8080 -e /standin/app-handler.sh &
SERVED_PORT=$METRICS_PORT exec nc -ll -p "$METRICS_PORT" -e /standin/app-handler.sh
