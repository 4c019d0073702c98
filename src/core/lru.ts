/**
 * A bounded map with least-recently-used eviction, for the caches of compiled work (jit traces per
 * function, compiled programs per backend): memory stays flat however many shapes a program sees.
 */

/** A Map of at most `capacity` entries; reading or writing an entry makes it the most recent. */
export class LruCache<K, V> {
  readonly #map = new Map<K, V>();
  /** Entries evicted so far. */
  evictions = 0;

  constructor(
    readonly capacity: number,
    readonly onEvict?: (value: V, key: K) => void,
  ) {
    if (!(capacity >= 1)) throw new RangeError(`LruCache: capacity must be >= 1, got ${capacity}`);
  }

  get size(): number {
    return this.#map.size;
  }

  get(key: K): V | undefined {
    const v = this.#map.get(key);
    if (v !== undefined) {
      this.#map.delete(key);
      this.#map.set(key, v);
    }
    return v;
  }

  set(key: K, value: V): void {
    this.#map.delete(key);
    this.#map.set(key, value);
    while (this.#map.size > this.capacity) this.evictOldest();
  }

  /** Evicts the least recently used entry (none when empty). */
  evictOldest(): void {
    const first = this.#map.entries().next();
    if (first.done) return;
    const [k, v] = first.value;
    this.#map.delete(k);
    this.evictions++;
    this.onEvict?.(v, k);
  }

  values(): IterableIterator<V> {
    return this.#map.values();
  }

  clear(): void {
    this.#map.clear();
  }
}
