import { execFileSync } from 'node:child_process';
import { existsSync, writeFileSync } from 'node:fs';

import { join } from 'node:path';
import type { InjectedAnomaly } from '../../../src/connectors/synthetic-source';
import { demoReport, incidents, type SourceTrace } from '../../../src/eval/demo-report';
import { matchEvents } from '../../../src/eval/event-matching';
import { tempDir } from '../../helpers/temp-dir';

const T0 = Date.UTC(2026, 0, 1);
const MIN = 60_000;
const TAIL = 16 * MIN;

/** Two sources a minute apart for 10 h: an anomaly on each, sensor-0's threshold spiking once to 1.4e7. */
function run(): { traces: SourceTrace[]; anomalies: InjectedAnomaly[] } {
  const anomalies: InjectedAnomaly[] = ['sensor-0', 'sensor-1'].map((source, s) => ({
    source,
    kind: 'spike',
    start: 200 + s * 100,
    end: 210 + s * 100,
    startTime: T0 + (200 + s * 100) * MIN,
    endTime: T0 + (209 + s * 100) * MIN,
    features: [0],
    magnitude: 4,
  })) as unknown as InjectedAnomaly[];
  const traces = ['sensor-0', 'sensor-1'].map((source, s): SourceTrace => {
    const times = Array.from({ length: 600 }, (_, i) => T0 + i * MIN);
    const on = (i: number) => i >= 200 + s * 100 && i < 210 + s * 100;
    return {
      source,
      times,
      values: times.map((_, i) => [Math.sin(i / 20), on(i) ? 4 : Math.cos(i / 20)]),
      scores: times.map((_, i) => (i < 50 ? null : on(i) ? 0.5 : 0.01 + 0.005 * Math.sin(i))),
      thresholds: times.map((_, i) => (i < 50 ? null : s === 0 && i === 400 ? 1.4e7 : 0.02)),
      // the anomaly's readings, and one false event 3 h later on sensor-1
      events: times.filter((_, i) => on(i) || (s === 1 && i === 480)),
    };
  });
  return { traces, anomalies };
}

describe('demo report', () => {
  it('lists incidents with their first event, duration, false events and the anomaly they are on', () => {
    const { traces, anomalies } = run();
    const found = incidents(traces, anomalies, TAIL);
    expect(
      found.map((i) => [
        i.source,
        i.firstEvent - T0,
        i.lastEvent - i.firstEvent,
        i.events,
        i.falseEvents,
        i.anomalies.length,
      ]),
    ).toEqual([
      ['sensor-0', 200 * MIN, 9 * MIN, 10, 0, 1],
      ['sensor-1', 300 * MIN, 9 * MIN, 10, 0, 1],
      ['sensor-1', 480 * MIN, 0, 1, 1, 0],
    ]);
    const html = reportOf(traces, anomalies);
    expect(html).toContain(
      '<td>sensor-1</td><td>2026-01-01 08:00 UTC</td><td>0 min</td><td>1</td><td>1</td><td>none (false alarm)</td>',
    );
    expect(html).toContain('spike at 2026-01-01 03:20 UTC');
  });

  it('renders in headless Chromium: every chart drawn, within the page, scores visible beside a threshold spike', () => {
    const chromium = process.env.CHROMIUM ?? '/usr/bin/chromium';
    if (!existsSync(chromium)) {
      throw new Error(
        `${chromium} is missing: this test renders the report in Debian's chromium (apt-get install chromium; .ci/run installs it), or set CHROMIUM`,
      );
    }
    const { traces, anomalies } = run();
    const probe = `<pre id="probe"></pre><script>
      const page = document.documentElement.clientWidth;
      const charts = [...document.querySelectorAll('svg')].map((svg) => {
        const box = svg.getBoundingClientRect();
        const view = svg.viewBox.baseVal;
        const inside = (b) => b.x >= -0.5 && b.y >= -0.5 && b.x + b.width <= view.width + 0.5 && b.y + b.height <= view.height + 0.5;
        const paths = [...svg.querySelectorAll('path')].filter((p) => (p.getAttribute('d') || '').length > 10);
        const score = [...svg.querySelectorAll('path[stroke="#222"]')].map((p) => p.getBBox().height);
        const frame = svg.querySelectorAll('rect')[1] ? [...svg.querySelectorAll('rect[stroke="#999"]')][0].getBBox() : null;
        return {
          left: box.left, right: box.right, width: box.width, height: box.height,
          paths: paths.length,
          outside: [...svg.querySelectorAll('path, text, line')].filter((e) => !inside(e.getBBox())).map((e) => e.outerHTML.slice(0, 80)),
          scoreHeight: Math.max(0, ...score) / (frame ? frame.height : 1),
          ticks: svg.querySelectorAll('text').length,
        };
      });
      document.getElementById('probe').textContent = JSON.stringify({ page, charts });
    </script>`;
    const dir = tempDir('aestream-report-');
    const file = join(dir, 'report.html');
    writeFileSync(file, reportOf(traces, anomalies).replace('</body>', `${probe}</body>`));
    const dom = execFileSync(
      chromium,
      [
        '--headless',
        '--no-sandbox',
        '--disable-gpu',
        '--window-size=800,600',
        '--dump-dom',
        `file://${file}`,
      ],
      { encoding: 'utf8', timeout: 120_000, stdio: ['ignore', 'pipe', 'ignore'] },
    );
    const json = /<pre id="probe">([^<]*)<\/pre>/.exec(dom)?.[1];
    expect(json).toBeDefined();
    const { page, charts } = JSON.parse(json!.replace(/&quot;/g, '"').replace(/&amp;/g, '&')) as {
      page: number;
      charts: Array<{
        left: number;
        right: number;
        width: number;
        height: number;
        paths: number;
        outside: string[];
        scoreHeight: number;
        ticks: number;
      }>;
    };
    expect(charts).toHaveLength(2);
    for (const c of charts) {
      expect(c.width).toBeGreaterThan(100);
      expect(c.height).toBeGreaterThan(50);
      expect(c.left).toBeGreaterThanOrEqual(0);
      expect(c.right).toBeLessThanOrEqual(page + 0.5);
      // two features, the score and the threshold
      expect(c.paths).toBeGreaterThanOrEqual(4);
      expect(c.outside).toEqual([]);
      // tick labels on three axes, not only the ends
      expect(c.ticks).toBeGreaterThan(12);
      // the score (0.005 to 0.5) spans a visible part of the plot, also on sensor-0 beside its
      // threshold spike to 1.4e7 (on a linear axis it would be a flat line at the bottom)
      expect(c.scoreHeight).toBeGreaterThan(0.1);
    }
  });
});

function reportOf(traces: SourceTrace[], anomalies: InjectedAnomaly[]): string {
  const events = traces.flatMap((t) =>
    t.events.map((eventTime) => ({ source: t.source, eventTime })),
  );
  return demoReport({
    title: 'test report',
    summary: [['frames', '1200']],
    match: matchEvents(anomalies, events, TAIL),
    traces,
    anomalies,
  });
}
