import { PNG } from 'pngjs';
import type { RecordCodec } from '../codecs/avro-codec';
import type { FrameConfig } from '../core/frame-config';
import type { Frame, ImageFrame, SensorFrame } from '../core/records';
import type { Judged, BatchSink } from '../core/model-input';
import { keyedMessage, type MessageWriter } from './anomaly-event-sink';
import type { OutboundMessage } from '../connectors/kafka/kafka-sink';

/**
 * The frame the model rebuilt for one input frame, in the input's own schema: a sensor
 * frame whose values are the reconstructed reading (its row of the window), or an image
 * frame whose pixels are the reconstruction, in the input frame's encoding. Everything
 * else (source, time, seq, attributes, sizes) is the input frame's.
 *
 * @example reconstructedFrame(frame, rebuilt.subarray(63, 64))
 */
export function reconstructedFrame(original: Frame, rebuilt: Float32Array): Frame {
  if ('values' in original) {
    const sensor: SensorFrame = {
      source: original.source,
      time: original.time,
      values: Array.from(rebuilt),
      seq: original.seq,
      attributes: original.attributes,
    };
    return sensor;
  }
  const image: ImageFrame = {
    source: original.source,
    time: original.time,
    width: original.width,
    height: original.height,
    channels: original.channels,
    encoding: original.encoding,
    data: imageBytes(original, rebuilt),
  };
  return image;
}

/** 0-255 intensities (HWC) in the encoding of `like`. */
function imageBytes(like: ImageFrame, pixels: Float32Array): Buffer {
  const u8 = (v: number): number => Math.min(255, Math.max(0, Math.round(v)));
  switch (like.encoding) {
    case 'RAW_U8':
      return Buffer.from(Uint8Array.from(pixels, u8));
    case 'RAW_F32': {
      const out = Buffer.alloc(pixels.length * 4);
      for (let i = 0; i < pixels.length; i++)
        out.writeFloatLE(Math.min(1, Math.max(0, (pixels[i] as number) / 255)), i * 4);
      return out;
    }
    case 'PNG': {
      const png = new PNG({ width: like.width, height: like.height });
      const c = like.channels;
      for (let p = 0; p < like.width * like.height; p++) {
        for (let k = 0; k < 3; k++) png.data[p * 4 + k] = u8(pixels[p * c + (c === 1 ? 0 : k)]!);
        png.data[p * 4 + 3] = 255;
      }
      return PNG.sync.write(png);
    }
  }
}

/**
 * The reconstruction output: for every input frame a scored input accounts for, the frame
 * the model rebuilt (the denoised frame), encoded with the input's schema so any consumer
 * of the input topic can read it, keyed by source, timestamped with the event time. A
 * sensor window covering k new readings gives k frames: its last k reconstructed rows.
 * `write` resolves when the writer acked them all.
 *
 * @example new ReconstructionSink(kafkaSink, createCodec({ schema, topic }), config.frame)
 */
export class ReconstructionSink<F> implements BatchSink<F> {
  readonly name = 'reconstructions';

  constructor(
    private readonly writer: MessageWriter,
    private readonly codec: RecordCodec<Frame>,
    private readonly frame: FrameConfig,
  ) {}

  async write(batch: readonly Judged<F>[]): Promise<void> {
    const messages: OutboundMessage[] = [];
    const row = this.frame.kind === 'sensor' ? this.frame.features : 0;
    for (const judged of batch) {
      const rebuilt = judged.reconstruction;
      if (rebuilt === undefined) {
        throw new Error('ReconstructionSink: the scored input carries no reconstruction');
      }
      const k = judged.covered.length;
      judged.covered.forEach((accepted, j) => {
        const original = accepted.value as unknown as Frame;
        const values =
          row > 0
            ? rebuilt.subarray(rebuilt.length - (k - j) * row, rebuilt.length - (k - j - 1) * row)
            : rebuilt;
        const frame = reconstructedFrame(original, values);
        messages.push(keyedMessage(this.codec, original.source, frame, original.time));
      });
    }
    if (messages.length > 0) await this.writer.sendMany(messages);
  }
}
