import { describe, expect, it } from 'vitest';
import { ThrottledWarning } from '../../src/logging/throttled-warning.js';

describe('ThrottledWarning', () => {
  it('reports the first occurrence at once, then once per interval with what it held back', () => {
    let now = 0;
    const reports: [string, number][] = [];
    const warning = new ThrottledWarning<string>(
      1000,
      (latest, suppressed) => reports.push([latest, suppressed]),
      () => now,
    );
    warning.note('a');
    for (let i = 0; i < 5; i++) {
      now += 100;
      warning.note(`b${i}`);
    }
    now = 1000;
    warning.note('c');
    now = 1500;
    warning.note('d');
    now = 2000;
    warning.note('e');
    expect(reports).toEqual([
      ['a', 0],
      ['c', 5],
      ['e', 1],
    ]);
  });
});
