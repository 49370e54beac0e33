import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { MultiBar, Presets, type SingleBar } from 'cli-progress';
import { Command } from 'commander';
import { parse as parseYaml } from 'yaml';
import { loadPipeline } from '../config/load-pipeline';
import { AeError, ConfigError, ErrorCodes } from '../core/errors';
import type { PartitionProgress } from '../connectors/kafka/kafka-range-source';
import type { ReplaySummary } from '../app/replay';
import { parsePosition } from './options';

interface ReplayOpts {
  pipeline: string;
  from: string;
  to: string;
  model?: string;
  threshold?: string;
  thresholdState?: string;
  saveThresholdState?: string;
  warmFrom?: string;
  outTopic?: string;
  rate: string;
  runId?: string;
  diff?: boolean;
  diffOut?: string;
  progress: boolean;
  json?: boolean;
}

/** `--rate`: records per second ("500", "500/s"), or "max" (null: no limit). */
export function parseRate(value: string): number | null {
  const v = value.trim().toLowerCase();
  if (v === 'max') return null;
  const n = Number(v.replace(/\/s$/, ''));
  if (!(n > 0) || !Number.isFinite(n)) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--rate must be records per second (e.g. 500 or 500/s) or "max", got '${value}'`,
    );
  }
  return n;
}

/** `--model`: a version number, with or without its "v" (7, v7, v000007). */
export function parseModelVersion(value: string): number {
  const n = Number(value.replace(/^v/i, ''));
  if (!Number.isInteger(n) || n < 1) {
    throw new AeError(
      ErrorCodes.CLI_USAGE,
      `--model must be a model version (e.g. v3), got '${value}'`,
    );
  }
  return n;
}

/**
 * `--threshold`: a YAML file, or inline YAML (`{ risk: 1.0e-3 }`), holding keys of the
 * pipeline's `threshold:` section.
 */
export function readThresholdOverride(value: string): { doc: unknown; file: string } {
  if (existsSync(value)) {
    try {
      return { doc: parseYaml(readFileSync(value, 'utf8')), file: value };
    } catch (err) {
      throw new ConfigError(ErrorCodes.CONFIG_YAML, value, [
        { path: '', message: (err as Error).message.split('\n')[0]! },
      ]);
    }
  }
  if (!/^\s*\{/.test(value)) {
    throw new ConfigError(ErrorCodes.CONFIG_FILE_NOT_FOUND, value, [
      {
        path: '',
        message: 'no such file (give a YAML file or inline YAML such as "{ risk: 1.0e-3 }")',
      },
    ]);
  }
  try {
    return { doc: parseYaml(value), file: '--threshold' };
  } catch (err) {
    throw new ConfigError(ErrorCodes.CONFIG_YAML, '--threshold', [
      { path: '', message: (err as Error).message.split('\n')[0]! },
    ]);
  }
}

/** The summary as the command prints it. */
export function formatSummary(s: ReplaySummary): string {
  const dlq = Object.entries(s.dlq)
    .map(([reason, n]) => `${reason} ${n}`)
    .join(', ');
  const dead = Object.values(s.dlq).reduce((a, b) => a + b, 0);
  const rows: Array<[string, string]> = [
    ['run', s.runId],
    ['range', `${s.topic} from ${s.from} to ${s.to}`],
    ['offsets', s.ranges.map((r) => `${r.partition}:[${r.start},${r.end})`).join(' ')],
    [
      'frames',
      `${s.frames} (${s.scored} scored, ${dead} dead letters)` +
        (s.warmup > 0 ? `, after ${s.warmup} warm-up frames` : ''),
    ],
    ['anomaly events', `${s.anomalies} to ${s.outTopic}`],
    ['dead letters by reason', dead > 0 ? `${dlq} to ${s.dlqTopic}` : 'none'],
    ['model', `${s.model} on ${s.engine}`],
    ['threshold state at start', s.thresholdStart],
    [
      'score points',
      s.influx ? `InfluxDB ${s.influx}, tag run=${s.runId}` : 'none (no output.influx)',
    ],
    ['duration', `${(s.durationMs / 1000).toFixed(1)} s`],
    ['throughput', `${Math.round(s.framesPerSecond).toLocaleString('en-US')} frames/s`],
  ];
  const width = Math.max(...rows.map(([k]) => k.length));
  return ['aestream replay summary', ...rows.map(([k, v]) => `  ${k.padEnd(width)}  ${v}`)].join(
    '\n',
  );
}

/**
 * `aestream replay -p pipeline.yaml --from T1 --to T2`: re-scores a range of the input
 * topic with any model version and threshold settings, to outputs apart from production's.
 * The summary (and the diff table) go to stdout; progress to stderr.
 */
export function replayCommand(): Command {
  return new Command('replay')
    .description(
      'replay a time or offset range of the input topic through the detector, with any model version, to separate outputs',
    )
    .requiredOption('-p, --pipeline <file>', 'pipeline YAML file')
    .requiredOption(
      '--from <spec>',
      'start: ISO time, a time back from now (-1h, -30m, -2d), "earliest", an offset, or offsets per partition (0:120,1:80)',
    )
    .option(
      '--to <spec>',
      'end (exclusive): ISO time, a time back from now (-10m), "now", an offset, or offsets per partition',
      'now',
    )
    .option('--model <version>', 'model version to score with (default: the newest in the store)')
    .option(
      '--threshold <yaml>',
      'threshold overrides: a YAML file or inline YAML, e.g. "{ kind: static, value: 0.5 }"',
    )
    .option('--threshold-state <file>', 'start from saved threshold state instead of warming up')
    .option('--save-threshold-state <file>', 'write the threshold state at the end of the range')
    .option(
      '--warm-from <spec>',
      'read from here before --from to fill windows and thresholds as production did; nothing is written for those frames. "state": start from the state topic\'s records before --from (where compaction left them), then read on from there',
    )
    .option('--out-topic <topic>', 'events topic (default <anomaly topic>.replay)')
    .option('--rate <n>', 'records per second ("500", "500/s") or "max"', 'max')
    .option('--run-id <id>', 'run id: tag run=<id> on score points, header ae.run on events')
    .option('--diff', "compare the replay's events with production's for the same input records")
    .option('--diff-out <file>', 'where --diff writes its JSON (default replay-<run id>.diff.json)')
    .option('--no-progress', 'no progress bar')
    .option('--json', 'print the summary (and diff) as JSON on stdout')
    .addHelpText(
      'after',
      '\nReads the range with a throwaway consumer group that never commits (the production group keeps\n' +
        'its offsets) and stops at the partition ends captured at the start. Runs the same operators as\n' +
        "`detect`. The threshold state starts fresh, warmed by the range's leading frames, unless\n" +
        '--threshold-state or --warm-from is given (--warm-from earliest judges like production did).\n' +
        'Two replays of a range with the same model and settings write\n' +
        "identical events (same ids, scores and bytes; detection time = the frame's event time).\n" +
        '\nExamples:\n' +
        '  aestream replay -p pipelines/sensors.yaml --from 2026-01-01T00:00:00Z --to 2026-01-02T00:00:00Z\n' +
        '  aestream replay -p pipelines/sensors.yaml --from earliest --model v3 --diff\n' +
        '  aestream replay -p pipelines/sensors.yaml --from 2026-01-01T12:00:00Z --warm-from earliest\n' +
        '  aestream replay -p pipelines/sensors.yaml --from -10m --warm-from state\n' +
        '  aestream replay -p pipelines/sensors.yaml --from 0:1000 --to 0:2000 --threshold "{ risk: 1.0e-3 }"',
    )
    .action(async (opts: ReplayOpts) => {
      const config = loadPipeline(opts.pipeline);
      const now = Date.now();
      const from = parsePosition(opts.from, '--from', now);
      const to = parsePosition(opts.to, '--to', now);
      const warmFromState = opts.warmFrom?.toLowerCase() === 'state';
      const warmFrom =
        opts.warmFrom !== undefined && !warmFromState
          ? parsePosition(opts.warmFrom, '--warm-from', now)
          : undefined;
      if (warmFromState && (opts.threshold !== undefined || opts.thresholdState !== undefined)) {
        throw new AeError(
          ErrorCodes.CLI_USAGE,
          "--warm-from state restores production's thresholds: it excludes --threshold and --threshold-state",
        );
      }
      const rate = parseRate(opts.rate);
      const modelVersion = opts.model !== undefined ? parseModelVersion(opts.model) : undefined;
      if (opts.threshold !== undefined && opts.thresholdState !== undefined) {
        throw new AeError(
          ErrorCodes.CLI_USAGE,
          '--threshold and --threshold-state exclude each other (saved state carries its own settings)',
        );
      }
      // Loaded here: tfjs and kafkajs take a while to import and other commands do not need them.
      const { replay } = await import('../app/replay');
      const { asThresholdOverride } = await import('../replay/threshold-override');
      let threshold: Record<string, unknown> | undefined;
      if (opts.threshold !== undefined) {
        const { doc, file } = readThresholdOverride(opts.threshold);
        threshold = asThresholdOverride(doc, file);
      }
      let thresholdState: { text: string; file: string } | undefined;
      if (opts.thresholdState !== undefined) {
        try {
          thresholdState = {
            text: readFileSync(opts.thresholdState, 'utf8'),
            file: opts.thresholdState,
          };
        } catch (err) {
          throw new AeError(
            ErrorCodes.THRESHOLD_STATE,
            `cannot read --threshold-state ${opts.thresholdState} (${(err as NodeJS.ErrnoException).code ?? 'error'})`,
            { cause: err },
          );
        }
      }
      let multibar: MultiBar | undefined;
      const bars = new Map<number, SingleBar>();
      const showBars = opts.progress && process.stderr.isTTY;
      const summary = await replay(config, {
        from,
        to,
        rate,
        ...(modelVersion !== undefined ? { modelVersion } : {}),
        ...(threshold ? { threshold } : {}),
        ...(thresholdState ? { thresholdState } : {}),
        ...(warmFrom ? { warmFrom } : {}),
        ...(warmFromState ? { warmFromState } : {}),
        ...(opts.saveThresholdState !== undefined ? { keepThresholdState: true } : {}),
        ...(opts.outTopic !== undefined ? { outTopic: opts.outTopic } : {}),
        ...(opts.runId !== undefined ? { runId: opts.runId } : {}),
        ...(opts.diff ? { diff: true } : {}),
        onStart: (s) => {
          console.error(
            `replaying ${s.total} records of ${s.topic} with model ${s.model} (run ${s.runId}) to ${s.outTopic}`,
          );
          if (!showBars) return;
          multibar = new MultiBar(
            {
              format: 'partition {partition} |{bar}| {value}/{total} offsets',
              stream: process.stderr,
              hideCursor: true,
            },
            Presets.shades_classic,
          );
          for (const r of s.ranges) {
            if (r.end > r.start)
              bars.set(
                r.partition,
                multibar.create(r.end - r.start, 0, { partition: r.partition }),
              );
          }
        },
        onProgress: (progress: readonly PartitionProgress[]) => {
          for (const p of progress) bars.get(p.partition)?.update(p.acked);
        },
      });
      multibar?.stop();
      if (opts.saveThresholdState !== undefined && summary.finalThresholdState !== undefined) {
        writeFileSync(opts.saveThresholdState, summary.finalThresholdState + '\n');
      }

      let diffFile: string | undefined;
      if (summary.diff) {
        const { diffJson } = await import('../replay/event-diff');
        diffFile = opts.diffOut ?? `replay-${summary.runId}.diff.json`;
        const json = diffJson(summary.diff, {
          run: summary.runId,
          pipeline: summary.pipeline,
          topic: summary.topic,
          from: summary.from,
          to: summary.to,
          ranges: summary.ranges,
          model: summary.model,
          productionTopic: config.output.kafka.topic,
          replayTopic: summary.outTopic,
          unreadableProductionEvents: summary.unreadableProductionEvents ?? 0,
        });
        writeFileSync(diffFile, JSON.stringify(json, null, 2) + '\n');
      }
      if (opts.json) {
        const { diff, finalThresholdState: _state, ...rest } = summary;
        console.log(
          JSON.stringify({ ...rest, ...(diff ? { diff: diff.rows, diffFile } : {}) }, null, 2),
        );
        return;
      }
      console.log(formatSummary(summary));
      if (summary.diff) {
        const { diffTable } = await import('../replay/event-diff');
        console.log(
          `\nevents against production (${config.output.kafka.topic}), matched by input record:`,
        );
        console.log(diffTable(summary.diff));
        if (summary.unreadableProductionEvents)
          console.log(
            `(${summary.unreadableProductionEvents} production events could not be decoded)`,
          );
        console.log(`diff saved to ${diffFile}`);
      }
    });
}
