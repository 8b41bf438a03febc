import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { NGINX_BINARY, NginxServer } from '../../support/nginx.js';
import { freePort } from '../../support/redis-server.js';
import { ServiceProcess } from '../../support/service-process.js';

/**
 * Real nginx in front of a small backend, asking the service through `auth_request`: the 4th
 * request of a 3-per-minute rule reaches the client as a 429 with Retry-After and the headers.
 * The configuration is the one docs/forward-auth.md gives.
 */
const RULES = `
domain: nginx
descriptors:
  - key: remote_address
    rate_limit:
      unit: minute
      requests_per_unit: 3
`;

/** docs/forward-auth.md's configuration, with the ports filled in. */
function nginxConfig(port: number, servicePort: number, backendPort: number): string {
  return `
  upstream ratelimiter { server 127.0.0.1:${servicePort}; keepalive 16; }

  server {
    listen 127.0.0.1:${port};

    location = /_ratelimit {
      internal;
      proxy_pass http://ratelimiter/v1/forward-auth?domain=nginx;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_pass_request_body off;
      proxy_set_header Content-Length "";
      proxy_set_header X-Forwarded-For $proxy_add_x_forwarded_for;
      proxy_set_header X-Original-URI $request_uri;
      proxy_set_header X-Original-Method $request_method;
    }

    location / {
      auth_request /_ratelimit;
      auth_request_set $ratelimit_status $upstream_status;
      auth_request_set $ratelimit_policy $upstream_http_ratelimit_policy;
      auth_request_set $ratelimit_state $upstream_http_ratelimit;
      auth_request_set $ratelimit_retry_after $upstream_http_retry_after;
      add_header RateLimit-Policy $ratelimit_policy always;
      add_header RateLimit $ratelimit_state always;
      # auth_request passes 2xx, 401 and 403; anything else (our 429) arrives here as a 500.
      error_page 500 = @ratelimited;
      proxy_pass http://127.0.0.1:${backendPort};
    }

    location @ratelimited {
      if ($ratelimit_status = 429) {
        add_header RateLimit-Policy $ratelimit_policy always;
        add_header RateLimit $ratelimit_state always;
        add_header Retry-After $ratelimit_retry_after always;
        return 429 "rate limited\\n";
      }
      return 503;
    }
  }`;
}

let dir: string;
let service: ServiceProcess;
let backend: Server;
let nginx: NginxServer;
let backendHits = 0;

beforeAll(async () => {
  if (!existsSync(NGINX_BINARY)) {
    throw new Error(`${NGINX_BINARY} is missing: apt-get install nginx (.ci/run does it)`);
  }
  dir = mkdtempSync(join(tmpdir(), 'ratelimiter-nginx-rules-'));
  writeFileSync(join(dir, 'rules.yaml'), RULES);
  service = await ServiceProcess.start(['--rules', join(dir, 'rules.yaml')]);
  const backendPort = await freePort();
  backend = createServer((_request, response) => {
    backendHits++;
    response.end('hello from the backend\n');
  });
  await new Promise<void>((resolve) => backend.listen(backendPort, '127.0.0.1', resolve));
  const servicePort = Number(new URL(service.url).port);
  nginx = await NginxServer.start((port) => nginxConfig(port, servicePort, backendPort));
});

afterAll(async () => {
  await nginx.stop();
  await new Promise((resolve) => backend.close(resolve));
  await service.stop('SIGKILL');
  rmSync(dir, { recursive: true, force: true });
});

describe('nginx auth_request in front of a backend', () => {
  it('turns the 4th request of a 3-per-minute rule into a 429 for the client, with Retry-After and the headers', async () => {
    // nginx appends the peer (127.0.0.1, a trusted proxy) to this: the service limits 192.0.2.x.
    const client = { 'x-forwarded-for': `192.0.2.${(Date.now() % 250) + 1}` };
    const hitsBefore = backendHits;
    const responses = [];
    for (let i = 0; i < 4; i++) {
      const response = await fetch(`${nginx.url}/orders?id=${i}`, { headers: client });
      responses.push({ status: response.status, headers: response.headers, body: await response.text() });
    }
    expect(responses.map(({ status }) => status)).toEqual([200, 200, 200, 429]);
    expect(responses[0]?.body).toBe('hello from the backend\n');
    expect(responses[0]?.headers.get('ratelimit-policy')).toBe('"descriptor-0";q=3;w=60');
    expect(responses[0]?.headers.get('ratelimit')).toMatch(/^"descriptor-0";r=2;t=\d+$/);
    const denied = responses[3];
    expect(denied?.body).toBe('rate limited\n');
    expect(Number(denied?.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    expect(Number(denied?.headers.get('retry-after'))).toBeLessThanOrEqual(60);
    expect(denied?.headers.get('ratelimit')).toMatch(/^"descriptor-0";r=0;t=\d+$/);
    // The denied request never reached the backend.
    expect(backendHits - hitsBefore).toBe(3);
  });

  it('keeps clients apart, and answers 503 (not a 429) when the service is unreachable', async () => {
    const other = await fetch(`${nginx.url}/`, { headers: { 'x-forwarded-for': '198.51.100.99' } });
    expect(other.status).toBe(200);
    await service.stop('SIGTERM');
    const unreachable = await fetch(`${nginx.url}/`, { headers: { 'x-forwarded-for': '198.51.100.98' } });
    expect(unreachable.status).toBe(503);
  });
});
