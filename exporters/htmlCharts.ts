import { escapeHtml } from './htmlEscape';

export interface BarChartOptions {
  /** Bars link to the event list filter of this field (the page's script wires the click). */
  filter?: 'type' | 'stage' | 'level';
  /** Bars drawn; the rest are summed into one "… N more" bar. Default 20. */
  maxBars?: number;
  /** Keep the given order instead of sorting by value. */
  keepOrder?: boolean;
  /** Text of the bar summing the ones not drawn. */
  moreLabel?: (count: number) => string;
  tone?: 'error' | 'neutral' | 'ok';
}

const WIDTH = 540;
const LABEL_WIDTH = 190;
const VALUE_WIDTH = 60;
const ROW = 22;

/** A horizontal bar chart as inline SVG; every label is escaped and keeps its full text as a tooltip. */
export function barChart(entries: Array<[string, number]>, options: BarChartOptions = {}): string {
  const rows = options.keepOrder ? [...entries] : [...entries].sort((a, b) => b[1] - a[1]);
  if (rows.length === 0) return '';
  const maxBars = options.maxBars ?? 20;
  let shown = rows;
  if (rows.length > maxBars) {
    shown = rows.slice(0, maxBars - 1);
    const rest = rows.slice(maxBars - 1);
    const label = options.moreLabel ? options.moreLabel(rest.length) : `… ${rest.length} more`;
    shown.push([label, rest.reduce((sum, [, value]) => sum + value, 0)]);
  }
  const max = Math.max(1, ...shown.map(([, value]) => value));
  const barSpace = WIDTH - LABEL_WIDTH - VALUE_WIDTH;
  const bars = shown.map(([label, value], index) => {
    const y = index * ROW;
    const width = Math.max(value > 0 ? 2 : 0, (value / max) * barSpace);
    const isRest = rows.length > maxBars && index === shown.length - 1;
    // A bar that filters is a button (named by its label and count); the chart holding it is a group, not an image.
    const filter = options.filter && !isRest ? ` data-filter-${options.filter}="${escapeHtml(label)}" tabindex="0" role="button" aria-label="${escapeHtml(`${label}: ${value}`)}"` : '';
    const short = label.length > 28 ? `${label.slice(0, 27)}…` : label;
    return (
      `<g class="chart-row${filter ? ' linked' : ''}"${filter}><title>${escapeHtml(`${label}: ${value}`)}</title>` +
      `<text class="chart-label" x="${LABEL_WIDTH - 8}" y="${y + 15}">${escapeHtml(short)}</text>` +
      `<rect class="chart-bar tone-${options.tone ?? 'neutral'}" x="${LABEL_WIDTH}" y="${y + 4}" width="${width.toFixed(1)}" height="${ROW - 8}" rx="2"/>` +
      `<text class="chart-value" x="${(LABEL_WIDTH + width + 6).toFixed(1)}" y="${y + 15}">${escapeHtml(String(value))}</text></g>`
    );
  });
  const name = shown.map(([label, value]) => `${label}: ${value}`).join(', ');
  const role = options.filter ? 'group' : 'img';
  return `<svg class="chart" viewBox="0 0 ${WIDTH} ${shown.length * ROW}" width="${WIDTH}" role="${role}" aria-label="${escapeHtml(name)}">${bars.join('')}</svg>`;
}
