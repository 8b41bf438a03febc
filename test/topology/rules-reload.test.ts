import { mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ServiceProcess, eventually } from '../../support/service-process.js';
import { plainRules } from '../support/rules-files.js';

const RULES = 2000;

/** The built service reloads its rules on its parser thread (dist/rules/parse-worker.js). */
describe('rules reload in the service process', () => {
  let service: ServiceProcess;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), 'ratelimiter-rules-reload-'));
    writeFileSync(join(dir, 'rules.yaml'), plainRules(RULES));
    service = await ServiceProcess.start(['--rules', join(dir, 'rules.yaml')]);
  });

  afterAll(async () => {
    await service.stop('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
  });

  async function limitOf(ip: string): Promise<number | undefined> {
    const response = await service.postJson('/v1/ratelimit', {
      domain: 'plain',
      descriptors: [{ entries: [{ key: 'ip', value: ip }] }],
      hitsAddend: 0,
    });
    const body = (await response.json()) as { statuses: { currentLimit?: { requestsPerUnit: number } }[] };
    return body.statuses[0]?.currentLimit?.requestsPerUnit;
  }

  it('swaps in a changed big file, and a bad one leaves the last good rules', async () => {
    expect(await limitOf('10.0.0.0')).toBe(100);
    const changed = plainRules(RULES).replace('requests_per_unit: 100}', 'requests_per_unit: 7}');
    writeFileSync(join(dir, '.rules.tmp'), changed);
    renameSync(join(dir, '.rules.tmp'), join(dir, 'rules.yaml'));
    await eventually(async () => (await limitOf('10.0.0.0')) === 7, 'the changed rules', 20_000);
    expect(await limitOf('10.0.0.1')).toBe(101);

    writeFileSync(join(dir, '.rules.tmp'), `${changed}  - key: ip\n    ratelimit: {}\n`);
    renameSync(join(dir, '.rules.tmp'), join(dir, 'rules.yaml'));
    await eventually(
      () =>
        Promise.resolve(
          service.logLines.some((line) => /rules not reloaded.*unknown key 'ratelimit'/.test(line)),
        ),
      'the refusal, with file and line',
      20_000,
    );
    expect(await limitOf('10.0.0.0')).toBe(7);
  });
});
