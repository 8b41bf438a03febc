import { closeSync, mkdtempSync, openSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { LogDestination } from '../../src/logging/log-destination.js';

describe('LogDestination', () => {
  const cleanups: (() => void)[] = [];
  afterEach(() => {
    for (const cleanup of cleanups.splice(0)) cleanup();
  });

  function tempFile(): { path: string; fd: number } {
    const dir = mkdtempSync(join(tmpdir(), 'ratelimiter-log-'));
    const path = join(dir, 'out.log');
    const fd = openSync(path, 'w');
    cleanups.push(() => {
      closeSync(fd);
      rmSync(dir, { recursive: true, force: true });
    });
    return { path, fd };
  }

  it('writes every line, in order', async () => {
    const { path, fd } = tempFile();
    const destination = new LogDestination({ fd });
    const lines = Array.from({ length: 2000 }, (_, i) => `{"line":${i}}\n`);
    for (const line of lines) expect(destination.write(line)).toBe(true);
    await destination.flush(5000);
    expect(readFileSync(path, 'utf8')).toBe(lines.join(''));
    expect(destination.dropped).toBe(0);
  });

  it('drops and counts what it cannot write (a full device)', async () => {
    const fd = openSync('/dev/full', 'w');
    cleanups.push(() => {
      closeSync(fd);
    });
    let reported = 0;
    const destination = new LogDestination({ fd, onDrop: (lines) => (reported += lines) });
    for (let i = 0; i < 50; i++) destination.write(`{"line":${i}}\n`);
    await destination.flush(5000);
    expect(destination.dropped).toBe(50);
    expect(reported).toBe(50);
  });

  it('holds at most its buffer: lines past it are dropped at once', async () => {
    const { path, fd } = tempFile();
    const destination = new LogDestination({ fd, maxBufferedBytes: 100 });
    const line = `${'x'.repeat(19)}\n`; // 20 bytes: five fit
    const accepted = Array.from({ length: 8 }, () => destination.write(line));
    expect(accepted).toEqual([true, true, true, true, true, false, false, false]);
    expect(destination.dropped).toBe(3);
    await destination.flush(5000);
    expect(readFileSync(path, 'utf8')).toBe(line.repeat(5));
    // Written lines free their room again.
    expect(destination.write(line)).toBe(true);
    await destination.flush(5000);
  });
});
