import { Command } from 'commander';
import { parseAcquire, parseRelease, parseRenew } from '../core/leases.js';
import { toWireLeaseDecision, toWireRelease, toWireRenew } from '../protocol/leases.js';
import type { WireLeaseDecision } from '../protocol/leases.js';
import { CliError } from './backends.js';
import {
  EXIT_ALLOWED,
  EXIT_DENIED,
  print,
  wholeNumber,
  windowValue,
  withBackend,
  withTargetOptions,
} from './client-commands.js';
import type { TargetOptions } from './client-commands.js';

/*
 * Leases from the command line, against a running service (--url) or Redis (--redis): a lease
 * outlives the command that took it, so a script can acquire, do its work, and release (or let
 * the ttl free it if it dies). Exit 0 when the call did what it asked, 1 when it did not
 * (denied, or nothing to release or renew), 2 on any failure.
 */

interface KeyOptions extends TargetOptions {
  key?: string;
}

interface AcquireOptions extends KeyOptions {
  limit: string;
  ttl: string;
  cost?: string;
}

interface LeaseOptions extends KeyOptions {
  lease: string;
  ttl?: string;
}

/** The key as an argument (like `check <key>`) or as --key; one of them, and they must agree. */
function keyOf(argument: string | undefined, options: KeyOptions): string {
  const { key } = options;
  if (argument !== undefined && key !== undefined && argument !== key) {
    throw new CliError(`the key is given twice ("${argument}" and --key "${key}"): give it once`);
  }
  const chosen = argument ?? key;
  if (chosen === undefined) throw new CliError('a key is required: give it as an argument or with --key');
  return chosen;
}

function withKey(command: Command): Command {
  return withTargetOptions(command.argument('[key]', 'the key (or --key)')).option(
    '--key <key>',
    'the key (or as the argument)',
  );
}

function describeLease(decision: WireLeaseDecision): string {
  const verdict = decision.allowed ? 'allowed' : 'denied';
  const lease = decision.leaseId === undefined ? '' : ` lease=${decision.leaseId}`;
  return `${verdict}${lease} limit=${decision.limit} inFlight=${decision.inFlight} remaining=${decision.remaining} retryAfterMs=${decision.retryAfterMs} expiresInMs=${decision.expiresInMs}${decision.degraded ? ' degraded' : ''}`;
}

/** `acquire`, `release` and `renew`. */
export function leaseCommands(): Command[] {
  const acquire = withKey(
    new Command('acquire').description(
      'hold units of a concurrency limit for --ttl; prints the lease id; exit 0 allowed, 1 full, 2 error',
    ),
  )
    .requiredOption('--limit <n>', 'units held at once by the key (<= 1000000)')
    .requiredOption('--ttl <duration>', 'the lease expires after this unless renewed: seconds or 100ms .. 1h')
    .option('--cost <n>', 'units the lease holds (default 1; 0 looks without holding)')
    .action(async (argument: string | undefined, options: AcquireOptions) => {
      await withBackend(options, async (backend) => {
        const lease = parseAcquire({
          key: keyOf(argument, options),
          limit: wholeNumber(options.limit, '--limit'),
          ttl: windowValue(options.ttl),
          ...(options.cost === undefined ? {} : { cost: wholeNumber(options.cost, '--cost') }),
        });
        const decision = toWireLeaseDecision(await backend.limiter.acquireLease(lease));
        print(options, decision, describeLease(decision));
        return decision.allowed ? EXIT_ALLOWED : EXIT_DENIED;
      });
    });

  const release = withKey(
    new Command('release').description(
      'free a lease of the key; exit 0 released, 1 nothing to free (unknown, expired, released, another key), 2 error',
    ),
  )
    .requiredOption('--lease <id>', 'the lease id acquire printed')
    .action(async (argument: string | undefined, options: LeaseOptions) => {
      await withBackend(options, async (backend) => {
        const ref = parseRelease({ key: keyOf(argument, options), leaseId: options.lease });
        const result = toWireRelease(await backend.limiter.releaseLease(ref));
        const text = `${result.released ? 'released' : 'not released'} inFlight=${result.inFlight}`;
        print(options, result, text);
        return result.released ? EXIT_ALLOWED : EXIT_DENIED;
      });
    });

  const renew = withKey(
    new Command('renew').description(
      'extend a live lease to --ttl from now; exit 0 renewed, 1 not live (an expired lease is not revived), 2 error',
    ),
  )
    .requiredOption('--lease <id>', 'the lease id acquire printed')
    .requiredOption('--ttl <duration>', 'the new time to live: seconds or 100ms .. 1h')
    .action(async (argument: string | undefined, options: LeaseOptions) => {
      await withBackend(options, async (backend) => {
        const renewal = parseRenew({
          key: keyOf(argument, options),
          leaseId: options.lease,
          ttl: windowValue(options.ttl ?? ''),
        });
        const result = toWireRenew(await backend.limiter.renewLease(renewal));
        const text = `${result.renewed ? 'renewed' : 'not renewed'} expiresInMs=${result.expiresInMs} inFlight=${result.inFlight}`;
        print(options, result, text);
        return result.renewed ? EXIT_ALLOWED : EXIT_DENIED;
      });
    });

  return [acquire, release, renew];
}
