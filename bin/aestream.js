#!/usr/bin/env -S node --max-semi-space-size=64 --single-threaded-gc
'use strict';
// The installed entry point: runs the compiled CLI (npm run build writes dist/).
// --max-semi-space-size=64 (MB; V8's default here is 16): the detector allocates short-lived
// records at a high rate. bench:e2e at 18,786 frames/s, 120 s runs in turn: scavenges ~920
// taking 4.4-4.9 s with the default, ~450 taking 3.0-4.0 s with 32, ~216 taking 1.4-1.7 s with
// 64; latency p99 78/364, 2,591/142 and 57/68/67/51 ms. The young generation cannot be resized
// once V8 runs, hence this line; `node bin/aestream.js` (no flag) works too, with V8's default.
// --single-threaded-gc: V8's parallel and concurrent GC helpers (4 threads here) took about
// 0.3 core beside the detector's main thread on this 2-core machine, more CPU per frame than
// the collections they shortened. bench:e2e detect-only, 1,000,000 frames, in turn: 11.5 11.4
// 11.5 12.5 13.0 -> 10.4 10.8 11.2 11.2 10.8 ms per 1,000 frames; latency p99 at 20,000
// frames/s 28 -> 29 ms (scavenges 4.0 -> 6.4 ms). Scale out with partitions and processes.
// The Dockerfile's ENTRYPOINT passes the same flags (test/unit/deploy.test.ts checks).
// V8 pretenures allocation sites whose objects outlive young-generation collections, e.g.
// while the detector catches up on a backlog; afterwards, at a steady rate, its short-lived
// records were still allocated in the old generation: 2x the scavenge time, 2x the full
// collections, and a latency p99 of 174 vs 86 ms (bench:e2e, 60 s at half rate). Off unless
// node is started with an allocation-site-pretenuring flag of its own.
// Old-generation headroom: V8 starts marking whenever what it may still promote before its
// limit is less than the young generation (64 MB above). Its own growing factor (here about
// 1.65 over the ~42 MB live after a full collection) left less than that, so the detector
// marked without pause: 61 full collections in 120 s at 20,000 frames/s, 9 of them over 10 ms.
// A limit of 3x what is live after a full collection: 4 in 120 s, latency p99 41 -> 31 ms.
// Left alone if node is started with a heap-growing-percent of its own.
const v8 = require('node:v8');
const ownFlag = (name) => process.execArgv.some((a) => a.includes(name));
if (!ownFlag('allocation-site-pretenuring'))
  v8.setFlagsFromString('--no-allocation-site-pretenuring');
if (!ownFlag('heap-growing-percent')) v8.setFlagsFromString('--heap-growing-percent=200');
// A reader that stops early (`aestream ... | head`) closes stdout: end quietly, as Unix tools do.
process.stdout.on('error', (err) => {
  if (err && err.code === 'EPIPE') process.exit(0);
  throw err;
});
// When a command is done (or failed, or was stopped by a signal) it has closed what it opened,
// each close within its deadline; a client socket still pending (kafkajs retrying a broker
// that never answered) must not keep the process alive, so it ends a moment later.
const exitSoon = () =>
  require('node:timers')
    .setTimeout(() => process.exit(), 1000)
    .unref();
// Nothing is logged after the command's last line (a client still retrying in that moment).
const quiet = () => (require('../dist/observability/logger.js').logger.level = 'silent');
try {
  require('../dist/cli/main.js').main(process.argv).then(quiet).then(exitSoon);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main')) {
    console.error('aestream is not built yet: run `npm run build` first.');
    process.exit(1);
  }
  throw err;
}
