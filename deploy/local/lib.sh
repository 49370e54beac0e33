#!/usr/bin/env bash
# Shared settings and helpers of the local stack scripts. Every setting can be overridden
# by the environment, so two stacks (or a CI run beside a developer's stack) can coexist.
set -euo pipefail

STACK_HOME=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO_ROOT=$(cd "$STACK_HOME/../.." && pwd)

: "${AESTREAM_STACK_DIR:=$REPO_ROOT/.stack}"
: "${AESTREAM_KAFKA_PORT:=9092}"
: "${AESTREAM_KAFKA_CONTROLLER_PORT:=9093}"
: "${AESTREAM_INFLUX_PORT:=8086}"
: "${AESTREAM_INFLUX_RPC_PORT:=8088}"
# The broker jars are resolved once per machine, not per clone.
: "${AESTREAM_KAFKA_LIBS:=${XDG_CACHE_HOME:-$HOME/.cache}/aestream/kafka-libs}"
: "${AESTREAM_KAFKA_HEAP:=-Xms512m -Xmx1g}"
: "${AESTREAM_STACK_TIMEOUT:=60}"

KAFKA_DIR="$AESTREAM_STACK_DIR/kafka"
INFLUX_DIR="$AESTREAM_STACK_DIR/influxdb"
KAFKA_PID="$AESTREAM_STACK_DIR/kafka.pid"
INFLUX_PID="$AESTREAM_STACK_DIR/influxdb.pid"
KAFKA_LOG="$KAFKA_DIR/logs/server.log"
KAFKA_STDOUT="$KAFKA_DIR/stdout.log"
INFLUX_LOG="$INFLUX_DIR/influxd.log"
KAFKA_BROKERS="127.0.0.1:$AESTREAM_KAFKA_PORT"
INFLUX_URL="http://127.0.0.1:$AESTREAM_INFLUX_PORT"

say() { printf '[stack] %s\n' "$*"; }
fail() { printf '[stack] error: %s\n' "$*" >&2; exit 1; }

# is_running PIDFILE: true when the file names a live process.
is_running() {
  local pid
  [[ -f $1 ]] || return 1
  pid=$(cat "$1" 2>/dev/null) || return 1
  [[ -n $pid ]] && kill -0 "$pid" 2>/dev/null
}

# show_tail FILE...: the last lines of a service's logs, for an error message.
show_tail() {
  local f
  for f in "$@"; do
    [[ -f $f ]] || continue
    printf '[stack] --- last lines of %s ---\n' "$f" >&2
    tail -n 30 "$f" >&2
  done
}

# stop_pid PIDFILE NAME: TERM, wait up to 30 s, then KILL; removes the pid file.
stop_pid() {
  local pidfile=$1 name=$2 pid i
  if ! is_running "$pidfile"; then
    rm -f "$pidfile"
    return 0
  fi
  pid=$(cat "$pidfile")
  say "stopping $name (pid $pid)"
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 300; i++)); do
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.1
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$name did not stop in 30 s: killing it"
    kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$pidfile"
}

# Probes that ask the real services, not their ports.
probe_kafka() { node "$STACK_HOME/probe-kafka.js" "$KAFKA_BROKERS" >/dev/null 2>&1; }
probe_influx() { curl -fsS -o /dev/null --max-time 2 "$INFLUX_URL/ping" 2>/dev/null; }

# A new KRaft cluster id: URL-safe base64 of 16 random bytes. One that starts with '-' is read
# as an option by StorageTool ("--cluster-id: expected one argument"): 1 start in 64 failed
# so. Drawn again until it does not.
new_cluster_id() {
  local id=-
  while [[ $id == -* ]]; do
    id=$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')
  done
  printf '%s' "$id"
}
