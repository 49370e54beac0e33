import { existsSync, readFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { AeError, ErrorCodes, type ConfigIssue } from '../core/errors';
import { featureStats, isConstantFeature, robustScale } from '../training/normalization';
import { readCsvReadings } from '../training/training-data';
import type { PipelineConfig } from './pipeline-schema';

/** Where relative paths in a pipeline file are resolved: the working directory of the command. */
export interface LintContext {
  baseDir: string;
}

/**
 * A rule that spans fields, checked after the schema: the schema says each field is
 * well-formed, these say the fields fit together. `aestream lint` lists them in --help.
 */
export interface LintRule {
  id: string;
  description: string;
  check(config: PipelineConfig, ctx: LintContext): ConfigIssue[];
}

export const lintRules: readonly LintRule[] = [
  {
    id: 'retrain-own-group',
    description:
      "retrain.group differs from input.kafka.group (a trainer in the detectors' group would take their partitions)",
    check(config) {
      if (config.retrain.group !== config.input.kafka.group) return [];
      return [
        {
          path: 'retrain.group',
          message: `the retrainer would join the detectors' consumer group '${config.input.kafka.group}' and take partitions from them: leave retrain.group out (default '<input group>.retrain') or name another group`,
        },
      ];
    },
  },
  {
    id: 'schema-file-exists',
    description:
      'input.schema names an existing .avsc file (relative paths from the working directory)',
    check(config, ctx) {
      const file = resolve(ctx.baseDir, config.input.schema);
      if (existsSync(file)) return [];
      return [{ path: 'input.schema', message: `schema file not found: ${file}` }];
    },
  },
  {
    id: 'window-stride',
    description: 'frame.stride is at most frame.window for sensor frames',
    check(config) {
      const f = config.frame;
      if (f.kind !== 'sensor' || f.stride <= f.window) return [];
      return [
        {
          path: 'frame.stride',
          message: `stride ${f.stride} is larger than window ${f.window}: readings between windows would never be scored`,
        },
      ];
    },
  },
  {
    id: 'model-fits-frame',
    description:
      'conv-ae is for image frames, conv1d-ae for sensor frames; the strides fit the frame; the bottleneck is smaller than the model input',
    check(config) {
      const { frame, model } = config;
      const inputSize =
        frame.kind === 'sensor'
          ? frame.window * frame.features
          : frame.width * frame.height * frame.channels;
      if (model.kind === 'conv1d-ae') {
        if (frame.kind !== 'sensor') {
          return [
            {
              path: 'model.kind',
              message: 'conv1d-ae needs sensor frames (frame.kind: sensor); use conv-ae for images',
            },
          ];
        }
        const factor = 2 ** model.filters.length;
        if (frame.window % factor !== 0) {
          return [
            {
              path: 'model.filters',
              message: `${model.filters.length} stride-2 layers over time need frame.window divisible by ${factor}; the window is ${frame.window}`,
            },
          ];
        }
        if (model.kernel > frame.window) {
          return [
            {
              path: 'model.kernel',
              message: `kernel ${model.kernel} spans more readings than the window of ${frame.window}`,
            },
          ];
        }
        return model.latent < inputSize
          ? []
          : [
              {
                path: 'model.latent',
                message: `latent ${model.latent} is not smaller than the input size ${inputSize} (window x features)`,
              },
            ];
      }
      if (model.kind === 'conv-ae') {
        if (frame.kind !== 'image') {
          return [
            {
              path: 'model.kind',
              message:
                'conv-ae needs image frames (frame.kind: image); use dense-ae or conv1d-ae for sensors',
            },
          ];
        }
        const factor = 2 ** model.filters.length;
        if (frame.width % factor !== 0 || frame.height % factor !== 0) {
          return [
            {
              path: 'model.filters',
              message: `${model.filters.length} stride-2 layers need width and height divisible by ${factor}; the frame is ${frame.width}x${frame.height}`,
            },
          ];
        }
        return model.latent < inputSize
          ? []
          : [
              {
                path: 'model.latent',
                message: `latent ${model.latent} is not smaller than the input size ${inputSize}`,
              },
            ];
      }
      const bottleneck = model.hidden[model.hidden.length - 1];
      if (bottleneck >= inputSize) {
        return [
          {
            path: `model.hidden.${model.hidden.length - 1}`,
            message: `bottleneck ${bottleneck} is not smaller than the input size ${inputSize} (window x features): the model could learn to copy its input`,
          },
        ];
      }
      return [];
    },
  },
  {
    id: 'score-for-frame',
    description:
      'model.score other than mean (standardized, mahalanobis, max-channel) is for sensor frames',
    check(config) {
      const score = config.model.score;
      if (config.frame.kind !== 'image' || score === undefined || score === 'mean') return [];
      return [
        {
          path: 'model.score',
          message: `${score} standardizes per sensor channel; image frames score the mean error (leave model.score out or set mean)`,
        },
      ];
    },
  },
  {
    id: 'topics-distinct',
    description: 'the input, anomaly and dead-letter topics are three different topics',
    check(config) {
      const issues: ConfigIssue[] = [];
      const input = config.input.kafka.topic;
      if (config.output.kafka.topic === input) {
        issues.push({
          path: 'output.kafka.topic',
          message: `is the input topic "${input}": events would be read back as frames`,
        });
      }
      if (config.output.dlq.topic === input) {
        issues.push({
          path: 'output.dlq.topic',
          message: `is the input topic "${input}": dead letters would be read back as frames`,
        });
      }
      if (config.output.dlq.topic === config.output.kafka.topic) {
        issues.push({
          path: 'output.dlq.topic',
          message: `is the same topic as output.kafka.topic ("${config.output.dlq.topic}")`,
        });
      }
      return issues;
    },
  },
  {
    id: 'model-outputs',
    description:
      'the reconstruction and latent topics differ from the input and from the other outputs; latent.influx needs output.influx',
    check(config) {
      const issues: ConfigIssue[] = [];
      const taken = new Map<string, string>([
        [config.input.kafka.topic, 'input.kafka.topic'],
        [config.output.kafka.topic, 'output.kafka.topic'],
        [config.output.dlq.topic, 'output.dlq.topic'],
      ]);
      for (const name of ['reconstruction', 'latent'] as const) {
        const topic = config.output[name]?.topic;
        if (topic === undefined) continue;
        const other = taken.get(topic);
        if (other !== undefined) {
          issues.push({
            path: `output.${name}.topic`,
            message: `is the same topic as ${other} ("${topic}")`,
          });
        }
        taken.set(topic, `output.${name}.topic`);
      }
      if (config.output.latent?.influx && !config.output.influx) {
        issues.push({
          path: 'output.latent.influx',
          message: 'needs output.influx (the latent measurement is written there)',
        });
      }
      return issues;
    },
  },
  {
    id: 'retrain-trigger',
    description: 'retrain.trigger names at least one trigger',
    check(config) {
      const t = config.retrain.trigger;
      if (t.everyFrames !== undefined || t.everyMinutes !== undefined || t.drift) return [];
      return [
        {
          path: 'retrain.trigger',
          message: 'no trigger: set everyFrames, everyMinutes or drift: true',
        },
      ];
    },
  },
];

/**
 * Warnings about a sensor training file for a pipeline (`aestream lint --data FILE`):
 * each channel whose robust scale is floored (its IQR is tiny next to its spread, as for a
 * stepped or quantized channel) and each constant channel (passed as 0, so the model never
 * sees it). Image pipelines get none. Throws AE_ERR_DATA_INVALID for an unreadable file.
 *
 * @example lintTrainingData(loadPipeline('pipelines/sensors.yaml'), 'train.csv') // [{ path: 'model.normalization', ... }]
 */
export function lintTrainingData(config: PipelineConfig, file: string): ConfigIssue[] {
  if (config.frame.kind !== 'sensor') return [];
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new AeError(ErrorCodes.DATA_INVALID, `cannot read training data ${file}`, { cause: err });
  }
  const { header, hasTime, readings } = readCsvReadings(file, text, config.frame.features);
  const names = header.slice(hasTime ? 1 : 0);
  const issues: ConfigIssue[] = [];
  featureStats(readings, config.frame.features).forEach((s, d) => {
    const channel = `channel ${d + 1} (${names[d] ?? '?'})`;
    if (isConstantFeature(s)) {
      issues.push({
        path: 'model.normalization',
        message: `${channel} is constant (${s.min}) in ${file}: it is passed as 0 and the model ignores it`,
      });
      return;
    }
    const robust = robustScale(s);
    if (config.model.normalization !== 'robust' || !robust.floored) return;
    const g = (v: number) => v.toPrecision(3);
    issues.push({
      path: 'model.normalization',
      message: `${channel} has IQR ${g(s.iqr)} against std ${g(s.centralStd)} and range ${g(s.centralRange)} in ${file} (stepped or quantized?): its robust scale is floored at ${g(robust.scale)}`,
    });
  });
  return issues;
}
