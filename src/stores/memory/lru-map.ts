interface Entry<V> {
  key: string;
  value: V;
  older: Entry<V> | undefined;
  newer: Entry<V> | undefined;
}

/**
 * A Map that remembers the order of use, for least-recently-used eviction. The order lives in a
 * linked list beside the Map: moving a key to the front never deletes and re-inserts it, which on
 * a large V8 Map costs a rehash every few operations (a hot key fell to ~5,000 checks/s among
 * 86,000 others).
 */
export class LruMap<V> {
  private readonly entries = new Map<string, Entry<V>>();
  private oldest: Entry<V> | undefined;
  private newest: Entry<V> | undefined;

  get size(): number {
    return this.entries.size;
  }

  /** The value, marked as just used. */
  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.moveToNewest(entry);
    return entry.value;
  }

  /** Store the value, marked as just used. */
  set(key: string, value: V): void {
    const entry = this.entries.get(key);
    if (entry) {
      entry.value = value;
      this.moveToNewest(entry);
      return;
    }
    const added: Entry<V> = { key, value, older: this.newest, newer: undefined };
    if (this.newest) this.newest.newer = added;
    this.newest = added;
    this.oldest ??= added;
    this.entries.set(key, added);
  }

  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.unlink(entry);
    this.entries.delete(key);
    return true;
  }

  /** The least recently used key. */
  oldestKey(): string | undefined {
    return this.oldest?.key;
  }

  clear(): void {
    this.entries.clear();
    this.oldest = undefined;
    this.newest = undefined;
  }

  /** Every entry, least recently used first; deleting the current entry while iterating is safe. */
  *[Symbol.iterator](): IterableIterator<[string, V]> {
    let entry = this.oldest;
    while (entry) {
      const next = entry.newer;
      yield [entry.key, entry.value];
      entry = next;
    }
  }

  private moveToNewest(entry: Entry<V>): void {
    if (entry === this.newest) return;
    this.unlink(entry);
    entry.older = this.newest;
    entry.newer = undefined;
    if (this.newest) this.newest.newer = entry;
    this.newest = entry;
    this.oldest ??= entry;
  }

  private unlink(entry: Entry<V>): void {
    if (entry.older) entry.older.newer = entry.newer;
    else this.oldest = entry.newer;
    if (entry.newer) entry.newer.older = entry.older;
    else this.newest = entry.older;
    entry.older = undefined;
    entry.newer = undefined;
  }
}
