import { z } from 'zod';

/** How the frames of a pipeline are shaped: sensor readings in sliding windows, or images. */

export const sensorFrameSchema = z
  .strictObject({
    kind: z.literal('sensor'),
    features: z.int().min(1).max(4096).describe('Values per reading (D).'),
    window: z.int().min(1).max(65536).describe('Readings per model input (W), per source.'),
    stride: z.int().min(1).default(1).describe('Readings between two successive windows.'),
    pad: z
      .boolean()
      .default(true)
      .describe(
        "Score a source's first W-1 readings too, in windows padded with its oldest reading (never judged, so no events).",
      ),
  })
  .describe('Sensor readings, grouped per source into sliding windows of W readings of D values.');

export const imageFrameSchema = z
  .strictObject({
    kind: z.literal('image'),
    width: z.int().min(1).max(4096).describe('Image width in pixels.'),
    height: z.int().min(1).max(4096).describe('Image height in pixels.'),
    channels: z
      .union([z.literal(1), z.literal(3)])
      .default(1)
      .describe('Colour channels: 1 (grey) or 3 (RGB).'),
  })
  .describe('Image frames, each scored on its own.');

export const frameSchema = z.discriminatedUnion('kind', [sensorFrameSchema, imageFrameSchema]);

export type SensorFrameConfig = z.infer<typeof sensorFrameSchema>;
export type ImageFrameConfig = z.infer<typeof imageFrameSchema>;
export type FrameConfig = z.infer<typeof frameSchema>;
