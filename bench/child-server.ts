/** A bench server in its own process: a TypeScript script that prints "listening at <url>". */
import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export interface ChildServer {
  url: string;
  pid: number;
  /** SIGTERM, then the exit. */
  stop(): Promise<unknown>;
}

/** Start `script` (a URL beside the caller) under tsx with `env` added, and wait for its URL. */
export async function startChildServer(
  script: URL,
  name: string,
  env: Record<string, string> = {},
): Promise<ChildServer> {
  const child = spawn(process.execPath, ['--import', 'tsx', fileURLToPath(script)], {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((resolve) => child.once('exit', resolve));
  const url = await new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      const match = /listening at (\S+)/.exec(chunk.toString());
      if (match?.[1] !== undefined) resolve(match[1]);
    });
    child.once('exit', (code) => {
      reject(new Error(`${name} exited with ${String(code)}`));
    });
  });
  return {
    url,
    pid: child.pid ?? -1,
    stop: () => {
      child.kill('SIGTERM');
      return exited;
    },
  };
}
