/**
 * A minimal batching loader: keys asked for in the same tick are fetched with one call. GraphQL
 * resolves the fields of a list's items concurrently, so a page of 300 folders asking for
 * `hasProducts` costs one query instead of 300.
 */
export class Loader<K, V> {
  private queue: Array<{ key: K; resolve: (v: V) => void; reject: (e: unknown) => void }> = [];
  private cache = new Map<string, Promise<V>>();
  constructor(
    private readonly batch: (keys: K[]) => Promise<Map<string, V> | V[]>,
    private readonly keyOf: (k: K) => string = (k) => String(k),
    private readonly missing?: V,
  ) {}

  load(key: K): Promise<V> {
    const ck = this.keyOf(key);
    const hit = this.cache.get(ck);
    if (hit) return hit;
    const p = new Promise<V>((resolve, reject) => {
      this.queue.push({ key, resolve, reject });
      if (this.queue.length === 1) process.nextTick(() => void this.dispatch());
    });
    this.cache.set(ck, p);
    return p;
  }

  private async dispatch() {
    const items = this.queue;
    this.queue = [];
    try {
      const res = await this.batch(items.map((i) => i.key));
      items.forEach((item, idx) => {
        const v = res instanceof Map ? res.get(this.keyOf(item.key)) : res[idx];
        item.resolve((v === undefined ? this.missing : v) as V);
      });
    } catch (err) {
      for (const i of items) i.reject(err);
    }
  }
}
