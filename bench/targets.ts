/** The targets (issues 8 and 19), each beside what this run measured, printed last. */
import { formatSpread, printTable } from './stats.js';
import type { Spread } from './stats.js';

interface Row {
  target: string;
  goal: string;
  measured: string;
  /** The same ratio by CPU per check, where there is one: steadier on a shared machine. */
  byCpu?: string;
  met: boolean;
}

export class Targets {
  private readonly rows: Row[] = [];

  /** A throughput ratio that must reach `goal` (judged on the median of the rounds). */
  atLeast(target: string, goal: number, measured: Spread | { throughput: Spread; cpu: Spread }): void {
    const throughput = 'throughput' in measured ? measured.throughput : measured;
    this.rows.push({
      target,
      goal: `>= ${goal.toFixed(2)}x`,
      measured: formatSpread(throughput),
      ...('cpu' in measured ? { byCpu: formatSpread(measured.cpu) } : {}),
      met: throughput.median >= goal,
    });
  }

  /** A figure that must stay at or under `goal` (judged on the median of the rounds). */
  atMost(target: string, goal: number, measured: Spread, unit: string): void {
    this.rows.push({
      target,
      goal: `<= ${goal} ${unit}`,
      measured: `${formatSpread(measured)} ${unit}`,
      met: measured.median <= goal,
    });
  }

  /** A count that must be exactly `goal`. */
  exactly(target: string, goal: number, measured: number): void {
    this.rows.push({ target, goal: String(goal), measured: String(measured), met: measured === goal });
  }

  print(): void {
    if (this.rows.length === 0) return;
    printTable(
      'Targets (median of the rounds, smallest to largest round in brackets)',
      [
        { title: 'target' },
        { title: 'goal' },
        { title: 'measured', align: 'right' },
        { title: 'met' },
        { title: 'same ratio by CPU per check', align: 'right' },
      ],
      this.rows.map((row) => [
        row.target,
        row.goal,
        row.measured,
        row.met ? 'yes' : '**no**',
        row.byCpu ?? '',
      ]),
    );
  }
}
