/**
 * Where the integration tests find the local stack (npm run stack:up). The same env
 * variables the pipeline files read, with the stack's defaults.
 */
export const KAFKA_BROKERS = (process.env.KAFKA_BROKERS ?? '127.0.0.1:9092').split(',');
export const INFLUX_URL = process.env.INFLUX_URL ?? 'http://127.0.0.1:8086';
