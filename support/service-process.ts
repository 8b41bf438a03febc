import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

/** The built CLI: integration tests run what `npm start` and the `ratelimiter` bin run. */
export const CLI_PATH = fileURLToPath(new URL('../dist/cli/index.js', import.meta.url));

/** The parent's environment minus every setting, so a developer's REDIS_URL never leaks into a test. */
export function cleanEnv(extra: Record<string, string> = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (!name.startsWith('RATELIMITER_') && name !== 'REDIS_URL') env[name] = value;
  }
  return { ...env, ...extra };
}

const LISTENING = /listening at (http:\/\/[\d.]+:\d+)/i;
const GRPC_LISTENING = /gRPC listening at [^"]*:(\d+)/;

/** `ratelimiter serve --port 0 ...` as a child process; stop it by PID in afterAll. */
export class ServiceProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    /** The gRPC port (Envoy's RateLimitService and grpc.health.v1). */
    readonly grpcPort: number,
    private readonly exited: Promise<number | null>,
    /** Every stdout line so far (JSON log lines). */
    readonly logLines: string[],
  ) {}

  get pid(): number {
    return this.child.pid ?? -1;
  }

  static async start(args: string[] = [], env: Record<string, string> = {}): Promise<ServiceProcess> {
    // A free gRPC port too, unless the test chose one: parallel services must not race for 8081.
    const grpcArgs =
      args.includes('--grpc-port') || 'RATELIMITER_GRPC_PORT' in env ? [] : ['--grpc-port', '0'];
    const child = spawn(process.execPath, [CLI_PATH, 'serve', '--port', '0', ...grpcArgs, ...args], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const logLines: string[] = [];
    let stderr = '';
    // 'close', not 'exit': the exit code is known only once stdout is drained into logLines.
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    const { url, grpcPort } = await new Promise<{ url: string; grpcPort: number }>((resolve, reject) => {
      let httpUrl: string | undefined;
      let grpcPort: number | undefined;
      let partial = '';
      const timer = setTimeout(() => {
        // Never leave a process behind that no test will stop.
        child.kill('SIGKILL');
        reject(new Error(`service did not log its listening line within 10 s; stderr: ${stderr}`));
      }, 10_000);
      child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
      child.stdout.on('data', (chunk: Buffer) => {
        const lines = (partial + chunk.toString()).split('\n');
        partial = lines.pop() ?? '';
        for (const line of lines) {
          logLines.push(line);
          httpUrl ??= LISTENING.exec(line)?.[1];
          const grpcMatch = GRPC_LISTENING.exec(line)?.[1];
          if (grpcMatch !== undefined) grpcPort ??= Number(grpcMatch);
          if (httpUrl !== undefined && grpcPort !== undefined) {
            clearTimeout(timer);
            resolve({ url: httpUrl, grpcPort });
          }
        }
      });
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`service exited with ${code} before listening; stderr: ${stderr}`));
      });
    });
    return new ServiceProcess(child, url, grpcPort, exited, logLines);
  }

  /** Send a signal and wait for the exit code. */
  async stop(signal: NodeJS.Signals = 'SIGTERM'): Promise<number | null> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill(signal);
    return this.exited;
  }

  fetch(path: string, init?: RequestInit): Promise<Response> {
    return fetch(new URL(path, this.url), init);
  }

  postJson(path: string, body: unknown, headers: Record<string, string> = {}): Promise<Response> {
    return this.fetch(path, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    });
  }

  async nodeIds(): Promise<string[]> {
    const response = await this.fetch('/v1/nodes');
    const body = (await response.json()) as { nodes: { id: string }[] };
    return body.nodes.map((node) => node.id);
  }
}

/** Poll until `probe` is true or the deadline passes; tests wait on state, never on a fixed sleep. */
export async function eventually(
  probe: () => Promise<boolean>,
  what: string,
  timeoutMs = 10_000,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await probe().catch(() => false)) return;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export interface CliRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** `check k --limit 1 --window 10 --redis <url>`: one unit of a throwaway counter, straight on Redis. */
export function checkOnRedis(redisUrl: string, ...extra: string[]): string[] {
  return ['check', 'k', '--limit', '1', '--window', '10', '--redis', redisUrl, ...extra];
}

/** Run the built CLI to completion. */
export function runCli(args: string[], env: Record<string, string> = {}): Promise<CliRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [CLI_PATH, ...args], {
      env: cleanEnv(env),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code) => {
      resolve({ code, stdout, stderr });
    });
  });
}

/** Resident memory of a process, in MB (Linux). */
export function rssMb(pid: number): number {
  return Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0) / 1024;
}
