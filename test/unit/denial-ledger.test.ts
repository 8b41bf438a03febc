import { describe, expect, it } from 'vitest';
import { DenialLedger } from '../../src/adapters/shared/peer-counter.js';

describe('DenialLedger: decrements of uncounted hits give nothing back', () => {
  it('absorbs one decrement per noted hit of that key, no more', () => {
    const ledger = new DenialLedger(() => 0);
    ledger.note('a');
    ledger.note('a');
    expect([ledger.absorb('b'), ledger.absorb('a'), ledger.absorb('a'), ledger.absorb('a')]).toEqual([
      false,
      true,
      true,
      false,
    ]);
  });

  it('forgets a noted hit whose decrement never came within 10 s', () => {
    let now = 0;
    const ledger = new DenialLedger(() => now);
    ledger.note('a');
    now = 10_000;
    expect(ledger.absorb('a')).toBe(false);
  });

  it('stays bounded: past 10,000 keys the oldest is forgotten', () => {
    const ledger = new DenialLedger(() => 0);
    for (let i = 0; i <= 10_000; i++) ledger.note(`k${i}`);
    expect(ledger.absorb('k0')).toBe(false);
    expect(ledger.absorb('k10000')).toBe(true);
  });
});
