import { spawn } from 'node:child_process';
import type { ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { cleanEnv } from '../../support/service-process.js';

const LISTENING = /^listening (http:\/\/[\d.]+:\d+)$/m;

/** A fixture app of test/support/adapter-apps as its own process, importing the built package by its exports. */
export class AppProcess {
  private constructor(
    private readonly child: ChildProcess,
    readonly url: string,
    private readonly exited: Promise<number | null>,
  ) {}

  static async start(file: string, env: Record<string, string>): Promise<AppProcess> {
    const path = fileURLToPath(new URL(`./adapter-apps/${file}`, import.meta.url));
    const child = spawn(process.execPath, [path], { env: cleanEnv(env), stdio: ['ignore', 'pipe', 'pipe'] });
    const exited = new Promise<number | null>((resolve) => child.once('close', resolve));
    let output = '';
    const url = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => {
        child.kill('SIGKILL');
        reject(new Error(`${file} did not start within 15 s: ${output}`));
      }, 15_000);
      const read = (chunk: Buffer) => {
        output += chunk.toString();
        const match = LISTENING.exec(output);
        if (match?.[1] !== undefined) {
          clearTimeout(timer);
          resolve(match[1]);
        }
      };
      child.stdout.on('data', read);
      child.stderr.on('data', read);
      void exited.then((code) => {
        clearTimeout(timer);
        reject(new Error(`${file} exited with ${code} before listening: ${output}`));
      });
    });
    return new AppProcess(child, url, exited);
  }

  get pid(): number {
    return this.child.pid ?? -1;
  }

  async stop(): Promise<void> {
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGTERM');
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 5000);
    await this.exited;
    clearTimeout(timer);
  }
}
