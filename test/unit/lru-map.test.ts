import { describe, expect, it } from 'vitest';
import { LruMap } from '../../src/stores/memory/lru-map.js';

describe('LruMap', () => {
  it('keeps entries least recently used first, get and set both counting as use', () => {
    const map = new LruMap<number>();
    for (const key of ['a', 'b', 'c', 'd']) map.set(key, key.charCodeAt(0));
    expect(map.get('b')).toBe(98);
    map.set('a', 1);
    expect([...map].map(([key]) => key)).toEqual(['c', 'd', 'b', 'a']);
    expect(map.oldestKey()).toBe('c');
    expect(map.get('missing')).toBeUndefined();
    expect(map.size).toBe(4);
  });

  it('deletes anywhere in the order, and while iterating', () => {
    const map = new LruMap<number>();
    for (let i = 0; i < 6; i++) map.set(String(i), i);
    expect(map.delete('0')).toBe(true);
    expect(map.delete('5')).toBe(true);
    expect(map.delete('5')).toBe(false);
    for (const [key, value] of map) if (value % 2 === 0) map.delete(key);
    expect([...map]).toEqual([
      ['1', 1],
      ['3', 3],
    ]);
    map.clear();
    expect(map.size).toBe(0);
    expect(map.oldestKey()).toBeUndefined();
    map.set('x', 1);
    expect([...map]).toEqual([['x', 1]]);
  });
});
