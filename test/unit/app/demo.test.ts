/**
 * @jest-environment ./test/helpers/shared-typed-arrays-env.js
 */
import { existsSync, readFileSync } from 'node:fs';

import { join } from 'node:path';
import { runDemo } from '../../../src/app/demo';
import { tempDir } from '../../helpers/temp-dir';

/**
 * The embedded default, as the README's first command runs it (smaller): no services,
 * a model trained on the opening stretch, every frame scored, most injected anomalies
 * found with few false events, and a report to open.
 */
describe('aestream demo', () => {
  it('trains, detects the injected anomalies and writes its report', async () => {
    const out = tempDir('aestream-demo-');
    const summary = await runDemo({ seed: 3, sources: 3, length: 3000, out });

    // 25 % of each sensor trains the model and is not streamed.
    expect(summary.frames).toBe(3 * 2250);
    expect(summary.scored).toBe(summary.frames);
    expect(summary.match.injected).toBe(9);
    expect(summary.match.recall).toBeGreaterThanOrEqual(7 / 9);
    expect(summary.match.precision).toBeGreaterThanOrEqual(0.9);
    expect(summary.modelVersion).toBe('v000001');

    expect(existsSync(join(out, 'models', 'v000001', 'metadata.json'))).toBe(true);
    const html = readFileSync(summary.reportPath, 'utf8');
    expect(html.match(/<svg /g)).toHaveLength(3);
    expect(html).toContain('recall (anomalies found)');
    const saved = JSON.parse(readFileSync(join(out, 'summary.json'), 'utf8')) as { frames: number };
    expect(saved.frames).toBe(summary.frames);
  }, 300_000);

  it('finds every injected anomaly with no false event as the README runs it (defaults)', async () => {
    const summary = await runDemo({ out: tempDir('aestream-demo-defaults-') });
    expect(summary.match.injected).toBe(18);
    expect(summary.match.found).toBe(18);
    expect(summary.match.falseEvents).toBe(0);
  }, 600_000);
});
