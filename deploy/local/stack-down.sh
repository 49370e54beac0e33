#!/usr/bin/env bash
# Stops the local stack started by stack-up.sh and waits until its processes are gone.
# Data stays in the work folder; pass --purge to delete it too.
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

stop_pid "$KAFKA_PID" kafka
stop_pid "$INFLUX_PID" influxdb
if [[ ${1:-} == --purge ]]; then
  rm -rf "$KAFKA_DIR" "$INFLUX_DIR"
  say "purged $AESTREAM_STACK_DIR"
fi
say "stopped"
