#!/usr/bin/env bash
# Tells whether each service of the local stack runs and answers its probe; exits 1 if not.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

status=0
report() {
  local name=$1 pidfile=$2 probe=$3 where=$4
  if ! is_running "$pidfile"; then
    say "$name: stopped"
    status=1
  elif $probe; then
    say "$name: ready at $where (pid $(cat "$pidfile"))"
  else
    say "$name: running (pid $(cat "$pidfile")) but not answering at $where"
    status=1
  fi
}
report kafka "$KAFKA_PID" probe_kafka "$KAFKA_BROKERS"
report influxdb "$INFLUX_PID" probe_influx "$INFLUX_URL"
exit $status
