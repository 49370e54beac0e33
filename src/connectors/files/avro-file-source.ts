import { createWriteStream } from 'node:fs';
import { finished } from 'node:stream/promises';
import { createFileDecoder, streams, type Resolver, type Type } from 'avsc';
import { parseSchema } from '../../codecs/schema-loader';
import { AeError, ErrorCodes, messageOf } from '../../core/errors';

/**
 * Records of an Avro object container file. The file carries its writer schema; with a
 * `reader` type the records are resolved into it (older/newer files still read), and an
 * incompatible file fails with AE_ERR_SCHEMA_INCOMPATIBLE.
 *
 * @example
 * for await (const frame of readAvroFile<SensorFrame>('frames.avro', loadSchema('SensorFrame'))) { ... }
 */
export async function* readAvroFile<T>(file: string, reader?: Type): AsyncGenerator<T> {
  let writer: Type | undefined;
  let resolver: Resolver | undefined;
  // Records are decoded with the file's writer schema and resolved here, so an incompatible
  // file gets our code (avsc's own readerSchema path reports it as a stream error).
  const decoder = createFileDecoder(file, {
    // Writer schemas are parsed with our logical types (timestamp-millis stays a number).
    parseHook: (schema) => parseSchema(schema as never, `${file} header`),
  });
  decoder.on('metadata', (type: Type) => {
    writer = type;
  });
  try {
    for await (const record of decoder) {
      if (!writer) throw new Error('record before the file header');
      if (reader && !resolver && !reader.equals(writer)) {
        try {
          resolver = reader.createResolver(writer);
        } catch (err) {
          throw new AeError(
            ErrorCodes.SCHEMA_INCOMPATIBLE,
            `${file}: its schema cannot be read as ${reader.name ?? 'the reader schema'}: ${messageOf(err)}`,
            { cause: err },
          );
        }
      }
      yield (resolver ? reader!.fromBuffer(writer.toBuffer(record), resolver) : record) as T;
    }
  } catch (err) {
    if (err instanceof AeError) throw err;
    throw new AeError(ErrorCodes.FILE_FORMAT, `${file}: ${messageOf(err)}`, { cause: err });
  }
}

/**
 * Writes records to an Avro object container file (deflate-compressed blocks).
 *
 * @example await writeAvroFile('frames.avro', loadSchema('SensorFrame'), frames);
 */
export async function writeAvroFile<T>(
  file: string,
  type: Type,
  records: Iterable<T> | AsyncIterable<T>,
): Promise<number> {
  // Given a Type (not a schema), avsc writes with it: our logical types apply.
  const encoder = new streams.BlockEncoder(type as never, { codec: 'deflate' });
  const out = createWriteStream(file);
  encoder.pipe(out);
  // Resolve only when the file is closed, not when the encoder finished: readers may follow.
  const closed = finished(out);
  let n = 0;
  for await (const r of records as AsyncIterable<T>) {
    if (!encoder.write(r)) await new Promise((resolve) => encoder.once('drain', resolve));
    n++;
  }
  encoder.end();
  await closed;
  return n;
}
