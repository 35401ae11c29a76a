/**
 * chrome.storage.local as the extension uses it, in memory: the one browser API the Node tests
 * stand in for (the browser tests use the real one). Values are copied through JSON both ways,
 * as Chrome's structured storage does, so no test can pass by sharing an object by reference.
 * With readDelayMs, a read answers later with what was stored when it began, as a busy browser's
 * storage does.
 */
export class MemoryStorageArea {
  /** @type {Map<string, string>} */
  #items = new Map();

  constructor({ readDelayMs = 0 } = {}) {
    this.readDelayMs = readDelayMs;
  }

  /** @param {string | string[] | null} keys */
  async get(keys) {
    const wanted = keys === null ? [...this.#items.keys()] : [keys].flat();
    const snapshot = Object.fromEntries(
      wanted
        .filter((key) => this.#items.has(key))
        .map((key) => [key, JSON.parse(this.#items.get(key))]),
    );
    if (this.readDelayMs > 0) await new Promise((resolve) => setTimeout(resolve, this.readDelayMs));
    return snapshot;
  }

  /** @param {Record<string, unknown>} items */
  async set(items) {
    for (const [key, value] of Object.entries(items)) this.#items.set(key, JSON.stringify(value));
  }

  /** @param {string | string[]} keys */
  async remove(keys) {
    for (const key of [keys].flat()) this.#items.delete(key);
  }

  get size() {
    return this.#items.size;
  }
}
