/** A point of a chart, in data units. */
export interface XY {
  readonly x: number;
  readonly y: number;
}

/** One line (or dot cloud) of a chart. */
export interface Series {
  readonly name: string;
  readonly color: string;
  readonly points: readonly XY[];
  /** Dots instead of a line. */
  readonly dots?: boolean;
}

/** A line chart; ticks are computed unless given. */
export interface LineChart {
  readonly title: string;
  readonly xLabel: string;
  readonly yLabel: string;
  readonly series: readonly Series[];
  readonly xTicks?: readonly { readonly at: number; readonly label: string }[];
  /** Logarithmic y axis (values ≤ 0 are clamped to the smallest positive one). */
  readonly yLog?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/** Escapes text for XML/HTML. */
export function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');
}

/** About `count` round tick values covering [min, max]. */
export function niceTicks(min: number, max: number, count = 5): number[] {
  if (!(max > min)) return [min];
  const raw = (max - min) / count;
  const magnitude = 10 ** Math.floor(Math.log10(raw));
  const step = ([1, 2, 2.5, 5, 10].find((m) => m * magnitude >= raw) ?? 10) * magnitude;
  const ticks: number[] = [];
  for (let v = Math.ceil(min / step) * step; v <= max + step * 1e-9; v += step) ticks.push(Number(v.toPrecision(12)));
  return ticks;
}

/** Short label of a number: 1.2k, 3.4M, 0.25. */
export function shortNumber(value: number): string {
  const abs = Math.abs(value);
  if (abs >= 1e6) return `${Number((value / 1e6).toPrecision(3))}M`;
  if (abs >= 1e3) return `${Number((value / 1e3).toPrecision(3))}k`;
  return `${Number(value.toPrecision(3))}`;
}

const M = { left: 64, right: 16, top: 28, bottom: 44 };
const LEGEND_ITEM_WIDTH = 220;
const LEGEND_ROW = 16;

/** An inline SVG line chart with axes, ticks and a legend. */
export function lineChart(chart: LineChart): string {
  const width = chart.width ?? 720;
  const height = chart.height ?? 300;
  const all = chart.series.flatMap((s) => s.points);
  const title = `<text x="${M.left}" y="18" class="title">${escapeXml(chart.title)}</text>`;
  if (all.length === 0) {
    return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img">${title}<text x="${width / 2}" y="${height / 2}" text-anchor="middle">no data</text></svg>`;
  }
  const xs = all.map((p) => p.x);
  const positives = all.map((p) => p.y).filter((y) => y > 0);
  const xMin = Math.min(...xs, ...(chart.xTicks ?? []).map((t) => t.at));
  const xMax = Math.max(...xs, ...(chart.xTicks ?? []).map((t) => t.at));
  const yLog = chart.yLog === true && positives.length > 0;
  const yFloor = yLog ? 10 ** Math.floor(Math.log10(Math.min(...positives))) : 0;
  const yTop = Math.max(...all.map((p) => p.y), yLog ? yFloor * 10 : 1e-9);
  const linear = niceTicks(0, yTop);
  const lastTick = linear.at(-1) ?? yTop;
  if (!yLog && lastTick < yTop) linear.push(lastTick + ((linear[1] ?? yTop) - (linear[0] ?? 0)));
  const yMax = yLog ? 10 ** Math.ceil(Math.log10(yTop)) : Math.max(yTop, linear.at(-1) ?? yTop);
  const plotW = width - M.left - M.right;
  const plotH = height - M.top - M.bottom;
  const sx = (x: number): number => M.left + (xMax === xMin ? plotW / 2 : ((x - xMin) / (xMax - xMin)) * plotW);
  const sy = (y: number): number => {
    const f = yLog ? (Math.log10(Math.max(y, yFloor)) - Math.log10(yFloor)) / (Math.log10(yMax) - Math.log10(yFloor)) : y / yMax;
    return M.top + plotH - f * plotH;
  };
  const yTicks = yLog
    ? Array.from({ length: Math.round(Math.log10(yMax / yFloor)) + 1 }, (_, i) => yFloor * 10 ** i)
    : linear;
  const xTicks = chart.xTicks ?? niceTicks(xMin, xMax, 8).map((at) => ({ at, label: shortNumber(at) }));
  const grid = [
    ...yTicks.map((t) => `<line x1="${M.left}" x2="${width - M.right}" y1="${sy(t).toFixed(1)}" y2="${sy(t).toFixed(1)}" class="grid"/><text x="${M.left - 6}" y="${(sy(t) + 4).toFixed(1)}" text-anchor="end">${shortNumber(t)}</text>`),
    ...xTicks.map((t) => `<line x1="${sx(t.at).toFixed(1)}" x2="${sx(t.at).toFixed(1)}" y1="${M.top}" y2="${M.top + plotH}" class="grid"/><text x="${sx(t.at).toFixed(1)}" y="${M.top + plotH + 16}" text-anchor="middle">${escapeXml(t.label)}</text>`),
  ].join('');
  const body = chart.series
    .map((s) => {
      if (s.dots === true) return s.points.map((p) => `<circle cx="${sx(p.x).toFixed(1)}" cy="${sy(p.y).toFixed(1)}" r="2" fill="${s.color}" fill-opacity="0.7"/>`).join('');
      const d = s.points.map((p, i) => `${i === 0 ? 'M' : 'L'}${sx(p.x).toFixed(1)},${sy(p.y).toFixed(1)}`).join('');
      return `<path d="${d}" fill="none" stroke="${s.color}" stroke-width="2"/>`;
    })
    .join('');
  const perRow = Math.max(1, Math.floor(plotW / LEGEND_ITEM_WIDTH));
  const legend = chart.series
    .map((s, i) => {
      const x = M.left + (i % perRow) * LEGEND_ITEM_WIDTH;
      const y = height + Math.floor(i / perRow) * LEGEND_ROW;
      return `<rect x="${x}" y="${y}" width="10" height="10" fill="${s.color}"/><text x="${x + 14}" y="${y + 9}">${escapeXml(s.name)}</text>`;
    })
    .join('');
  const fullHeight = height + Math.ceil(chart.series.length / perRow) * LEGEND_ROW + 4;
  const axes = `<line x1="${M.left}" x2="${M.left}" y1="${M.top}" y2="${M.top + plotH}" class="axis"/><line x1="${M.left}" x2="${width - M.right}" y1="${M.top + plotH}" y2="${M.top + plotH}" class="axis"/>`;
  const labels = `<text x="${M.left + plotW / 2}" y="${height - 6}" text-anchor="middle">${escapeXml(chart.xLabel)}</text><text transform="translate(14,${M.top + plotH / 2}) rotate(-90)" text-anchor="middle">${escapeXml(chart.yLabel)}</text>`;
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${fullHeight}" width="${width}" height="${fullHeight}" role="img">${title}${grid}${axes}${body}${legend}${labels}</svg>`;
}

/** A horizontal bar chart (one bar per label) with values printed at the bar ends. */
export function barChart(chart: { title: string; unit: string; bars: readonly { label: string; value: number | null; color: string }[]; width?: number }): string {
  const width = chart.width ?? 720;
  const rowH = 28;
  const left = 210;
  const height = 36 + chart.bars.length * rowH;
  const max = Math.max(1e-9, ...chart.bars.map((b) => b.value ?? 0));
  const plotW = width - left - 110;
  const rows = chart.bars
    .map((b, i) => {
      const y = 30 + i * rowH;
      const w = b.value === null ? 0 : (b.value / max) * plotW;
      const text = b.value === null ? 'skipped' : `${shortNumber(b.value)} ${chart.unit}`;
      return `<text x="${left - 8}" y="${y + 15}" text-anchor="end">${escapeXml(b.label)}</text><rect x="${left}" y="${y}" width="${w.toFixed(1)}" height="${rowH - 8}" fill="${b.color}"/><text x="${(left + w + 6).toFixed(1)}" y="${y + 15}">${escapeXml(text)}</text>`;
    })
    .join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 ${width} ${height}" width="${width}" height="${height}" role="img"><text x="8" y="18" class="title">${escapeXml(chart.title)}</text>${rows}</svg>`;
}
