#!/usr/bin/env bash
# A second, throw-away stack for the security tests: one Kafka node with a SASL_PLAINTEXT
# listener (SCRAM-SHA-256/512 and PLAIN), an SSL listener (self-signed CA made here) and an
# SSL listener that requires a client certificate (mutual TLS),
# and an InfluxDB with authentication on and one admin user. It never touches the shared
# stack (own folder, own ports) and keeps the shared scripts' defaults as they are.
#
#   secure-stack.sh up     starts both, waits until they answer, prints the settings
#   secure-stack.sh down   stops both and deletes the folder (certificates, passwords, data)
#
# Settings (environment): AESTREAM_SECURE_DIR, AESTREAM_SECURE_SASL_PORT,
# AESTREAM_SECURE_SSL_PORT, AESTREAM_SECURE_MTLS_PORT, AESTREAM_SECURE_CONTROLLER_PORT, AESTREAM_SECURE_INFLUX_PORT,
# AESTREAM_SECURE_INFLUX_RPC_PORT, and the secrets AESTREAM_SECURE_KAFKA_USER/_PASSWORD,
# AESTREAM_SECURE_INFLUX_USER/_PASSWORD (required for `up`; letters and digits).
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

: "${AESTREAM_SECURE_DIR:=$REPO_ROOT/.stack-secure}"
: "${AESTREAM_SECURE_SASL_PORT:=19094}"
: "${AESTREAM_SECURE_SSL_PORT:=19095}"
: "${AESTREAM_SECURE_CONTROLLER_PORT:=19096}"
: "${AESTREAM_SECURE_MTLS_PORT:=19097}"
: "${AESTREAM_SECURE_INFLUX_PORT:=18096}"
: "${AESTREAM_SECURE_INFLUX_RPC_PORT:=18098}"
: "${AESTREAM_SECURE_KAFKA_USER:=aestream}"
: "${AESTREAM_SECURE_INFLUX_USER:=admin}"

S_DIR=$AESTREAM_SECURE_DIR
S_KAFKA_PID="$S_DIR/kafka.pid"
S_INFLUX_PID="$S_DIR/influxdb.pid"
TLS_DIR="$S_DIR/tls"

# spawn PIDFILE LOGFILE CMD...: CMD in its own session; records the pid of CMD itself.
spawn() {
  local pidfile=$1 logfile=$2 i
  shift 2
  rm -f "$pidfile"
  setsid bash -c 'echo $$ >"$0"; exec "$@"' "$pidfile" "$@" >"$logfile" 2>&1 </dev/null &
  for ((i = 0; i < 50; i++)); do
    [[ -s $pidfile ]] && return 0
    sleep 0.1
  done
  fail "could not start $1"
}

make_certs() {
  mkdir -p "$TLS_DIR"
  (
    cd "$TLS_DIR"
    openssl req -x509 -newkey rsa:2048 -nodes -days 2 -subj "/CN=aestream test CA" \
      -keyout ca-key.pem -out ca.pem 2>/dev/null
    openssl req -newkey rsa:2048 -nodes -subj "/CN=localhost" \
      -keyout broker-key.pem -out broker.csr 2>/dev/null
    printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\n' >broker.ext
    openssl x509 -req -in broker.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -extfile broker.ext -out broker.pem 2>/dev/null
    # Kafka's PEM key store: an unencrypted PKCS#8 key followed by the certificate chain.
    openssl pkcs8 -topk8 -nocrypt -in broker-key.pem -out broker-key.pk8
    cat broker-key.pk8 broker.pem ca.pem >broker-keystore.pem
    # A client certificate signed by the same CA, for mutual TLS.
    openssl req -newkey rsa:2048 -nodes -subj "/CN=aestream-client" \
      -keyout client-key.pem -out client.csr 2>/dev/null
    openssl x509 -req -in client.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial -days 2 \
      -out client.pem 2>/dev/null
    chmod 600 ./*key*
  )
}

start_kafka() {
  local dir="$S_DIR/kafka" cfg="$S_DIR/kafka/server.properties"
  local user=$AESTREAM_SECURE_KAFKA_USER pass=$AESTREAM_SECURE_KAFKA_PASSWORD
  mkdir -p "$dir/data" "$dir/logs"
  cp "$STACK_HOME/server.properties" "$cfg"
  cat >>"$cfg" <<PROPS

# Appended by secure-stack.sh: SASL and TLS listeners only (the controller stays on loopback).
controller.quorum.voters=1@127.0.0.1:$AESTREAM_SECURE_CONTROLLER_PORT
listeners=SASL_PLAINTEXT://127.0.0.1:$AESTREAM_SECURE_SASL_PORT,SSL://127.0.0.1:$AESTREAM_SECURE_SSL_PORT,MTLS://127.0.0.1:$AESTREAM_SECURE_MTLS_PORT,CONTROLLER://127.0.0.1:$AESTREAM_SECURE_CONTROLLER_PORT
advertised.listeners=SASL_PLAINTEXT://127.0.0.1:$AESTREAM_SECURE_SASL_PORT,SSL://127.0.0.1:$AESTREAM_SECURE_SSL_PORT,MTLS://127.0.0.1:$AESTREAM_SECURE_MTLS_PORT
listener.security.protocol.map=CONTROLLER:PLAINTEXT,SASL_PLAINTEXT:SASL_PLAINTEXT,SSL:SSL,MTLS:SSL
inter.broker.listener.name=SSL
log.dirs=$dir/data
sasl.enabled.mechanisms=SCRAM-SHA-256,SCRAM-SHA-512,PLAIN
listener.name.sasl_plaintext.scram-sha-256.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required;
listener.name.sasl_plaintext.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required user_$user="$pass";
ssl.keystore.type=PEM
ssl.keystore.location=$TLS_DIR/broker-keystore.pem
ssl.truststore.type=PEM
ssl.truststore.location=$TLS_DIR/ca.pem
ssl.client.auth=none
listener.name.mtls.ssl.client.auth=required
ssl.endpoint.identification.algorithm=
PROPS
  chmod 600 "$cfg"
  local cp="$AESTREAM_KAFKA_LIBS/*"
  local jvm=(-Djava.awt.headless=true "-Dlog4j.configuration=file:$STACK_HOME/log4j.properties"
    "-Dkafka.log.dir=$dir/logs")
  local cluster_id
  cluster_id=$(new_cluster_id)
  java -Xmx256m "${jvm[@]}" -cp "$cp" kafka.tools.StorageTool format -t "$cluster_id" -c "$cfg" \
    --add-scram "SCRAM-SHA-256=[name=$user,password=$pass]" \
    --add-scram "SCRAM-SHA-512=[name=$user,password=$pass]" >"$dir/format.log" 2>&1 || {
    show_tail "$dir/format.log"
    fail "kafka.tools.StorageTool could not format $dir/data"
  }
  spawn "$S_KAFKA_PID" "$dir/stdout.log" java -Xms256m -Xmx512m -XX:+UseG1GC "${jvm[@]}" \
    -cp "$cp" kafka.Kafka "$cfg"
  say "secure kafka starting (pid $(cat "$S_KAFKA_PID")): SASL 127.0.0.1:$AESTREAM_SECURE_SASL_PORT, SSL 127.0.0.1:$AESTREAM_SECURE_SSL_PORT, mutual TLS 127.0.0.1:$AESTREAM_SECURE_MTLS_PORT"
}

start_influx() {
  local dir="$S_DIR/influxdb"
  mkdir -p "$dir/meta" "$dir/data" "$dir/wal"
  spawn "$S_INFLUX_PID" "$dir/influxd.log" env \
    INFLUXDB_META_DIR="$dir/meta" \
    INFLUXDB_DATA_DIR="$dir/data" \
    INFLUXDB_DATA_WAL_DIR="$dir/wal" \
    INFLUXDB_HTTP_BIND_ADDRESS="127.0.0.1:$AESTREAM_SECURE_INFLUX_PORT" \
    INFLUXDB_BIND_ADDRESS="127.0.0.1:$AESTREAM_SECURE_INFLUX_RPC_PORT" \
    INFLUXDB_HTTP_AUTH_ENABLED=true \
    INFLUXDB_REPORTING_DISABLED=true \
    INFLUXDB_HTTP_LOG_ENABLED=false \
    INFLUXDB_DATA_QUERY_LOG_ENABLED=false \
    INFLUXDB_MONITOR_STORE_ENABLED=false \
    influxd run
  say "secure influxdb starting (pid $(cat "$S_INFLUX_PID")) on 127.0.0.1:$AESTREAM_SECURE_INFLUX_PORT"
}

# wait_until NAME PIDFILE DEADLINE CMD...: until CMD succeeds, the process dies, or the deadline.
wait_until() {
  local name=$1 pidfile=$2 deadline=$((SECONDS + $3))
  shift 3
  until "$@" >/dev/null 2>&1; do
    is_running "$pidfile" || fail "$name exited during start-up (logs in $S_DIR)"
    ((SECONDS < deadline)) || fail "$name was not ready within $AESTREAM_STACK_TIMEOUT s (logs in $S_DIR)"
    sleep 0.2
  done
}

influx_ping() { curl -fsS -o /dev/null --max-time 2 "http://127.0.0.1:$AESTREAM_SECURE_INFLUX_PORT/ping"; }
kafka_started() { grep -q 'Kafka Server started' "$S_DIR/kafka/logs/server.log"; }

# With authentication on and no user yet, InfluxDB 1.x allows exactly this statement.
create_influx_admin() {
  curl -fsS -o /dev/null --max-time 5 -XPOST "http://127.0.0.1:$AESTREAM_SECURE_INFLUX_PORT/query" \
    --data-urlencode "q=CREATE USER $AESTREAM_SECURE_INFLUX_USER WITH PASSWORD '$AESTREAM_SECURE_INFLUX_PASSWORD' WITH ALL PRIVILEGES"
}

up() {
  [[ -n ${AESTREAM_SECURE_KAFKA_PASSWORD:-} && -n ${AESTREAM_SECURE_INFLUX_PASSWORD:-} ]] ||
    fail "set AESTREAM_SECURE_KAFKA_PASSWORD and AESTREAM_SECURE_INFLUX_PASSWORD"
  [[ $AESTREAM_SECURE_KAFKA_PASSWORD$AESTREAM_SECURE_INFLUX_PASSWORD =~ ^[A-Za-z0-9]+$ ]] ||
    fail "the test passwords use letters and digits only (they are written into config files)"
  is_running "$S_KAFKA_PID" && fail "a secure stack already runs in $S_DIR: run down first"
  rm -rf "$S_DIR"
  mkdir -p "$S_DIR"
  chmod 700 "$S_DIR"
  make_certs
  start_kafka
  start_influx
  wait_until influxdb "$S_INFLUX_PID" "$AESTREAM_STACK_TIMEOUT" influx_ping
  create_influx_admin || fail "could not create the InfluxDB admin user"
  wait_until kafka "$S_KAFKA_PID" "$AESTREAM_STACK_TIMEOUT" kafka_started
  say "secure stack ready; CA certificate $TLS_DIR/ca.pem"
}

down() {
  stop_pid "$S_KAFKA_PID" "secure kafka"
  stop_pid "$S_INFLUX_PID" "secure influxdb"
  rm -rf "$S_DIR"
  say "secure stack stopped"
}

case ${1:-} in
  up) up ;;
  down) down ;;
  *) fail "usage: secure-stack.sh up|down" ;;
esac
