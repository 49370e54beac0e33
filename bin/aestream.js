#!/usr/bin/env node
'use strict';
// The installed entry point: runs the compiled CLI (npm run build writes dist/).
try {
  require('../dist/cli/main.js').main(process.argv);
} catch (err) {
  if (err && err.code === 'MODULE_NOT_FOUND' && String(err.message).includes('dist/cli/main')) {
    console.error('aestream is not built yet: run `npm run build` first.');
    process.exit(1);
  }
  throw err;
}
