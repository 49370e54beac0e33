import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { isAbsolute, join, resolve } from 'node:path';
import { Type, type Schema } from 'avsc';
import { AeError, ErrorCodes, messageOf } from '../core/errors';
import './bounded-reads';
import { logicalTypes } from './timestamp-millis';

/**
 * Where the schemas shipped with aestream live: the package root's schemas/, found from
 * src/ (ts-jest), dist/ (the CLI) and dist/bench-build/src/ (benchmarks).
 */
export const SCHEMAS_DIR =
  [
    resolve(__dirname, '..', '..', 'schemas'),
    resolve(__dirname, '..', '..', '..', '..', 'schemas'),
  ].find((d) => existsSync(join(d, 'sensor-frame.avsc'))) ??
  resolve(__dirname, '..', '..', 'schemas');

/** The record names of the shipped schemas and their files in schemas/. */
export const SCHEMA_FILES = {
  SensorFrame: 'sensor-frame.avsc',
  ImageFrame: 'image-frame.avsc',
  AnomalyEvent: 'anomaly-event.avsc',
  ModelRelease: 'model-release.avsc',
  ThresholdCommand: 'threshold-command.avsc',
  SourceState: 'source-state.avsc',
} as const;

export type SchemaName = keyof typeof SCHEMA_FILES;

/**
 * Resolves a schema reference to a file: a record name (`SensorFrame`), a shipped file name
 * (`sensor-frame.avsc`) or a path (relative to the working directory).
 */
export function schemaFile(ref: string): string {
  if (ref in SCHEMA_FILES) return join(SCHEMAS_DIR, SCHEMA_FILES[ref as SchemaName]);
  if (isAbsolute(ref) || existsSync(ref)) return resolve(ref);
  const shipped = join(SCHEMAS_DIR, ref.endsWith('.avsc') ? ref : `${ref}.avsc`);
  if (existsSync(shipped)) return shipped;
  return resolve(ref);
}

/** Parses a schema (JSON object or text) into an avsc Type with aestream's logical types. */
export function parseSchema(schema: Schema | string, origin = 'inline schema'): Type {
  try {
    const json = typeof schema === 'string' ? (JSON.parse(schema) as Schema) : schema;
    return Type.forSchema(json, { logicalTypes });
  } catch (err) {
    throw new AeError(ErrorCodes.SCHEMA_INVALID, `${origin}: ${messageOf(err)}`, { cause: err });
  }
}

const cache = new Map<string, Type>();

/**
 * Loads an Avro schema by record name, shipped file name or path; parsed once per file.
 *
 * @example
 * const sensorType = loadSchema('SensorFrame');
 * const custom = loadSchema('./my-schemas/frame-v2.avsc');
 */
export function loadSchema(ref: string): Type {
  const file = schemaFile(ref);
  const hit = cache.get(file);
  if (hit) return hit;
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AeError(
      ErrorCodes.SCHEMA_INVALID,
      `cannot read schema ${ref} (${file}): ${messageOf(err)}`,
      {
        cause: err,
      },
    );
  }
  const type = parseSchema(text, file);
  cache.set(file, type);
  return type;
}

/** Hex MD5 of the schema's Parsing Canonical Form: the id of a writer schema in plain-Avro mode. */
export function fingerprintOf(type: Type): string {
  return type.fingerprint('md5').toString('hex');
}

/**
 * The files of every schema shipped in schemas/ (the project's record types), then the
 * earlier versions in schemas/history/ whose records topics may still hold.
 */
export function shippedSchemaFiles(): string[] {
  const avscIn = (dir: string) =>
    existsSync(dir)
      ? readdirSync(dir)
          .filter((f) => f.endsWith('.avsc'))
          .sort()
          .map((f) => join(dir, f))
      : [];
  return [...avscIn(SCHEMAS_DIR), ...avscIn(join(SCHEMAS_DIR, 'history'))];
}
