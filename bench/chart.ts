// A hand-written SVG of the ratios: one horizontal bar per metric on a log scale centred on 1.0,
// to the right (green) where raftkv is better, to the left (red) where etcd is.

import type { ComparisonRow } from './comparison.js';
import { formatRatio } from './format.js';

const WIDTH = 960;
const LABEL_RIGHT_X = 330;
const PLOT_LEFT_X = 350;
const PLOT_RIGHT_X = 930;
const TOP_Y = 78;
const ROW_HEIGHT = 24;
const BAR_HEIGHT = 14;
const BETTER_COLOR = '#2e7d32';
const WORSE_COLOR = '#c62828';

function escapeXml(text: string): string {
  return text.replaceAll('&', '&amp;').replaceAll('<', '&lt;').replaceAll('>', '&gt;').replaceAll('"', '&quot;');
}

/** Decades either side of 1.0 that hold every ratio: at least one (0.1 to 10). */
function decadesFor(ratios: readonly number[]): number {
  // A little room beyond the farthest bar for its label.
  const farthest = Math.max(1, ...ratios.map((ratio) => Math.abs(Math.log10(ratio)) + 0.15));
  return Math.ceil(farthest);
}

/** Ticks of the 1-2-5 series inside [10^-decades, 10^decades]. */
function ticksFor(decades: number): number[] {
  const ticks: number[] = [];
  for (let exponent = -decades; exponent <= decades; exponent++) {
    for (const step of [1, 2, 5]) {
      const tick = step * 10 ** exponent;
      if (tick <= 10 ** decades * 1.0001) ticks.push(tick);
    }
  }
  return ticks;
}

function tickLabel(tick: number): string {
  return tick >= 1 ? String(tick) : tick.toPrecision(1);
}

export function renderRatioChart(rows: readonly ComparisonRow[], title: string, subtitle: string): string {
  const ratios = rows.flatMap((row) => (row.ratio === null ? [] : [row.ratio]));
  const decades = decadesFor(ratios);
  const x = (ratio: number): number => PLOT_LEFT_X + ((Math.log10(ratio) + decades) / (2 * decades)) * (PLOT_RIGHT_X - PLOT_LEFT_X);
  const plotBottomY = TOP_Y + rows.length * ROW_HEIGHT;
  const height = plotBottomY + 60;
  const parts: string[] = [];

  const size = `width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}"`;
  parts.push(`<svg xmlns="http://www.w3.org/2000/svg" ${size} font-family="sans-serif" font-size="12">`);
  parts.push(`<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`);
  parts.push(`<text x="20" y="28" font-size="16" font-weight="bold">${escapeXml(title)}</text>`);
  parts.push(`<text x="20" y="48" fill="#555555">${escapeXml(subtitle)}</text>`);
  parts.push(`<text x="${x(1) - 8}" y="${TOP_Y - 10}" text-anchor="end" fill="${WORSE_COLOR}">← etcd better</text>`);
  parts.push(`<text x="${x(1) + 8}" y="${TOP_Y - 10}" fill="${BETTER_COLOR}">raftkv better →</text>`);

  // Bands that group each workload's metrics.
  let band = 0;
  rows.forEach((row, i) => {
    if (i > 0 && rows[i - 1].workload !== row.workload) band++;
    if (band % 2 === 0) parts.push(`<rect x="10" y="${TOP_Y + i * ROW_HEIGHT}" width="${WIDTH - 20}" height="${ROW_HEIGHT}" fill="#f3f3f3"/>`);
  });

  for (const tick of ticksFor(decades)) {
    const tickX = x(tick).toFixed(1);
    parts.push(`<line x1="${tickX}" y1="${TOP_Y}" x2="${tickX}" y2="${plotBottomY}" stroke="#dddddd"/>`);
    parts.push(`<text x="${tickX}" y="${plotBottomY + 16}" text-anchor="middle" fill="#555555">${tickLabel(tick)}×</text>`);
  }

  rows.forEach((row, i) => {
    const centerY = TOP_Y + i * ROW_HEIGHT + ROW_HEIGHT / 2;
    parts.push(`<text x="${LABEL_RIGHT_X}" y="${centerY + 4}" text-anchor="end">${escapeXml(`${row.workload} · ${row.metric.name}`)}</text>`);
    if (row.ratio === null) {
      parts.push(`<text x="${x(1) + 8}" y="${centerY + 4}" fill="#888888">no ratio (error)</text>`);
      return;
    }
    const better = row.ratio >= 1;
    const from = Math.min(x(1), x(row.ratio));
    const width = Math.max(1, Math.abs(x(row.ratio) - x(1)));
    const barTopY = centerY - BAR_HEIGHT / 2;
    const color = better ? BETTER_COLOR : WORSE_COLOR;
    parts.push(`<rect x="${from.toFixed(1)}" y="${barTopY.toFixed(1)}" width="${width.toFixed(1)}" height="${BAR_HEIGHT}" fill="${color}"/>`);
    const labelX = better ? x(row.ratio) + 5 : x(row.ratio) - 5;
    parts.push(`<text x="${labelX.toFixed(1)}" y="${centerY + 4}" text-anchor="${better ? 'start' : 'end'}">${formatRatio(row.ratio)}</text>`);
  });

  parts.push(`<line x1="${x(1)}" y1="${TOP_Y - 4}" x2="${x(1)}" y2="${plotBottomY}" stroke="#000000" stroke-width="1.5"/>`);
  parts.push(`<text x="${x(1)}" y="${plotBottomY + 34}" text-anchor="middle" font-weight="bold">1.0 = parity (log scale)</text>`);
  parts.push('</svg>');
  return `${parts.join('\n')}\n`;
}
