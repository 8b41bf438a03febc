import type { Clock } from '../../core/clock.js';
import { StoreUnavailableError } from '../../core/errors.js';
import { newLeaseId } from '../../core/leases.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../../core/leases.js';
import type { RedisConnection } from './connection.js';
import { leaseKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';
import type { ScriptArg } from './scripts.js';

/**
 * The lease operations of a RedisStore: one atomic script call each (lua/leases/*.lua), on the
 * key's two lease keys, which share its hash slot. Not coalesced: each call is one holder's.
 */
export class RedisLeaseCalls {
  constructor(
    private readonly connection: RedisConnection,
    private readonly keyPrefix: string,
    private readonly graceMs: number,
    private readonly clock: Clock | undefined,
    /** Told of the units a timed-out acquire still took: they stay held until its ttl. */
    private readonly onLateHold: (units: number) => void,
  ) {}

  async acquire(lease: LeaseAcquire): Promise<AcquireOutcome> {
    const leaseId = newLeaseId();
    const argv = this.start(lease.key, leaseId);
    argv.push(lease.limit, lease.ttlMs * 1000, lease.cost);
    const reply = await this.connection.run(
      () => SCRIPTS.lease.acquire.run(this.connection.client, { keyCount: 2, argv }),
      {
        onLateReply: (late) => {
          // A malformed late reply tells nothing more.
          if (Array.isArray(late) && late[0] === 1) this.onLateHold(lease.cost);
        },
      },
    );
    const [allowed, inFlight, retryAfterUs, expiresInUs] = integers<Four>(reply, 4);
    const admitted = allowed === 1;
    return {
      allowed: admitted,
      ...(admitted && lease.cost > 0 ? { leaseId } : {}),
      inFlight,
      retryAfterUs,
      expiresInUs,
    };
  }

  async release(ref: LeaseRef): Promise<ReleaseOutcome> {
    const argv = this.start(ref.key, ref.leaseId);
    const reply = await this.connection.run(() =>
      SCRIPTS.lease.release.run(this.connection.client, { keyCount: 2, argv }),
    );
    const [released, inFlight, limit] = integers<Three>(reply, 3);
    return { released: released === 1, inFlight, limit };
  }

  async renew(renewal: LeaseRenewal): Promise<RenewOutcome> {
    const argv = this.start(renewal.key, renewal.leaseId);
    argv.push(renewal.ttlMs * 1000);
    const reply = await this.connection.run(() =>
      SCRIPTS.lease.renew.run(this.connection.client, { keyCount: 2, argv }),
    );
    const [renewed, inFlight, limit, expiresInUs] = integers<Four>(reply, 4);
    return { renewed: renewed === 1, inFlight, limit, expiresInUs };
  }

  /** Keys, time, grace and the lease id: what every lease script takes first. */
  private start(key: string, leaseId: string): ScriptArg[] {
    const now: ScriptArg = this.clock ? this.clock.nowUs() : '';
    return [...leaseKeys(this.keyPrefix, key), now, this.graceMs, leaseId];
  }
}

type Three = [number, number, number];
type Four = [number, number, number, number];

/** A script's reply of `length` integers. */
function integers<Reply extends Three | Four>(reply: unknown, length: Reply['length']): Reply {
  if (!Array.isArray(reply) || reply.length !== length || !reply.every((n) => typeof n === 'number')) {
    throw new StoreUnavailableError('unexpected lease script reply');
  }
  return reply as Reply;
}
