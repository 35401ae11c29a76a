/**
 * Verdicts remembered by image URL in chrome.storage.local, each for a limited time, so that
 * pages seen again (in any tab, after a browser restart) are answered without a request.
 * Settled answers only: a `done` verdict lives for hours, a `failed` one for minutes (so a broken
 * image is not asked about on every page view, yet a fixed one is seen again soon).
 * What this worker wrote is also held in memory: a read that began before a write landed in
 * storage still sees it, so a tab asking while another tab's answer is being stored does not
 * ask the server a second time.
 */

const KEY_PREFIX = "verdict:";

/**
 * @typedef {import("./check-results.js").CheckResult} CheckResult
 * @typedef {{ result: CheckResult, storedAt: number, expiresAt: number }} CacheEntry
 * @typedef {{
 *   get(keys: string[] | null): Promise<Record<string, any>>,
 *   set(items: Record<string, any>): Promise<void>,
 *   remove(keys: string[]): Promise<void>,
 * }} StorageArea the subset of chrome.storage.StorageArea the cache uses
 */

export const DEFAULT_CACHE_POLICY = Object.freeze({
  doneTtlMs: 12 * 60 * 60 * 1000,
  failedTtlMs: 10 * 60 * 1000,
  maxEntries: 5000,
});

export class VerdictCache {
  /** @type {Map<string, CacheEntry>} by URL, oldest write first; at most policy.maxEntries */
  #written = new Map();

  /**
   * @param {StorageArea} storageArea
   * @param {Partial<typeof DEFAULT_CACHE_POLICY> & { now?: () => number }} [options]
   */
  constructor(storageArea, { now = Date.now, ...policy } = {}) {
    this.storageArea = storageArea;
    this.now = now;
    this.policy = { ...DEFAULT_CACHE_POLICY, ...policy };
  }

  /**
   * The unexpired answers among these URLs.
   * @param {string[]} urls
   * @returns {Promise<Map<string, CheckResult>>}
   */
  async get(urls) {
    if (urls.length === 0) return new Map();
    const stored = await this.storageArea.get(urls.map((url) => KEY_PREFIX + url));
    const found = new Map();
    for (const url of urls) {
      // Checked after the read: a write made while it was under way is newer than what it read.
      const entry = this.#written.get(url) ?? stored[KEY_PREFIX + url];
      if (entry && entry.expiresAt > this.now()) found.set(url, entry.result);
    }
    return found;
  }

  /**
   * Remembers the settled results among these; pending and unavailable ones are not answers.
   * @param {CheckResult[]} results
   */
  async put(results) {
    const storedAt = this.now();
    /** @type {Record<string, CacheEntry>} */
    const items = {};
    for (const result of results) {
      const ttl = this.#ttlFor(result);
      if (ttl <= 0) continue;
      const entry = { result, storedAt, expiresAt: storedAt + ttl };
      items[KEY_PREFIX + result.url] = entry;
      this.#remember(result.url, entry);
    }
    if (Object.keys(items).length > 0) await this.storageArea.set(items);
  }

  /**
   * Drops expired entries, then the oldest ones beyond maxEntries.
   * @returns {Promise<number>} how many entries were removed
   */
  async prune() {
    const entries = await this.#allEntries();
    const now = this.now();
    const expired = entries.filter(([, entry]) => entry.expiresAt <= now);
    const live = entries
      .filter(([, entry]) => entry.expiresAt > now)
      .sort(([, a], [, b]) => b.storedAt - a.storedAt);
    const doomed = [...expired, ...live.slice(this.policy.maxEntries)].map(([key]) => key);
    for (const key of doomed) this.#written.delete(key.slice(KEY_PREFIX.length));
    if (doomed.length > 0) await this.storageArea.remove(doomed);
    return doomed.length;
  }

  /** Forgets every verdict (the options page's "Clear cached verdicts"). */
  async clear() {
    this.#written.clear();
    const keys = (await this.#allEntries()).map(([key]) => key);
    if (keys.length > 0) await this.storageArea.remove(keys);
  }

  /** @returns {Promise<Array<[string, CacheEntry]>>} */
  async #allEntries() {
    const everything = await this.storageArea.get(null);
    return Object.entries(everything).filter(([key]) => key.startsWith(KEY_PREFIX));
  }

  /**
   * @param {string} url
   * @param {CacheEntry} entry
   */
  #remember(url, entry) {
    this.#written.delete(url); // re-inserted last: the Map's order is the order of writes
    this.#written.set(url, entry);
    if (this.#written.size > this.policy.maxEntries) {
      const [oldest] = this.#written.keys();
      this.#written.delete(oldest);
    }
  }

  /** @param {CheckResult} result */
  #ttlFor(result) {
    if (result.status === "done") return this.policy.doneTtlMs;
    if (result.status === "failed") return this.policy.failedTtlMs;
    return 0;
  }
}
