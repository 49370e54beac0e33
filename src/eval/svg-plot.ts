/**
 * Small dependency-free SVG line charts for reports: one or more series over a shared
 * x axis, optional shaded x ranges (label windows) and markers (detections).
 */

export interface Series {
  /** Legend text; '' leaves the series out of the legend. */
  name: string;
  /** y per x index; null leaves a gap (e.g. no threshold while calibrating). */
  values: ArrayLike<number | null>;
  color: string;
  /** Draw on the right axis, scaled on its own (e.g. scores beside raw values). */
  rightAxis?: boolean;
}

export interface PlotOptions {
  title: string;
  /** X positions (times or indices), one per value. */
  x: ArrayLike<number>;
  series: Series[];
  /** Shaded ranges [from, to] in x units. */
  ranges?: Array<[number, number]>;
  /** X positions to mark with a red tick at the top. */
  markers?: number[];
  width?: number;
  height?: number;
  /** Formats x tick labels; ISO dates for times by default when x looks like epoch ms. */
  formatX?: (x: number) => string;
}

const esc = (s: string) => s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function extent(values: Iterable<number | null>): [number, number] {
  let lo = Infinity;
  let hi = -Infinity;
  for (const v of values) {
    if (v === null || !Number.isFinite(v)) continue;
    if (v < lo) lo = v;
    if (v > hi) hi = v;
  }
  if (lo === Infinity) return [0, 1];
  if (lo === hi) return [lo - 1, hi + 1];
  return [lo, hi];
}

/**
 * An SVG document of the plot. Long series are drawn at most ~2 points per pixel (min and
 * max per column), so a 20,000-row file stays a small image.
 *
 * @example writeFileSync('plot.svg', linePlot({ title: 'pump-1', x: times, series: [{ name: 'score', values, color: '#c00' }] }))
 */
export function linePlot(options: PlotOptions): string {
  const width = options.width ?? 960;
  const height = options.height ?? 260;
  const pad = { left: 56, right: 56, top: 28, bottom: 28 };
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = options.x.length;
  const [x0, x1] = extent(Array.from(options.x));
  const sx = (x: number) => pad.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const left = options.series.filter((s) => !s.rightAxis);
  const right = options.series.filter((s) => s.rightAxis);
  const axis = (group: Series[]) => extent(group.flatMap((s) => Array.from(s.values)));
  const [l0, l1] = axis(left);
  const [r0, r1] = axis(right);
  const sy = (y: number, onRight: boolean) => {
    const [a, b] = onRight ? [r0, r1] : [l0, l1];
    return pad.top + plotH - ((y - a) / (b - a || 1)) * plotH;
  };
  const formatX =
    options.formatX ??
    ((x: number) => (x > 1e11 ? new Date(x).toISOString().slice(0, 10) : String(Math.round(x))));

  const parts: string[] = [];
  parts.push(
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" viewBox="0 0 ${width} ${height}" font-family="sans-serif" font-size="11">`,
    `<rect width="100%" height="100%" fill="#fff"/>`,
    `<text x="${pad.left}" y="16" font-size="13" font-weight="bold">${esc(options.title)}</text>`,
  );
  for (const [from, to] of options.ranges ?? []) {
    const a = sx(Math.max(from, x0));
    const b = sx(Math.min(to, x1));
    if (b > a)
      parts.push(
        `<rect x="${a.toFixed(1)}" y="${pad.top}" width="${(b - a).toFixed(1)}" height="${plotH}" fill="#fde9b5" opacity="0.7"/>`,
      );
  }
  parts.push(
    `<rect x="${pad.left}" y="${pad.top}" width="${plotW}" height="${plotH}" fill="none" stroke="#999"/>`,
  );
  for (const s of options.series) {
    const onRight = s.rightAxis === true;
    // Down-sample to min/max per pixel column.
    const columns = new Map<number, { min: number; max: number; first: number; last: number }>();
    const segments: string[] = [];
    let path = '';
    let prevColumn = -1;
    const flushColumn = (col: number) => {
      const c = columns.get(col);
      if (!c) return;
      const x = (pad.left + col).toFixed(1);
      path += `${path ? 'L' : 'M'}${x},${sy(c.first, onRight).toFixed(1)}L${x},${sy(c.min, onRight).toFixed(1)}L${x},${sy(c.max, onRight).toFixed(1)}L${x},${sy(c.last, onRight).toFixed(1)}`;
      columns.delete(col);
    };
    for (let i = 0; i < n; i++) {
      const v = s.values[i];
      if (v === null || v === undefined || !Number.isFinite(v)) {
        flushColumn(prevColumn);
        if (path) segments.push(path);
        path = '';
        prevColumn = -1;
        continue;
      }
      const col = Math.round(sx(options.x[i]) - pad.left);
      if (col !== prevColumn) {
        flushColumn(prevColumn);
        prevColumn = col;
      }
      const c = columns.get(col);
      if (c) {
        c.min = Math.min(c.min, v);
        c.max = Math.max(c.max, v);
        c.last = v;
      } else columns.set(col, { min: v, max: v, first: v, last: v });
    }
    flushColumn(prevColumn);
    if (path) segments.push(path);
    for (const d of segments)
      parts.push(`<path d="${d}" fill="none" stroke="${s.color}" stroke-width="1"/>`);
  }
  for (const m of options.markers ?? []) {
    const x = sx(m).toFixed(1);
    parts.push(
      `<line x1="${x}" x2="${x}" y1="${pad.top}" y2="${pad.top + 10}" stroke="#d00" stroke-width="2"/>`,
    );
  }
  const tick = (v: number) =>
    Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2);
  if (left.length) {
    parts.push(`<text x="${pad.left - 4}" y="${pad.top + 8}" text-anchor="end">${tick(l1)}</text>`);
    parts.push(
      `<text x="${pad.left - 4}" y="${pad.top + plotH}" text-anchor="end">${tick(l0)}</text>`,
    );
  }
  if (right.length) {
    parts.push(`<text x="${pad.left + plotW + 4}" y="${pad.top + 8}">${tick(r1)}</text>`);
    parts.push(`<text x="${pad.left + plotW + 4}" y="${pad.top + plotH}">${tick(r0)}</text>`);
  }
  parts.push(`<text x="${pad.left}" y="${height - 8}">${esc(formatX(x0))}</text>`);
  parts.push(
    `<text x="${pad.left + plotW}" y="${height - 8}" text-anchor="end">${esc(formatX(x1))}</text>`,
  );
  let legendX = pad.left + 200;
  for (const s of options.series) {
    if (s.name === '') continue; // unnamed series (e.g. the 2nd..nth channel) share the legend entry before them
    parts.push(
      `<rect x="${legendX}" y="8" width="12" height="3" fill="${s.color}"/><text x="${legendX + 16}" y="13">${esc(s.name)}${s.rightAxis ? ' (right)' : ''}</text>`,
    );
    legendX += 24 + s.name.length * 7 + (s.rightAxis ? 42 : 0);
  }
  parts.push('</svg>');
  return parts.join('\n');
}
