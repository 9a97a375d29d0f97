// The bytes of recently retrieved small instances, kept for the next WADO-RS retrieve of them (a viewer opens a
// study again, a radiologist and a consultant read the same one). A study of many small instances is read back
// one file at a time: an open, a read and a close per instance cost the event loop about a third of such a
// retrieve even from the page cache, and Orthanc answers repeated retrieves from a cache of its own in memory.
// Bounded in bytes, least recently used out first; instances above `maxInstanceBytes` are never kept (a large
// one is one read of a big file, and it would push out hundreds of small ones). An instance is kept only when it
// is read the second time: copying every instance of a study on its first read (into memory of its own, which
// also grows V8's count of external memory and brings its collections forward) made that first read about twice
// as slow (bench:dicomweb), and a study read once (a viewer opening it, routing) has nothing to gain. The key
// names the stored file and its record (path, size, time received), so a copy that replaced an instance is never
// served from here.
export class InstanceCache {
  readonly maxBytes: number;
  readonly maxInstanceBytes: number;
  readonly #entries = new Map<string, Buffer>();
  #bytes = 0;
  /** Keys read once and not kept yet; forgotten all at once when it grows past `maxSeen`. */
  #seen = new Set<string>();
  readonly #maxSeen: number;

  constructor(maxBytes: number, maxInstanceBytes = 1024 * 1024, maxSeen = 100_000) {
    this.maxBytes = maxBytes;
    this.maxInstanceBytes = Math.min(maxInstanceBytes, maxBytes);
    this.#maxSeen = maxSeen;
  }

  /** Bytes held now. */
  get bytes(): number {
    return this.#bytes;
  }

  get(key: string): Buffer | undefined {
    const bytes = this.#entries.get(key);
    if (bytes === undefined) return undefined;
    // Most recently used last, so the oldest is the first in the map's order.
    this.#entries.delete(key);
    this.#entries.set(key, bytes);
    return bytes;
  }

  /**
   * Called on a miss before the file is read: true when `key` was read before and should now be kept (put()),
   * false the first time (the key is noted).
   */
  wants(key: string): boolean {
    if (this.#seen.delete(key)) return true;
    if (this.#seen.size >= this.#maxSeen) this.#seen = new Set();
    this.#seen.add(key);
    return false;
  }

  /** Keeps a copy of `bytes` (the caller's buffer is reused), evicting the least recently used beyond the bound. */
  put(key: string, bytes: Uint8Array): void {
    if (bytes.length === 0 || bytes.length > this.maxInstanceBytes) return;
    const previous = this.#entries.get(key);
    if (previous !== undefined) {
      this.#entries.delete(key);
      this.#bytes -= previous.length;
    }
    // Its own memory, not a slice of a pooled slab or of Node's shared pool.
    const copy = Buffer.allocUnsafeSlow(bytes.length);
    copy.set(bytes);
    this.#entries.set(key, copy);
    this.#bytes += copy.length;
    for (const [oldest, held] of this.#entries) {
      if (this.#bytes <= this.maxBytes) break;
      this.#entries.delete(oldest);
      this.#bytes -= held.length;
    }
  }
}

/** The cache key of a stored instance: its file and what its record says of it. */
export function instanceCacheKey(instance: { filePath: string; sizeBytes: number; receivedAt: string }): string {
  return `${instance.filePath}\n${instance.sizeBytes}\n${instance.receivedAt}`;
}
