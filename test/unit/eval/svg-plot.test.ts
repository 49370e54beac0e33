import { linePlot } from '../../../src/eval/svg-plot';

describe('linePlot', () => {
  it('draws each series, splits a series at gaps, shades ranges and marks detections', () => {
    const x = [0, 1, 2, 3, 4, 5];
    const svg = linePlot({
      title: 'pump <1>',
      x,
      series: [
        { name: 'value', values: [1, 2, 3, 2, 1, 0], color: '#333' },
        { name: 'threshold', values: [null, null, 2, 2, 2, 2], color: '#c00', rightAxis: true },
      ],
      ranges: [[1, 2]],
      markers: [3, 4],
    });
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg.trim().endsWith('</svg>')).toBe(true);
    expect(svg).toContain('pump &lt;1&gt;');
    expect(svg.match(/<path /g)).toHaveLength(2);
    expect(svg.match(/stroke="#d00"/g)).toHaveLength(2);
    expect(svg).toContain('fill="#fde9b5"');
    expect(svg).toContain('threshold (right)');
  });

  it('keeps a long series small: at most a few points per pixel column', () => {
    const n = 100_000;
    const x = Array.from({ length: n }, (_, i) => i);
    const values = x.map((i) => Math.sin(i / 100));
    const svg = linePlot({
      title: 'long',
      x,
      series: [{ name: 's', values, color: '#000' }],
      width: 500,
    });
    const points = (svg.match(/[ML]\d/g) ?? []).length;
    expect(points).toBeLessThanOrEqual(4 * 500);
    expect(points).toBeGreaterThan(500);
  });
});
