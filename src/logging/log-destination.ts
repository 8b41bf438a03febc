import { write } from 'node:fs';

export interface LogDestinationOptions {
  /** File descriptor to write to. Default 1 (stdout). */
  fd?: number;
  /** Most bytes held while the descriptor is slow or failing; lines past it are dropped. Default 1 MiB. */
  maxBufferedBytes?: number;
  /** Told how many lines were dropped (buffer full, or the write failed: ENOSPC, EPIPE, EBADF). */
  onDrop?: (lines: number) => void;
}

/** Wait before writing again after EAGAIN (a non-blocking pipe whose reader is behind). */
const RETRY_AFTER_EAGAIN_MS = 10;
/** Most bytes handed to one write(2). */
const MAX_WRITE_BYTES = 64 * 1024;

/**
 * Where the logger writes: asynchronously, through a bounded buffer. Serving never waits for a
 * log line, and a descriptor that cannot be written (a full disk, `> /dev/full`, a closed pipe)
 * loses lines, counted, instead of blocking the event loop (pino's synchronous writer retries
 * ENOSPC forever). One write is in flight at a time.
 */
export class LogDestination {
  private readonly fd: number;
  private readonly maxBufferedBytes: number;
  private readonly onDrop: (lines: number) => void;
  private readonly queue: Buffer[] = [];
  private bufferedBytes = 0;
  private writing = false;
  private drained: (() => void)[] = [];
  private droppedLines = 0;

  constructor(options: LogDestinationOptions = {}) {
    this.fd = options.fd ?? 1;
    this.maxBufferedBytes = options.maxBufferedBytes ?? 1024 * 1024;
    this.onDrop = options.onDrop ?? (() => undefined);
  }

  /** Lines lost so far. */
  get dropped(): number {
    return this.droppedLines;
  }

  /** pino's stream interface: one call per log line. Never throws, never blocks. */
  write(line: string): boolean {
    const chunk = Buffer.from(line, 'utf8');
    if (this.bufferedBytes + chunk.length > this.maxBufferedBytes) {
      this.drop(1);
      return false;
    }
    this.queue.push(chunk);
    this.bufferedBytes += chunk.length;
    if (!this.writing) this.writeNext();
    return true;
  }

  /** Resolves once everything buffered is written (or dropped), or after `timeoutMs`. */
  flush(timeoutMs: number): Promise<void> {
    if (!this.writing && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(resolve, timeoutMs);
      timer.unref();
      this.drained.push(() => {
        clearTimeout(timer);
        resolve();
      });
    });
  }

  private writeNext(): void {
    if (this.queue.length === 0) {
      this.writing = false;
      for (const resolve of this.drained.splice(0)) resolve();
      return;
    }
    this.writing = true;
    const lines = this.takeBatch();
    const batch = Buffer.concat(lines);
    this.writeBatch(batch, 0, lines.length);
  }

  /** Whole lines, up to MAX_WRITE_BYTES (at least one line). */
  private takeBatch(): Buffer[] {
    const lines: Buffer[] = [];
    let bytes = 0;
    while (this.queue.length > 0) {
      const next = this.queue[0];
      if (!next || (lines.length > 0 && bytes + next.length > MAX_WRITE_BYTES)) break;
      lines.push(next);
      bytes += next.length;
      this.queue.shift();
    }
    return lines;
  }

  private writeBatch(batch: Buffer, offset: number, lines: number): void {
    write(this.fd, batch, offset, batch.length - offset, null, (error, written) => {
      if (error) {
        if (error.code === 'EAGAIN') {
          setTimeout(() => {
            this.writeBatch(batch, offset, lines);
          }, RETRY_AFTER_EAGAIN_MS).unref();
          return;
        }
        this.bufferedBytes -= batch.length;
        this.drop(lines);
        this.writeNext();
        return;
      }
      if (offset + written < batch.length) {
        this.writeBatch(batch, offset + written, lines);
        return;
      }
      this.bufferedBytes -= batch.length;
      this.writeNext();
    });
  }

  private drop(lines: number): void {
    this.droppedLines += lines;
    this.onDrop(lines);
  }
}
