import calculateSlot from 'cluster-key-slot';
import type { Clock } from '../../core/clock.js';
import { StoreUnavailableError, asError } from '../../core/errors.js';
import { newLeaseId } from '../../core/leases.js';
import type {
  AcquireOutcome,
  LeaseAcquire,
  LeaseRef,
  LeaseRenewal,
  ReleaseOutcome,
  RenewOutcome,
} from '../../core/leases.js';
import { Coalescer } from '../check-coalescer.js';
import type { AnswerSink, CoalescerLimits } from '../check-coalescer.js';
import type { RedisConnection } from './connection.js';
import { leaseKeys } from './keys.js';
import { SCRIPTS } from './scripts.js';
import type { ScriptArg } from './scripts.js';

type Operation = 'acquire' | 'release' | 'renew';

/** Integers each operation's script answers per call it carries. */
const REPLY_WIDTH: Record<Operation, number> = { acquire: 4, release: 3, renew: 4 };

/** One lease call as it waits to be sent: its script, its two keys and its own arguments. */
interface LeaseCall {
  operation: Operation;
  set: string;
  ledger: string;
  args: ScriptArg[];
  /** Units an acquire would hold (0 for the others): counted when a timed-out one took them. */
  cost: number;
}

type Reply = readonly number[];

/** The script's integers for a call, as they are; a failure rejects. */
const REPLIES: AnswerSink<LeaseCall, Reply, Reply> = {
  answered: (_call, reply) => reply,
  failed: (_call, error) => Promise.reject(asError(error)),
};

/**
 * The lease operations of a RedisStore, coalesced as checks are (see Coalescer): the acquires,
 * releases and renewals issued together go in one call of their script (lua/leases/*.lua), and on
 * a Cluster one per hash slot, each operation atomic on its own and in order, on the key's two
 * lease keys, which share its slot. Without it, each holder's call would cost Redis a script call
 * of its own, several times a coalesced check's share (issue 16).
 */
export class RedisLeaseCalls {
  private readonly coalescer: Coalescer<LeaseCall, Reply>;

  constructor(
    private readonly connection: RedisConnection,
    private readonly keyPrefix: string,
    private readonly graceMs: number,
    private readonly clock: Clock | undefined,
    limits: CoalescerLimits,
    /** Told of the units a timed-out acquire still took: they stay held until its ttl. */
    private readonly onLateHold: (units: number) => void,
  ) {
    this.coalescer = new Coalescer<LeaseCall, Reply>(limits, {
      remote: 'redis',
      noun: 'lease call',
      groupOf: connection.isCluster
        ? (call) => `${call.operation}:${calculateSlot(call.set)}`
        : (call) => call.operation,
      send: (calls) => this.send(calls),
      storeIsSlow: () => connection.timedOutRecently(1000),
    });
  }

  async acquire(lease: LeaseAcquire): Promise<AcquireOutcome> {
    const leaseId = newLeaseId();
    const [allowed, inFlight, retryAfterUs, expiresInUs] = (await this.submit(
      'acquire',
      lease.key,
      [leaseId, lease.limit, lease.ttlMs * 1000, lease.cost],
      lease.cost,
    )) as Four;
    // The id is random (22 characters): in use means the generator failed, and nothing was taken.
    if (allowed === -1) throw new StoreUnavailableError('lease id in use');
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
    const [released, inFlight, limit] = (await this.submit('release', ref.key, [ref.leaseId])) as Three;
    return { released: released === 1, inFlight, limit };
  }

  async renew(renewal: LeaseRenewal): Promise<RenewOutcome> {
    const [renewed, inFlight, limit, expiresInUs] = (await this.submit('renew', renewal.key, [
      renewal.leaseId,
      renewal.ttlMs * 1000,
    ])) as Four;
    return { renewed: renewed === 1, inFlight, limit, expiresInUs };
  }

  stats(): { queued: number; inFlight: number; shed: number } {
    return this.coalescer.stats();
  }

  private submit(operation: Operation, key: string, args: ScriptArg[], cost = 0): Promise<Reply> {
    const [set, ledger] = leaseKeys(this.keyPrefix, key);
    return this.coalescer.submitInto({ operation, set, ledger, args, cost }, REPLIES);
  }

  /** One script call for calls of one operation (and one slot on a Cluster): keys, time, grace, then each call's arguments. */
  private async send(calls: readonly LeaseCall[]): Promise<Reply[]> {
    const first = calls[0];
    if (!first) return [];
    const argv: ScriptArg[] = [];
    for (const call of calls) argv.push(call.set, call.ledger);
    argv.push(this.clock ? this.clock.nowUs() : '', this.graceMs);
    for (const call of calls) argv.push(...call.args);
    const script = SCRIPTS.lease[first.operation];
    const width = REPLY_WIDTH[first.operation];
    const reply = await this.connection.run(
      () => script.run(this.connection.client, { keyCount: calls.length * 2, argv }),
      first.operation === 'acquire'
        ? {
            onLateReply: (late) => {
              this.countLateHolds(calls, late);
            },
          }
        : undefined,
    );
    return split(reply, calls.length, width);
  }

  /** A call that timed out may still have run: what its acquires took stays held until their ttl. */
  private countLateHolds(calls: readonly LeaseCall[], late: unknown): void {
    try {
      split(late, calls.length, 4).forEach((reply, i) => {
        if (reply[0] === 1) this.onLateHold(calls[i]?.cost ?? 0);
      });
    } catch {
      // A malformed late reply tells nothing more.
    }
  }
}

type Three = [number, number, number];
type Four = [number, number, number, number];

/** A script's reply of `width` integers for each of `count` calls, one slice per call. */
function split(reply: unknown, count: number, width: number): Reply[] {
  if (!Array.isArray(reply) || reply.length !== count * width || !reply.every((n) => typeof n === 'number')) {
    throw new StoreUnavailableError('unexpected lease script reply');
  }
  const replies: Reply[] = new Array<Reply>(count);
  for (let i = 0; i < count; i++) replies[i] = reply.slice(i * width, i * width + width);
  return replies;
}
