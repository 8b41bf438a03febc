// DOM and number helpers for the console's tables. Text goes in through textContent only: a key
// shown in plain mode is the client's text and must never become markup.

/** An element with a class and children (nodes or text). */
export function el(tag, className, ...children) {
  const element = document.createElement(tag);
  if (className) element.className = className;
  element.append(...children);
  return element;
}

/** A table cell; numbers are right-aligned. */
export function td(content, className = '') {
  return el('td', className, content);
}

export const num = (content) => td(content, 'num');

/** A row header cell: what the row is about (a node, the deployment). */
export function th(content) {
  const cell = el('th', '', content);
  cell.scope = 'row';
  return cell;
}

/** Fills a tbody, or says why it is empty in one cell across the table. */
export function fill(tbody, rows, emptyText) {
  if (rows.length > 0) {
    tbody.replaceChildren(...rows);
    return;
  }
  const cell = el('td', 'empty', emptyText);
  cell.colSpan = tbody.closest('table')?.tHead?.rows[0]?.cells.length ?? 1;
  tbody.replaceChildren(el('tr', '', cell));
}

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const decimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1, minimumFractionDigits: 1 });

export const count = (value) => integer.format(value);

/** A rate per second: one decimal, so a trickle is not shown as 0. */
export const rate = (value) => decimal.format(value);

export function ms(value) {
  if (value === null || value === undefined) return '–';
  return value < 10 ? `${value.toFixed(2)} ms` : `${integer.format(value)} ms`;
}

/** 90061 s → "1d 1h"; the two largest units are enough to tell nodes apart. */
export function seconds(total) {
  const units = [
    ['d', 86400],
    ['h', 3600],
    ['m', 60],
    ['s', 1],
  ];
  const parts = [];
  let rest = Math.max(0, Math.round(total));
  for (const [name, size] of units) {
    if (parts.length === 2) break;
    const amount = Math.floor(rest / size);
    rest -= amount * size;
    if (amount > 0 || (parts.length === 0 && size === 1)) parts.push(`${amount}${name}`);
    else if (parts.length > 0) break;
  }
  return parts.join(' ');
}

/** A window as the check named it: 60000 → "1m", 1500 → "1.5s". */
export function windowOf(windowMs) {
  for (const [name, size] of [
    ['d', 86400000],
    ['h', 3600000],
    ['m', 60000],
    ['s', 1000],
  ]) {
    if (windowMs >= size && windowMs % (size / 10) === 0) return `${windowMs / size}${name}`;
  }
  return `${windowMs}ms`;
}

/** An ISO 8601 instant as local time, with the full instant in a <time> element. */
export function instant(iso) {
  if (!iso) return '–';
  const time = el('time', '', new Date(iso).toLocaleString());
  time.dateTime = iso;
  return time;
}
