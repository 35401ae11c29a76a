/**
 * When the extension may call the server again after it failed or asked us to slow down.
 * The server's own Retry-After wins; otherwise exponential backoff with "equal jitter" (half
 * fixed, half random), so a fleet of browsers spreads out yet none retries at once.
 */

const ONE_HOUR_MS = 60 * 60 * 1000;

export class Backoff {
  #failures = 0;
  #notBefore = 0;

  /**
   * @param {object} [options]
   * @param {number} [options.baseMs] the wait after the first failure (before jitter)
   * @param {number} [options.maxMs] the longest wait backoff chooses by itself
   * @param {() => number} [options.now]
   * @param {() => number} [options.random] uniform in [0, 1)
   */
  constructor({ baseMs = 1000, maxMs = 5 * 60 * 1000, now = Date.now, random = Math.random } = {}) {
    this.baseMs = baseMs;
    this.maxMs = maxMs;
    this.now = now;
    this.random = random;
  }

  /** Milliseconds before the next call may go out; 0 when it may go now. */
  waitMs() {
    return Math.max(0, this.#notBefore - this.now());
  }

  get consecutiveFailures() {
    return this.#failures;
  }

  recordSuccess() {
    this.#failures = 0;
    this.#notBefore = 0;
  }

  /**
   * @param {{ retryAfterMs?: number | null }} [hint] what the server asked for, if anything
   * @returns {number} the wait chosen, in milliseconds
   */
  recordFailure({ retryAfterMs = null } = {}) {
    this.#failures += 1;
    const wait =
      retryAfterMs !== null
        ? Math.min(retryAfterMs, ONE_HOUR_MS) // a broken header must not silence us for days
        : this.#jitteredWait();
    this.#notBefore = this.now() + wait;
    return wait;
  }

  #jitteredWait() {
    const ceiling = Math.min(this.maxMs, this.baseMs * 2 ** (this.#failures - 1));
    return Math.round(ceiling / 2 + (this.random() * ceiling) / 2);
  }
}

/**
 * A Retry-After header in milliseconds: delay-seconds or an HTTP date (RFC 9110, 10.2.3).
 * @param {string | null} value
 * @param {number} [now]
 * @returns {number | null} null when absent or unreadable
 */
export function parseRetryAfter(value, now = Date.now()) {
  if (value === null || value.trim() === "") return null;
  if (/^\s*\d+\s*$/.test(value)) return Number(value) * 1000;
  const date = Date.parse(value);
  return Number.isNaN(date) ? null : Math.max(0, date - now);
}
