#!/usr/bin/env bash
# Starts the local stack: one Apache Kafka node (KRaft) and InfluxDB 1.x, on 127.0.0.1.
# Idempotent: services already up are left alone. Ready means a real probe answered
# (a Kafka metadata request, InfluxDB's /ping), within AESTREAM_STACK_TIMEOUT seconds.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need() {
  command -v "$1" >/dev/null 2>&1 || fail "$1 is not on PATH. $2"
}

resolve_kafka_libs() {
  # The pom's hash marks the resolved set, so a version bump re-resolves.
  local stamp
  stamp=$(sha256sum "$STACK_HOME/pom.xml" | cut -c1-16)
  if [[ -f $AESTREAM_KAFKA_LIBS/.resolved-$stamp ]]; then
    return 0
  fi
  need mvn "Install Maven (Debian: apt-get install maven) to resolve the Kafka broker from Maven Central."
  say "resolving Apache Kafka from Maven Central into $AESTREAM_KAFKA_LIBS (once per machine)"
  local tmp="$AESTREAM_KAFKA_LIBS.tmp.$$"
  rm -rf "$tmp"
  if ! mvn -q -B -f "$STACK_HOME/pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$AESTREAM_STACK_DIR/mvn.log" 2>&1; then
    show_tail "$AESTREAM_STACK_DIR/mvn.log"
    fail "mvn could not resolve the Kafka broker artifacts (log above)."
  fi
  rm -rf "$AESTREAM_KAFKA_LIBS"
  mkdir -p "$(dirname "$AESTREAM_KAFKA_LIBS")"
  mv "$tmp" "$AESTREAM_KAFKA_LIBS"
  touch "$AESTREAM_KAFKA_LIBS/.resolved-$stamp"
}

ensure_influxd() {
  command -v influxd >/dev/null 2>&1 && return 0
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null 2>&1; then
    say "influxd is missing: installing Debian's influxdb package"
    # The package must not start its own service on 8086: we start influxd ourselves.
    if ! DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends influxdb \
      >"$AESTREAM_STACK_DIR/apt.log" 2>&1; then
      DEBIAN_FRONTEND=noninteractive apt-get update >>"$AESTREAM_STACK_DIR/apt.log" 2>&1 || true
      DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends influxdb \
        >>"$AESTREAM_STACK_DIR/apt.log" 2>&1 || {
        show_tail "$AESTREAM_STACK_DIR/apt.log"
        fail "could not install influxdb with apt-get (log above)."
      }
    fi
    # A package install may start the service through its init script; ours must own the port.
    pkill -x influxd 2>/dev/null || true
    return 0
  fi
  fail "influxd is not on PATH. Install InfluxDB 1.x (Debian: sudo apt-get install influxdb) and run this again."
}

# spawn PIDFILE LOGFILE CMD...: runs CMD in its own session (it outlives the calling shell
# and its process group) and records the pid of CMD itself.
spawn() {
  local pidfile=$1 logfile=$2
  shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$logfile" 2>&1 </dev/null &
  local i
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.1
  done
  fail "could not start $3"
}

start_kafka() {
  if is_running "$KAFKA_PID"; then
    say "kafka already running (pid $(cat "$KAFKA_PID"))"
    return 0
  fi
  if probe_kafka; then
    fail "a Kafka broker that this stack did not start answers at $KAFKA_BROKERS (another work folder's stack?): stop it, or set AESTREAM_KAFKA_PORT and AESTREAM_KAFKA_CONTROLLER_PORT"
  fi
  mkdir -p "$KAFKA_DIR/data" "$KAFKA_DIR/logs"
  local cfg="$KAFKA_DIR/server.properties"
  cp "$STACK_HOME/server.properties" "$cfg"
  cat >>"$cfg" <<PROPS

# Appended by stack-up.sh for this work folder.
controller.quorum.voters=1@127.0.0.1:$AESTREAM_KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://127.0.0.1:$AESTREAM_KAFKA_PORT,CONTROLLER://127.0.0.1:$AESTREAM_KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://127.0.0.1:$AESTREAM_KAFKA_PORT
log.dirs=$KAFKA_DIR/data
PROPS
  local cp="$AESTREAM_KAFKA_LIBS/*"
  local jvm=(-Djava.awt.headless=true "-Dlog4j.configuration=file:$STACK_HOME/log4j.properties"
    "-Dkafka.log.dir=$KAFKA_DIR/logs")
  if [[ ! -f $KAFKA_DIR/data/meta.properties ]]; then
    local cluster_id
    cluster_id=$(new_cluster_id)
    java -Xmx256m "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format \
      -t "$cluster_id" -c "$cfg" --ignore-formatted >"$KAFKA_DIR/format.log" 2>&1 || {
      show_tail "$KAFKA_DIR/format.log"
      fail "kafka.tools.StorageTool could not format $KAFKA_DIR/data"
    }
  fi
  # shellcheck disable=SC2086 # the heap setting is a list of JVM flags
  spawn "$KAFKA_PID" "$KAFKA_STDOUT" java $AESTREAM_KAFKA_HEAP -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
    "${jvm[@]}" -cp "$cp" kafka.Kafka "$cfg"
  say "kafka starting (pid $(cat "$KAFKA_PID")) on $KAFKA_BROKERS"
}

start_influx() {
  if is_running "$INFLUX_PID"; then
    say "influxdb already running (pid $(cat "$INFLUX_PID"))"
    return 0
  fi
  if probe_influx; then
    fail "an InfluxDB that this stack did not start answers at $INFLUX_URL (another work folder's stack?): stop it, or set AESTREAM_INFLUX_PORT and AESTREAM_INFLUX_RPC_PORT"
  fi
  mkdir -p "$INFLUX_DIR/meta" "$INFLUX_DIR/data" "$INFLUX_DIR/wal"
  spawn "$INFLUX_PID" "$INFLUX_LOG" env \
    INFLUXDB_META_DIR="$INFLUX_DIR/meta" \
    INFLUXDB_DATA_DIR="$INFLUX_DIR/data" \
    INFLUXDB_DATA_WAL_DIR="$INFLUX_DIR/wal" \
    INFLUXDB_HTTP_BIND_ADDRESS="127.0.0.1:$AESTREAM_INFLUX_PORT" \
    INFLUXDB_BIND_ADDRESS="127.0.0.1:$AESTREAM_INFLUX_RPC_PORT" \
    INFLUXDB_REPORTING_DISABLED=true \
    INFLUXDB_HTTP_LOG_ENABLED=false \
    INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
    INFLUXDB_MONITOR_STORE_ENABLED=false \
    influxd run
  say "influxdb starting (pid $(cat "$INFLUX_PID")) on $INFLUX_URL"
}

# wait_ready NAME PIDFILE PROBE LOG...: until the probe answers, the process dies, or the deadline.
wait_ready() {
  local name=$1 pidfile=$2 probe=$3
  shift 3
  local deadline=$((SECONDS + AESTREAM_STACK_TIMEOUT))
  until $probe; do
    if ! is_running "$pidfile"; then
      show_tail "$@"
      fail "$name exited during start-up (log above)"
    fi
    if ((SECONDS >= deadline)); then
      show_tail "$@"
      fail "$name was not ready within ${AESTREAM_STACK_TIMEOUT}s (log above); npm run stack:down stops it"
    fi
    sleep 0.2
  done
}

main() {
  mkdir -p "$AESTREAM_STACK_DIR"
  need java "Install a Java 17+ runtime (Debian: apt-get install openjdk-17-jre-headless) to run the Kafka broker."
  need node "Node.js 20+ runs the readiness probe."
  need curl "curl probes InfluxDB's /ping (Debian: apt-get install curl)."
  [[ -d $REPO_ROOT/node_modules/kafkajs ]] || fail "node_modules is missing: run npm ci first."
  local started=$SECONDS
  resolve_kafka_libs
  ensure_influxd
  start_kafka
  start_influx
  wait_ready influxdb "$INFLUX_PID" probe_influx "$INFLUX_LOG"
  wait_ready kafka "$KAFKA_PID" probe_kafka "$KAFKA_STDOUT" "$KAFKA_LOG"
  local influx_version
  influx_version=$(curl -fsSI --max-time 2 "$INFLUX_URL/ping" | tr -d '\r' | awk -F': ' 'tolower($1)=="x-influxdb-version"{print $2}')
  say "ready in $((SECONDS - started))s: kafka $(ls "$AESTREAM_KAFKA_LIBS" | sed -n 's/^kafka_2.13-\(.*\)\.jar$/\1/p') at $KAFKA_BROKERS, influxdb $influx_version at $INFLUX_URL"
  say "export KAFKA_BROKERS=$KAFKA_BROKERS INFLUX_URL=$INFLUX_URL"
}

main "$@"
