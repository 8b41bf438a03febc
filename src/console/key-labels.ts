import { createHmac } from 'node:crypto';
import type { ConsoleKeyMode } from '../protocol/console.js';

/** Hashed labels start with this, so one can never be mistaken for a key written that way in plain mode. */
const HASHED_PREFIX = 'h:';
/** 48 bits: distinct for any realistic top-keys list, too short to be worth reversing by a table. */
const HASH_HEX_DIGITS = 12;

/**
 * How a key leaves this process for the console: as itself in plain mode, else as a stable short
 * HMAC-SHA256 under the deployment's secret, the same on every node (so nodes' lists merge) and
 * across restarts (so an operator can follow one key through an incident).
 */
export class KeyLabels {
  constructor(
    readonly mode: ConsoleKeyMode,
    private readonly secret: string,
  ) {}

  label(key: string): string {
    if (this.mode === 'plain') return key;
    return (
      HASHED_PREFIX +
      createHmac('sha256', this.secret).update(key, 'utf8').digest('hex').slice(0, HASH_HEX_DIGITS)
    );
  }

  /** A label made by another node: kept if hashed, hashed here if that node showed keys plain. */
  relabel(label: string, from: ConsoleKeyMode): string {
    return from === 'plain' ? this.label(label) : label;
  }
}

/**
 * The secret hashed keys are made with: RATELIMITER_CONSOLE_KEY_SECRET when set, else one derived
 * from the admin token (every node of a deployment has it, and the console needs it anyway).
 */
export function consoleKeySecret(explicit: string | undefined, adminToken: string | undefined): string {
  if (explicit !== undefined) return explicit;
  return createHmac('sha256', adminToken ?? '')
    .update('ratelimiter console key labels v1')
    .digest('hex');
}
