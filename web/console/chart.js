// The Decisions chart: allowed, denied and degraded per second over the last 15 minutes, in SVG.
// Shapes only (colours come from console.css by class), and an accessible name saying what a
// sighted reader takes from it: the current figures and the peak.
import { count, rate } from './tables.js';

const SVG = 'http://www.w3.org/2000/svg';
export const OUTCOMES = ['allowed', 'denied', 'degraded'];

function svg(tag, attributes = {}, ...children) {
  const element = document.createElementNS(SVG, tag);
  for (const [name, value] of Object.entries(attributes)) element.setAttribute(name, String(value));
  element.append(...children);
  return element;
}

/**
 * Averages per second over buckets of `size` seconds, oldest first, the newest ending at the last
 * whole second (the second under way is still filling: it would always show a dip).
 */
function bucketed(values, size) {
  const whole = values.slice(0, -1);
  const out = [];
  for (let end = whole.length; end - size >= 0; end -= size) {
    out.push(whole.slice(end - size, end).reduce((sum, value) => sum + value, 0) / size);
  }
  return out.reverse();
}

/** 0, 1, 2, 5, 10, 20, 50, ...: the smallest round number at least `value`. */
function roundUp(value) {
  if (value <= 1) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 5, 10]) if (value <= step * power) return step * power;
  return 10 * power;
}

/** 0.5 on a scale to 1, 25 on a scale to 50. */
const axisLabel = (value) => (Number.isInteger(value) ? count(value) : rate(value));

const FULL = { width: 720, height: 200, left: 44, right: 8, top: 10, bottom: 22, bucket: 5 };
const SPARK = { width: 180, height: 32, left: 1, right: 1, top: 2, bottom: 2, bucket: 15 };

/**
 * An SVG chart of one series (src/protocol/console.ts WireTallySeries): `label` names whose
 * decisions they are; `compact` draws a sparkline with no axes, else `width` is in CSS pixels.
 */
export function decisionsChart(series, label, current, compact = false, width = FULL.width) {
  // Drawn at the width it is shown at, so its text keeps its size on any screen.
  const box = compact ? SPARK : { ...FULL, width: Math.max(360, Math.round(width)) };
  const lines = Object.fromEntries(OUTCOMES.map((name) => [name, bucketed(series[name], box.bucket)]));
  const peak = Math.max(0, ...OUTCOMES.flatMap((name) => lines[name]));
  const top = roundUp(peak);
  const plotWidth = box.width - box.left - box.right;
  const plotHeight = box.height - box.top - box.bottom;
  const points = lines.allowed.length;
  const x = (index) => box.left + (points <= 1 ? plotWidth : (index / (points - 1)) * plotWidth);
  const y = (value) => box.top + plotHeight - (value / top) * plotHeight;

  const figures = OUTCOMES.map((name) => `${rate(current[name])} ${name}`).join(', ');
  const name = `Decisions of ${label}, last 15 minutes: now ${figures} per second; peak ${rate(peak)} per second`;
  const chart = svg('svg', {
    role: 'img',
    'aria-label': name,
    viewBox: `0 0 ${box.width} ${box.height}`,
    class: compact ? 'spark' : 'decisions',
  });
  chart.append(svg('title', {}, name));

  if (!compact) {
    for (const fraction of [0, 0.5, 1]) {
      const level = y(top * fraction);
      chart.append(
        svg('line', { class: 'grid', x1: box.left, x2: box.width - box.right, y1: level, y2: level }),
        svg(
          'text',
          { class: 'axis', x: box.left - 6, y: level + 4, 'text-anchor': 'end' },
          axisLabel(top * fraction),
        ),
      );
    }
    for (const [minutesAgo, anchor] of [
      [15, 'start'],
      [10, 'middle'],
      [5, 'middle'],
      [0, 'end'],
    ]) {
      const at = box.left + plotWidth * (1 - minutesAgo / 15);
      const text = minutesAgo === 0 ? 'now' : `−${minutesAgo} min`;
      chart.append(svg('text', { class: 'axis', x: at, y: box.height - 6, 'text-anchor': anchor }, text));
    }
  }
  // Drawn back to front: a denial spike stays visible over a large allowed line.
  for (const outcome of ['allowed', 'degraded', 'denied']) {
    const path = lines[outcome]
      .map((value, index) => `${index === 0 ? 'M' : 'L'}${x(index).toFixed(1)},${y(value).toFixed(1)}`)
      .join('');
    chart.append(svg('path', { class: `line ${outcome}`, d: path }));
  }
  return chart;
}

/** The chart's key: a swatch per outcome, in the line's colour and dash. */
export function legend() {
  const list = document.createElement('ul');
  list.className = 'legend';
  for (const outcome of OUTCOMES) {
    const item = document.createElement('li');
    const swatch = svg('svg', { class: 'swatch', viewBox: '0 0 24 8', 'aria-hidden': 'true' });
    swatch.append(svg('path', { class: `line ${outcome}`, d: 'M0,4L24,4' }));
    item.append(swatch, outcome);
    list.append(item);
  }
  return list;
}
