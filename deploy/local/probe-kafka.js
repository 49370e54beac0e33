#!/usr/bin/env node
// Readiness probe of the local broker: a real metadata request and a group-coordinator
// lookup through kafkajs.
// Prints the broker list and exits 0 when the broker answers, 1 otherwise.
'use strict';
const { Kafka, logLevel } = require('kafkajs');

const brokers = (process.argv[2] || '127.0.0.1:9092').split(',');
const kafka = new Kafka({
  clientId: 'aestream-stack-probe',
  brokers,
  logLevel: logLevel.NOTHING,
  connectionTimeout: 1000,
  requestTimeout: 2000,
  retry: { retries: 0 },
});

async function main() {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const cluster = await admin.describeCluster();
    // Consumer groups need the group coordinator (__consumer_offsets), which a fresh KRaft
    // node creates on the first request: ready means a group lookup answers too.
    await admin.describeGroups(['aestream-stack-probe']);
    console.log(JSON.stringify(cluster));
  } finally {
    await admin.disconnect();
  }
}

main().then(
  () => process.exit(0),
  (err) => {
    console.error(err.message);
    process.exit(1);
  },
);
