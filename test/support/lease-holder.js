// A holder of leases on Redis that never releases them: the crash test SIGKILLs it while it holds.
// Takes LEASE_COUNT leases of LEASE_KEY (limit LEASE_LIMIT, ttl LEASE_TTL), prints one JSON line
// ({ leaseIds, acquiredAt }), then waits to be killed.
import process from 'node:process';
import { setTimeout } from 'node:timers';
import { RateLimiter, RedisStore } from 'ratelimiter-service';

const { REDIS_URL: url, LEASE_KEY: key, LEASE_LIMIT, LEASE_TTL: ttl, LEASE_COUNT } = process.env;
if (!url || !key || !LEASE_LIMIT || !ttl || !LEASE_COUNT)
  throw new Error('LEASE_* and REDIS_URL are required');

const store = new RedisStore({ url, timeoutMs: 2000 });
await store.connection.connected();
const limiter = new RateLimiter({ store });
const leaseIds = [];
for (let i = 0; i < Number(LEASE_COUNT); i++) {
  const decision = await limiter.acquire({ key, limit: Number(LEASE_LIMIT), ttl });
  if (!decision.allowed || decision.leaseId === undefined) throw new Error(`acquire ${i} was denied`);
  leaseIds.push(decision.leaseId);
}
process.stdout.write(`${JSON.stringify({ leaseIds, acquiredAt: Date.now() })}\n`);
// Held until killed: this process never releases anything. A test that fails before the kill
// leaves no process behind for long.
setTimeout(() => process.exit(3), 60_000);
