import { describe, expect, it } from 'vitest';
import { DeniedTally, SAMPLED_DENIALS_PER_SECOND, TALLY_KEYS } from '../../../src/console/denied-tally.js';
import { HeavyHitters } from '../../../src/console/heavy-hitters.js';
import { ConsoleRecorder } from '../../../src/console/recorder.js';

const INFO = { algorithm: 'fixed-window', limit: 5, windowMs: 1000 };
const T0 = 1_700_000_000_000;

/** A seeded uniform source in [0, 1): the sampled tests are deterministic. */
function seeded(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state, 1_103_515_245) + 12_345) >>> 0;
    return state / 4_294_967_296;
  };
}

/** A sketch fed through a tally: what the recorder does, without its slices. */
function tallied(k: number, random?: () => number): { sketch: HeavyHitters; tally: DeniedTally } {
  const sketch = new HeavyHitters(k);
  const tally = new DeniedTally((_, batch) => {
    sketch.addBatch(batch);
  }, random);
  return { sketch, tally };
}

describe('DeniedTally', () => {
  it('folds early at TALLY_KEYS distinct keys, so a flood of new keys holds bounded memory', () => {
    const batches: number[] = [];
    const tally = new DeniedTally((_, batch) => batches.push(batch.size));
    for (let i = 0; i < 3 * TALLY_KEYS; i++) tally.add(T0, `flood-${i}`, INFO);
    expect(batches).toEqual([TALLY_KEYS, TALLY_KEYS]);
    expect(tally.size).toBe(TALLY_KEYS);
  });

  it('counts exactly up to the sampling rate, and keeps what limited a key', () => {
    const { sketch, tally } = tallied(4, () => {
      throw new Error('no sampling below the rate');
    });
    for (let second = 0; second < 3; second++) {
      for (let i = 0; i < SAMPLED_DENIALS_PER_SECOND; i++) tally.add(T0 + second * 1000, `k${i % 3}`, INFO);
    }
    tally.add(T0 + 3000, 'k0', { algorithm: 'token-bucket', limit: 9, windowMs: 60_000 });
    tally.fold();
    expect(sketch.counted).toBe(3 * SAMPLED_DENIALS_PER_SECOND + 1);
    expect(sketch.top(1)).toEqual([
      {
        item: 'k0',
        count: 3 * Math.ceil(SAMPLED_DENIALS_PER_SECOND / 3) + 1,
        algorithm: 'token-bucket',
        limit: 9,
        windowMs: 60_000,
      },
    ]);
  });

  it('samples a busier second, each counted denial standing for the ones skipped', () => {
    const { sketch, tally } = tallied(8, seeded(7));
    const perSecond = 100_000;
    const shares = [0.5, 0.3, 0.2];
    for (let second = 0; second < 4; second++) {
      for (let i = 0; i < perSecond; i++) {
        const pick = i % 10 < 5 ? 0 : i % 10 < 8 ? 1 : 2;
        tally.add(T0 + second * 1000 + (i * 1000) / perSecond, `k${pick}`, INFO);
      }
    }
    tally.fold();
    const total = 4 * perSecond;
    // The first second is exact up to 16,384 denials and sampled more and more thinly after; the
    // three after it 1 in 16 (100,000 / 16 <= 8,192).
    expect(Math.abs(sketch.counted - total) / total).toBeLessThan(0.02);
    for (const [index, share] of shares.entries()) {
      const hitter = sketch.top().find(({ item }) => item === `k${index}`);
      expect(Math.abs((hitter?.count ?? 0) - share * total) / (share * total)).toBeLessThan(0.03);
    }
  });

  it('reaches the recorder snapshot without waiting for the second to end', () => {
    const recorder = new ConsoleRecorder();
    for (let i = 0; i < 5; i++) recorder.decided(T0 + i, 'hot', INFO, false, false);
    recorder.decided(T0 + 10, 'ok', INFO, true, false);
    expect(recorder.deniedKeysOfMinute(T0 + 20).top()).toEqual([{ item: 'hot', count: 5, ...INFO }]);
  });
});
