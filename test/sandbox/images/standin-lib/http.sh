# Sourced by the sandbox stand-ins' request handlers (busybox `nc -ll -e`): one request per process.
# A handler must read the request headers up to the blank line before it answers, or the client
# sees a connection reset.

read_request() {
  IFS=' ' read -r REQUEST_METHOD REQUEST_TARGET _ || exit 0
  REQUEST_PATH=${REQUEST_TARGET%%\?*}
  CONTENT_LENGTH=0
  while IFS= read -r line; do
    line=$(printf '%s' "$line" | tr -d '\r')
    [ -z "$line" ] && break
    case "$line" in
      [Cc]ontent-[Ll]ength:*) CONTENT_LENGTH=$(printf '%s' "${line#*:}" | tr -d ' ') ;;
    esac
  done
  REQUEST_BODY=
  if [ "${CONTENT_LENGTH:-0}" -gt 0 ] 2>/dev/null; then
    REQUEST_BODY=$(head -c "$CONTENT_LENGTH")
  fi
}

# respond STATUS CONTENT_TYPE BODY
respond() {
  body=$3
  printf 'HTTP/1.1 %s\r\nContent-Type: %s\r\nContent-Length: %s\r\nConnection: close\r\n\r\n%s' \
    "$1" "$2" "${#body}" "$body"
}
