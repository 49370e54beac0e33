/**
 * TypeScript shapes of the records in schemas/, as the codecs decode them. Times are
 * milliseconds since the Unix epoch (see timestamp-millis.ts for why not Date).
 */

export interface SensorFrame {
  source: string;
  time: number;
  values: number[];
  seq: number | null;
  attributes: Record<string, string>;
}

export type ImageEncoding = 'RAW_U8' | 'RAW_F32' | 'PNG';

export interface ImageFrame {
  source: string;
  time: number;
  width: number;
  height: number;
  channels: number;
  encoding: ImageEncoding;
  data: Buffer;
}

export type Frame = SensorFrame | ImageFrame;

export interface AnomalyEvent {
  id: string;
  source: string;
  eventTime: number;
  detectionTime: number;
  score: number;
  threshold: number;
  tailProbability: number | null;
  severity: 'LOW' | 'MEDIUM' | 'HIGH' | 'CRITICAL';
  modelVersion: string;
  pipeline: string;
  contributions: Array<{ index: number; error: number }>;
  input: { topic: string; partition: number; offset: number };
}

export interface ModelRelease {
  pipeline: string;
  version: string;
  createdAt: number;
  architecture: string;
  inputShape: number[];
  normalization: {
    kind: 'NONE' | 'MINMAX' | 'ZSCORE' | 'ROBUST';
    offset: number[];
    scale: number[];
  };
  trainingFrom: number | null;
  trainingTo: number | null;
  trainingSize: number;
  metrics: Record<string, number>;
  /** Exactly one of bytes (inline) and uri is set. */
  artifact: { bytes: Buffer | null; uri: string | null };
  sha256: string;
}

export interface ThresholdCommand {
  pipeline: string;
  key: string | null;
  action: 'SET' | 'OVERRIDE' | 'RESET';
  parameters: Record<string, string>;
  issuedAt: number;
  issuedBy: string | null;
}
