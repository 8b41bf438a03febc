/** Summaries of repeated measurements, and the markdown tables they are printed in. */

export interface Spread {
  median: number;
  min: number;
  max: number;
}

/** The middle value (the mean of the two middle ones for an even count); NaN when empty. */
export function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = sorted.length >> 1;
  if (sorted.length === 0) return Number.NaN;
  if (sorted.length % 2 === 1) return sorted[middle] ?? Number.NaN;
  return ((sorted[middle - 1] ?? 0) + (sorted[middle] ?? 0)) / 2;
}

export function spread(values: readonly number[]): Spread {
  if (values.length === 0) return { median: Number.NaN, min: Number.NaN, max: Number.NaN };
  return { median: median(values), min: Math.min(...values), max: Math.max(...values) };
}

/** The q-quantile (0..1) of ascending values, nearest rank; 0 when empty. */
export function percentile(sorted: readonly number[], q: number): number {
  if (sorted.length === 0) return 0;
  const rank = Math.ceil(q * sorted.length) - 1;
  return sorted[Math.min(sorted.length - 1, Math.max(0, rank))] ?? 0;
}

/** Round-by-round ratios a[i] / b[i]: the rounds ran side by side, so each pair saw the same load. */
export function pairedRatios(a: readonly number[], b: readonly number[]): number[] {
  return a.map((value, index) => value / (b[index] ?? Number.NaN));
}

export function formatNumber(value: number, digits = 0): string {
  if (!Number.isFinite(value)) return 'n/a';
  return value.toLocaleString('en-US', { minimumFractionDigits: digits, maximumFractionDigits: digits });
}

/** `1.23 (1.10 to 1.40)`: the median with the smallest and largest round. */
export function formatSpread(value: Spread, digits = 2): string {
  if (!Number.isFinite(value.median)) return 'n/a';
  if (value.min === value.max) return formatNumber(value.median, digits);
  return `${formatNumber(value.median, digits)} (${formatNumber(value.min, digits)} to ${formatNumber(value.max, digits)})`;
}

/** Counts by name, `store_unavailable: 12, overloaded: 3`, or 0. */
export function formatCounts(counts: ReadonlyMap<string, number>): string {
  if (counts.size === 0) return '0';
  return [...counts.entries()].map(([name, count]) => `${name}: ${formatNumber(count)}`).join(', ');
}

export function addCounts(into: Map<string, number>, from: ReadonlyMap<string, number>): Map<string, number> {
  for (const [name, count] of from) into.set(name, (into.get(name) ?? 0) + count);
  return into;
}

export interface Column {
  title: string;
  /** Numbers are right-aligned. */
  align?: 'left' | 'right';
}

export function printTable(title: string, columns: readonly Column[], rows: readonly string[][]): void {
  console.log(`\n${title}\n`);
  console.log(`| ${columns.map((column) => column.title).join(' | ')} |`);
  console.log(`|${columns.map((column) => (column.align === 'right' ? '---:' : '---')).join('|')}|`);
  for (const row of rows) console.log(`| ${row.join(' | ')} |`);
}
