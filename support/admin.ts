import { Redis } from 'ioredis';

/** Poll `probe` until it returns a value other than undefined, or throw after timeoutMs. */
export async function pollUntil<T>(
  what: string,
  probe: () => Promise<T | undefined> | T | undefined,
  timeoutMs: number,
  intervalMs = 50,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await Promise.resolve()
      .then(probe)
      .catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not reached within ${timeoutMs}ms`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}

/** Plain connections to test servers by port, for setup, fault injection and inspection. */
export class AdminConnections {
  private readonly byPort = new Map<number, Redis>();

  constructor(private readonly password?: string) {}

  /** One command on one server, over a connection kept per port (and remade after a restart). */
  async command(port: number, ...args: (string | number)[]): Promise<unknown> {
    let connection = this.byPort.get(port);
    if (!connection || connection.status === 'end') {
      connection = new Redis({
        port,
        host: '127.0.0.1',
        retryStrategy: () => null,
        commandTimeout: 2000,
        ...(this.password === undefined ? {} : { password: this.password }),
      });
      connection.on('error', () => undefined);
      this.byPort.set(port, connection);
    }
    const [name = '', ...rest] = args;
    return connection.call(String(name), ...rest);
  }

  close(): void {
    for (const connection of this.byPort.values()) connection.disconnect();
    this.byPort.clear();
  }
}
