/**
 * Redo after a SIGKILL, against `input.kafka.maxInFlight` and `commitIntervalMs`: the built
 * detector (its own process, state changelog on) scores 12 sources x 1,000 readings on the
 * running stack, is killed once it has scored `--kill-at` of them, and a new one finishes.
 * Counts the events written twice (same ids: what consumers dedupe) and the frames scored
 * twice (scored before the kill + after the restart - produced). A program, not a test: the
 * figures depend on the machine's speed. Prints a table, writes bench/results/redo.json.
 *
 * `--rate 0` (default) produces every frame first: a detector catching up on a backlog;
 * `--rate 2000` produces that many a second while it runs: one keeping up.
 *
 *   npm run bench:redo -- --in-flight 10000,1000,200 --commit-ms 1000,200 --repeats 2
 *   npm run bench:redo -- --rate 2000 --readings 2500 --in-flight 10000,200
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { SyntheticSource } from '../src/connectors/synthetic-source';
import type { SensorFrame } from '../src/core/records';
import { logEntries, type DetectorProcess } from '../test/helpers/detector-process';
import { committedAtLeast, pipelineFixture } from '../test/helpers/pipeline-fixture';
import { waitFor } from '../test/helpers/wait-for';

const { values: args } = parseArgs({
  options: {
    'in-flight': { type: 'string', default: '10000,1000,200' },
    'commit-ms': { type: 'string', default: '1000,200' },
    repeats: { type: 'string', default: '2' },
    'kill-at': { type: 'string', default: '0.5' },
    readings: { type: 'string', default: '5000' },
    // Frames per second produced while the detectors run; 0: all of them before (a backlog).
    rate: { type: 'string', default: '0' },
  },
});
const list = (s: string) => s.split(',').map(Number);

interface Run {
  rate: number;
  maxInFlight: number;
  commitIntervalMs: number;
  frames: number;
  scoredAtKill: number;
  /** The first detector's scoring rate until the kill (the throughput side of the trade-off). */
  framesPerSecond: number;
  framesRedone: number;
  events: number;
  eventsTwice: number;
}

/** The frames a detector has scored so far, from its metrics endpoint (null before it serves). */
async function scored(p: DetectorProcess): Promise<number | null> {
  const port = logEntries(p).find((l) => l.msg === 'detector started')?.metricsPort;
  if (typeof port !== 'number') return null;
  const text = await fetch(`http://127.0.0.1:${port}/metrics`)
    .then((r) => r.text())
    .catch(() => '');
  const line = text.split('\n').find((l) => l.startsWith('aestream_frames_scored_total{'));
  return line ? Number(line.split(' ').at(-1)) : null;
}

/** Produces the frames at once (rate 0), or `rate` a second in tenths of a second. */
async function produce(
  f: Awaited<ReturnType<typeof pipelineFixture>>,
  frames: SensorFrame[],
  rate: number,
): Promise<void> {
  if (rate <= 0) return f.produce(frames);
  const chunk = Math.max(1, Math.round(rate / 10));
  const started = Date.now();
  for (let i = 0; i < frames.length; i += chunk) {
    await f.produce(frames.slice(i, i + chunk));
    const due = started + ((i + chunk) / rate) * 1000;
    await new Promise((r) => setTimeout(r, Math.max(0, due - Date.now())));
  }
}

async function once(maxInFlight: number, commitIntervalMs: number, killAt: number): Promise<Run> {
  const f = await pipelineFixture('redo', {
    partitions: { input: 6, anomalies: 3, dlq: 1 },
    model: true,
    // As detect-crash: half the frames are events (ksigma k = 3), one engine for both processes.
    yaml: {
      input: { kafka: { commitIntervalMs, maxInFlight } },
      model: { engine: 'onnx' },
      threshold: { kind: 'ksigma', k: 3, calibration: 30 },
    },
  });
  try {
    const readings = Number(args.readings);
    const gen = new SyntheticSource({
      seed: 4,
      sources: 12,
      length: readings,
      anomaliesPerSource: 2,
    });
    const frames = [...gen.frames()];
    const rate = Number(args.rate);
    const produced = produce(f, frames, rate);
    const first = f.spawn();
    let scoredAtKill = 0;
    let firstScoredAt = 0;
    await waitFor(
      async () => {
        scoredAtKill = (await scored(first)) ?? 0;
        if (scoredAtKill > 0 && firstScoredAt === 0) firstScoredAt = Date.now();
        return scoredAtKill >= killAt * frames.length;
      },
      { what: 'the first detector to score its share', timeoutMs: 180_000, intervalMs: 20 },
    );
    const framesPerSecond = Math.round(scoredAtKill / ((Date.now() - firstScoredAt) / 1000));
    first.child.kill('SIGKILL');
    await first.exited;
    const second = f.spawn();
    await produced;
    await committedAtLeast(f, frames.length, 'every frame committed', { timeoutMs: 180_000 });
    const after = (await scored(second)) ?? 0;
    second.child.kill('SIGTERM');
    await second.exited;
    const all = await f.events();
    const events = new Set(all.map((e) => e.id)).size;
    return {
      rate,
      maxInFlight,
      commitIntervalMs,
      frames: frames.length,
      scoredAtKill,
      framesPerSecond,
      framesRedone: scoredAtKill + after - frames.length,
      events,
      eventsTwice: all.length - events,
    };
  } finally {
    await f.teardown();
  }
}

async function main(): Promise<void> {
  const runs: Run[] = [];
  for (const commitMs of list(args['commit-ms']))
    for (const inFlight of list(args['in-flight']))
      for (let r = 0; r < Number(args.repeats); r++) {
        const run = await once(inFlight, commitMs, Number(args['kill-at']));
        runs.push(run);
        console.log(JSON.stringify(run));
      }
  console.log(
    '\nrate  maxInFlight  commitMs  scored@kill  frames/s  redone frames  events twice / distinct',
  );
  for (const r of runs)
    console.log(
      `${String(r.rate).padStart(4)}  ${String(r.maxInFlight).padStart(11)}  ${String(r.commitIntervalMs).padStart(8)}  ${String(r.scoredAtKill).padStart(11)}  ${String(r.framesPerSecond).padStart(8)}  ${String(r.framesRedone).padStart(13)}  ${r.eventsTwice} / ${r.events}`,
    );
  mkdirSync('bench/results', { recursive: true });
  writeFileSync(
    'bench/results/redo.json',
    `${JSON.stringify({ at: new Date().toISOString(), runs }, null, 2)}\n`,
  );
}

main().then(
  () => process.exit(0),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
