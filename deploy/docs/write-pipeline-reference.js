// Writes the pipeline-file reference, rendered from the zod schemas, between the markers in
// README.md. Run by `npm run docs` after a build; test/unit/pipeline-docs.test.ts fails when
// the README and the schemas disagree.
const { readFileSync, writeFileSync } = require('node:fs');
const { join } = require('node:path');
const { renderPipelineReference, withReference } = require('../../dist/config/pipeline-docs');

const readme = join(__dirname, '..', '..', 'README.md');
const before = readFileSync(readme, 'utf8');
const after = withReference(before, renderPipelineReference());
if (after === before) {
  console.log('README.md: pipeline reference up to date');
} else {
  writeFileSync(readme, after);
  console.log('README.md: pipeline reference rewritten from the schemas');
}
