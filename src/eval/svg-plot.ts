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
  /**
   * Ticks with labels and light grid lines on every axis (about this many per axis) instead of
   * only the ends; x ticks fall on round times when x is epoch ms.
   */
  ticks?: number;
  /** Caption under the x axis, e.g. `event time (UTC)`. */
  xLabel?: string;
  /** Scale of the right axis: `log` keeps small values visible beside a spike (values <= 0 sit at the bottom). */
  rightScale?: 'linear' | 'log';
  /** X ranges to mark with a red bar at the top (e.g. runs of detections), each with a tick at its start. */
  markerRanges?: Array<[number, number]>;
}

/** About `count` round steps (1, 2, 5 x 10^k) between lo and hi. */
export function niceTicks(lo: number, hi: number, count: number): number[] {
  const raw = (hi - lo) / Math.max(1, count);
  if (!(raw > 0) || !Number.isFinite(raw)) return [lo];
  const mag = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) ?? 10 * mag;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) {
    out.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  }
  return out;
}

const TIME_STEPS = [
  1,
  5,
  15,
  30,
  60,
  300,
  900,
  1800,
  3600,
  3 * 3600,
  6 * 3600,
  12 * 3600,
  86400,
  2 * 86400,
  7 * 86400,
].map((s) => s * 1000);

/** About `count` ticks on round UTC times (whole minutes, hours, days) between lo and hi (epoch ms). */
export function timeTicks(lo: number, hi: number, count: number): number[] {
  const step =
    TIME_STEPS.find((s) => (hi - lo) / s <= count) ??
    niceTicks(0, (hi - lo) / count, 1)[1] ??
    hi - lo;
  const out: number[] = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi; v += step) out.push(v);
  return out;
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
  const pad = padOf(options);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const n = options.x.length;
  const [x0, x1] = extent(Array.from(options.x));
  const sx = (x: number) => pad.left + ((x - x0) / (x1 - x0 || 1)) * plotW;
  const left = options.series.filter((s) => !s.rightAxis);
  const right = options.series.filter((s) => s.rightAxis);
  const axis = (group: Series[]) => extent(group.flatMap((s) => Array.from(s.values)));
  const [l0, l1] = axis(left);
  const logRight = options.rightScale === 'log';
  // On a log axis, values are drawn as log10; the smallest positive value is the floor.
  const positive = right
    .flatMap((s) => Array.from(s.values))
    .filter((v): v is number => v !== null && v > 0);
  const floor = positive.length ? Math.min(...positive) : 1;
  const onRightScale = (y: number) => (logRight ? Math.log10(Math.max(y, floor)) : y);
  const [r0, r1] = logRight
    ? extent(positive.length ? positive.map(Math.log10) : [0])
    : axis(right);
  const sy = (y: number, onRight: boolean) => {
    const [a, b] = onRight ? [r0, r1] : [l0, l1];
    const v = onRight ? onRightScale(y) : y;
    return pad.top + plotH - ((v - a) / (b - a || 1)) * plotH;
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
  const gridAt = parts.length; // grid lines go under the series
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
  for (const [from, to] of options.markerRanges ?? []) {
    const a = sx(Math.max(from, x0));
    const b = Math.max(a + 2, sx(Math.min(to, x1)));
    parts.push(
      `<rect x="${a.toFixed(1)}" y="${pad.top}" width="${(b - a).toFixed(1)}" height="4" fill="#d00"/>`,
      `<line x1="${a.toFixed(1)}" x2="${a.toFixed(1)}" y1="${pad.top}" y2="${pad.top + 10}" stroke="#d00" stroke-width="2"/>`,
    );
  }
  const tick = (v: number) =>
    Math.abs(v) >= 1000 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2);
  if (options.ticks !== undefined) {
    const grid: string[] = [];
    axisTicks(grid, parts, options, {
      x0,
      x1,
      l0,
      l1,
      r0,
      r1,
      left,
      right,
      logRight,
      formatX,
      tick,
    });
    parts.splice(gridAt, 0, ...grid);
    return finish(parts, options, pad, height);
  }
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
  return finish(parts, options, pad, height);
}

const PAD = { left: 56, right: 56, top: 28, bottom: 28 };

/** Margins around the plot area; tick labels and the x caption need a taller bottom. */
function padOf(options: PlotOptions): typeof PAD {
  return options.ticks !== undefined ? { ...PAD, bottom: 42 } : PAD;
}

/** The legend and the closing tag. */
function finish(parts: string[], options: PlotOptions, pad: typeof PAD, height: number): string {
  void height;
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

/** Tick marks, labels and grid lines on the left, right and x axes (the `ticks` option). */
function axisTicks(
  grid: string[],
  parts: string[],
  options: PlotOptions,
  a: {
    x0: number;
    x1: number;
    l0: number;
    l1: number;
    r0: number;
    r1: number;
    left: Series[];
    right: Series[];
    logRight: boolean;
    formatX: (x: number) => string;
    tick: (v: number) => string;
  },
): void {
  const width = options.width ?? 960;
  const height = options.height ?? 260;
  const pad = padOf(options);
  const plotW = width - pad.left - pad.right;
  const plotH = height - pad.top - pad.bottom;
  const count = options.ticks ?? 5;
  const yAt = (v: number, lo: number, hi: number) =>
    pad.top + plotH - ((v - lo) / (hi - lo || 1)) * plotH;
  const xAt = (x: number) => pad.left + ((x - a.x0) / (a.x1 - a.x0 || 1)) * plotW;
  if (a.left.length) {
    for (const v of niceTicks(a.l0, a.l1, count)) {
      const y = yAt(v, a.l0, a.l1).toFixed(1);
      grid.push(
        `<line x1="${pad.left}" x2="${pad.left + plotW}" y1="${y}" y2="${y}" stroke="#eee"/>`,
      );
      parts.push(
        `<line x1="${pad.left - 4}" x2="${pad.left}" y1="${y}" y2="${y}" stroke="#999"/>`,
        `<text x="${pad.left - 6}" y="${y}" dy="3" text-anchor="end">${a.tick(v)}</text>`,
      );
    }
  }
  if (a.right.length) {
    const ticks = a.logRight
      ? Array.from(
          { length: Math.floor(a.r1) - Math.ceil(a.r0) + 1 },
          (_, i) => Math.ceil(a.r0) + i,
        )
      : niceTicks(a.r0, a.r1, count);
    for (const v of ticks) {
      const y = yAt(v, a.r0, a.r1).toFixed(1);
      const label = a.logRight ? a.tick(10 ** v) : a.tick(v);
      parts.push(
        `<line x1="${pad.left + plotW}" x2="${pad.left + plotW + 4}" y1="${y}" y2="${y}" stroke="#999"/>`,
        `<text x="${pad.left + plotW + 6}" y="${y}" dy="3">${label}</text>`,
      );
    }
    if (a.logRight)
      parts.push(
        `<text x="${width - 4}" y="${pad.top - 4}" text-anchor="end" fill="#666">log scale</text>`,
      );
  }
  const xs = a.x0 > 1e11 ? timeTicks(a.x0, a.x1, count + 1) : niceTicks(a.x0, a.x1, count + 1);
  for (const x of xs) {
    const px = xAt(x).toFixed(1);
    grid.push(
      `<line x1="${px}" x2="${px}" y1="${pad.top}" y2="${pad.top + plotH}" stroke="#eee"/>`,
    );
    parts.push(
      `<line x1="${px}" x2="${px}" y1="${pad.top + plotH}" y2="${pad.top + plotH + 4}" stroke="#999"/>`,
      `<text x="${px}" y="${pad.top + plotH + 15}" text-anchor="middle">${esc(a.formatX(x))}</text>`,
    );
  }
  if (options.xLabel)
    parts.push(
      `<text x="${pad.left + plotW}" y="${height - 5}" text-anchor="end" fill="#666">${esc(options.xLabel)}</text>`,
    );
}
