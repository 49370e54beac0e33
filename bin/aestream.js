#!/usr/bin/env node
'use strict';
// The installed entry point: runs the compiled CLI (npm run build writes dist/).
// V8 pretenures allocation sites whose objects outlive young-generation collections, e.g.
// while the detector catches up on a backlog; afterwards, at a steady rate, its short-lived
// records were still allocated in the old generation: 2x the scavenge time, 2x the full
// collections, and a latency p99 of 174 vs 86 ms (bench:e2e, 60 s at half rate). Off unless
// node is started with an allocation-site-pretenuring flag of its own.
if (!process.execArgv.some((a) => a.includes('allocation-site-pretenuring'))) {
  require('node:v8').setFlagsFromString('--no-allocation-site-pretenuring');
}
try {
  require('../dist/cli/main.js').main(process.argv);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main')) {
    console.error('aestream is not built yet: run `npm run build` first.');
    process.exit(1);
  }
  throw err;
}
