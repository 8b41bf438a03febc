import { status } from '@grpc/grpc-js';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { RedisServer } from '../../support/redis-server.js';
import { EDGE_QUOTA_RULES, SimulatedEnvoy, openRlqsStream } from '../../support/rlqs-proxy.js';
import type { WireReports, WireResponse } from '../../support/rlqs-proxy.js';
import { ServiceProcess, eventually } from '../../support/service-process.js';

/**
 * The Rate Limit Quota Service over gRPC: real service processes on a real redis-server, and
 * simulated Envoy proxies built from the repo's .proto files that enforce what they are assigned
 * as Envoy's filter does (support/rlqs-proxy.ts).
 */

let redis: RedisServer;
let nodes: ServiceProcess[];
let dir: string;
const proxies: SimulatedEnvoy[] = [];
const address = (node: ServiceProcess) => `127.0.0.1:${node.grpcPort}`;
const tenant = (name: string) => ({ name: 'api', tenant: `${name}-${Date.now().toString(36)}` });

function proxy(node: ServiceProcess, reportIntervalMs = 300): SimulatedEnvoy {
  const envoy = new SimulatedEnvoy({ addresses: [address(node)], domain: 'edge', reportIntervalMs });
  envoy.start();
  proxies.push(envoy);
  return envoy;
}

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ratelimiter-rlqs-'));
  writeFileSync(join(dir, 'rules.yaml'), EDGE_QUOTA_RULES);
  redis = await RedisServer.start();
  const args = ['--redis', redis.url, '--rules', join(dir, 'rules.yaml'), '--store-timeout-ms', '2000'];
  nodes = await Promise.all([
    ServiceProcess.start(args),
    ServiceProcess.start([...args, '--rlqs-max-streams', '3', '--rlqs-max-buckets', '2']),
  ]);
});

afterEach(() => {
  for (const envoy of proxies.splice(0)) envoy.stop();
});

afterAll(async () => {
  await Promise.all(nodes.map((node) => node.stop()));
  await redis.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** One message on a raw stream, and the status it ends with (or the first answer). */
async function exchange(
  node: ServiceProcess,
  messages: WireReports[],
): Promise<{ code?: number; details?: string; response?: WireResponse }> {
  const { client, stream } = openRlqsStream(address(node));
  try {
    return await new Promise((resolve) => {
      stream.on('data', (response: WireResponse) => {
        resolve({ response });
      });
      stream.on('error', (error: { code: number; details: string }) => {
        resolve({ code: error.code, details: error.details });
      });
      for (const message of messages) stream.write(message);
    });
  } finally {
    stream.cancel();
    client.close();
  }
}

const usage = (bucket: Record<string, string>, allowed = 1) => ({
  bucket_id: { bucket },
  time_elapsed: { seconds: 0 },
  num_requests_allowed: allowed,
  num_requests_denied: 0,
});

describe('RLQS on two nodes sharing one Redis', () => {
  it('answers a bucket’s first report at once, with a whole-second token bucket', async () => {
    const { response } = await exchange(nodes[0] as ServiceProcess, [
      { domain: 'edge', bucket_quota_usages: [usage(tenant('first'))] },
    ]);
    const action = response?.bucket_action[0]?.quota_assignment_action;
    expect(action?.rate_limit_strategy?.token_bucket).toEqual({
      max_tokens: 49,
      tokens_per_fill: { value: 97 },
      fill_interval: { seconds: 1 },
    });
    expect(action?.assignment_time_to_live?.seconds).toBe(15);
  });

  it('splits one limit between proxies on different nodes, and gives a closed stream’s share back', async () => {
    const id = tenant('split');
    const [a, b] = [proxy(nodes[0] as ServiceProcess), proxy(nodes[1] as ServiceProcess)];
    const load = setInterval(() => {
      for (let i = 0; i < 20; i++) {
        a.request(id);
        b.request(id);
      }
    }, 20);
    try {
      await eventually(() => {
        const [ta, tb] = [a.assignment(id), b.assignment(id)];
        return Promise.resolve(
          typeof ta === 'number' && typeof tb === 'number' && Math.abs(ta - tb) <= 1 && ta + tb >= 95,
        );
      }, 'an even split of 97 tokens');
      expect((a.assignment(id) as number) + (b.assignment(id) as number)).toBeLessThanOrEqual(97);
      a.stop();
      await eventually(() => Promise.resolve(b.assignment(id) === 97), 'the whole quota for the proxy left');
    } finally {
      clearInterval(load);
    }
  });

  it.each([
    [
      'a stream without a domain',
      [{ bucket_quota_usages: [usage({ name: 'api', tenant: 'x' })] }],
      status.INVALID_ARGUMENT,
      'domain',
    ],
    [
      'an empty bucket id',
      [{ domain: 'edge', bucket_quota_usages: [usage({})] }],
      status.INVALID_ARGUMENT,
      'bucket_id',
    ],
    [
      'a report without usage',
      [{ domain: 'edge', bucket_quota_usages: [] }],
      status.INVALID_ARGUMENT,
      'bucket',
    ],
    [
      'more buckets than a stream may have',
      [{ domain: 'edge', bucket_quota_usages: [usage({ a: '1' }), usage({ a: '2' }), usage({ a: '3' })] }],
      status.RESOURCE_EXHAUSTED,
      'at most 2 buckets',
    ],
  ])('refuses %s with a clear status', async (_name, messages, code, details) => {
    const answer = await exchange(nodes[1] as ServiceProcess, messages);
    expect(answer.code).toBe(code);
    expect(answer.details).toContain(details);
  });

  it('refuses streams past the node’s bound with RESOURCE_EXHAUSTED, and takes one again once one closes', async () => {
    const node = nodes[1] as ServiceProcess;
    const held = [0, 1, 2].map(() => openRlqsStream(address(node)));
    try {
      for (const { stream } of held) {
        // Cancelled below: that is the end these streams are meant to have.
        stream.on('error', () => undefined);
        stream.write({ domain: 'edge', bucket_quota_usages: [usage(tenant('held'))] });
      }
      await eventually(
        async () =>
          (await exchange(node, [{ domain: 'edge', bucket_quota_usages: [usage(tenant('x'))] }])).code ===
          status.RESOURCE_EXHAUSTED,
        'the fourth stream refused',
      );
    } finally {
      for (const { stream, client } of held) {
        stream.cancel();
        client.close();
      }
    }
    await eventually(
      async () =>
        (await exchange(node, [{ domain: 'edge', bucket_quota_usages: [usage(tenant('y'))] }])).response !==
        undefined,
      'a stream served again',
    );
  });
});
