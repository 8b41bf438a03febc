import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { freePort } from './redis-server.js';

/** Where Debian's package puts nginx; `.ci/run` installs it when missing. */
export const NGINX_BINARY = '/usr/sbin/nginx';

/**
 * A real nginx owned by one test file: its own prefix directory (config, pid, logs, temp files),
 * a free loopback port, in the foreground (`daemon off`), stopped by PID.
 */
export class NginxServer {
  private constructor(
    private readonly child: ChildProcess,
    readonly port: number,
    private readonly prefix: string,
    private readonly exited: Promise<number | null>,
  ) {}

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** `http` is the body of the config's http {} block; `PORT` in it is replaced by the port. */
  static async start(http: (port: number) => string): Promise<NginxServer> {
    const port = await freePort();
    const prefix = mkdtempSync(join(tmpdir(), 'ratelimiter-nginx-'));
    mkdirSync(join(prefix, 'logs'));
    mkdirSync(join(prefix, 'tmp'));
    const config = [
      'worker_processes 1;',
      'daemon off;',
      `pid ${join(prefix, 'nginx.pid')};`,
      `error_log ${join(prefix, 'logs', 'error.log')} info;`,
      'events { worker_connections 256; }',
      'http {',
      '  access_log off;',
      ...['client_body', 'proxy', 'fastcgi', 'uwsgi', 'scgi'].map(
        (kind) => `  ${kind}_temp_path ${join(prefix, 'tmp', kind)};`,
      ),
      http(port),
      '}',
    ].join('\n');
    writeFileSync(join(prefix, 'nginx.conf'), config);
    const child = spawn(NGINX_BINARY, ['-p', prefix, '-c', join(prefix, 'nginx.conf')], {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const server = new NginxServer(child, port, prefix, exited);
    const deadline = Date.now() + 5000;
    for (;;) {
      const up = await fetch(`${server.url}/`).then(
        () => true,
        () => false,
      );
      if (up) return server;
      if (child.exitCode !== null || Date.now() > deadline) {
        await server.stop();
        throw new Error(`nginx did not start: ${stderr} ${server.errorLog()}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
  }

  errorLog(): string {
    try {
      return readFileSync(join(this.prefix, 'logs', 'error.log'), 'utf8');
    } catch {
      return '';
    }
  }

  /** SIGQUIT (graceful), by PID, then remove the prefix. */
  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGQUIT');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
    rmSync(this.prefix, { recursive: true, force: true });
  }
}
