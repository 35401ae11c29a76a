/**
 * The image URLs waiting for an answer, and who is waiting for each. One URL is asked about
 * once, however many tabs and frames show it; every one of them gets the answer.
 * No I/O here: the Checker decides when to send, this only keeps the books.
 */

/**
 * @typedef {{ tabId: number, frameId: number }} Subscriber
 * @typedef {"page-check" | "upload"} Route how the server learns about the image: by URL or bytes
 * @typedef {{ kind: Route, pageUrl: string | null, urls: string[] }} Job one request's worth
 * @typedef {object} Entry
 * @property {string} url
 * @property {string | null} pageUrl the page it was first seen on, if page URLs are shared
 * @property {Route} route
 * @property {boolean} uploadAllowed whether its bytes may be sent if the server cannot fetch it
 * @property {Job | null} job the request it is part of; null while queued
 * @property {Map<string, Subscriber>} subscribers
 */

/** @param {Subscriber} subscriber */
const keyOf = ({ tabId, frameId }) => `${tabId}:${frameId}`;

export class PendingChecks {
  /** @type {Map<string, Entry>} in the order URLs were first asked for */
  #entries = new Map();

  /**
   * @param {string} url
   * @param {{ subscriber: Subscriber, pageUrl: string | null, route: Route, uploadAllowed: boolean }} request
   * @returns {boolean} true when the URL was not waiting yet
   */
  add(url, { subscriber, pageUrl, route, uploadAllowed }) {
    const known = this.#entries.get(url);
    if (known) {
      known.subscribers.set(keyOf(subscriber), subscriber);
      return false;
    }
    const subscribers = new Map([[keyOf(subscriber), subscriber]]);
    this.#entries.set(url, { url, pageUrl, route, uploadAllowed, job: null, subscribers });
    return true;
  }

  /** @param {string} url */
  get(url) {
    return this.#entries.get(url);
  }

  get queuedCount() {
    return this.#queued().length;
  }

  /**
   * The next request to send: the oldest queued URL, with the URLs queued for the same route and
   * page beside it (a page check names one page), up to maxSize. Its entries become the job's.
   * @param {number} maxSize
   * @returns {Job | null}
   */
  nextJob(maxSize) {
    const [first] = this.#queued();
    if (!first) return null;
    const size = first.route === "upload" ? 1 : maxSize; // an upload carries one image
    const members = this.#queued()
      .filter((entry) => entry.route === first.route && entry.pageUrl === first.pageUrl)
      .slice(0, size);
    /** @type {Job} */
    const job = { kind: first.route, pageUrl: first.pageUrl, urls: members.map((e) => e.url) };
    for (const entry of members) entry.job = job;
    return job;
  }

  /**
   * The URLs of this job still waiting for an answer.
   * @param {Job} job
   */
  unsettledOf(job) {
    return job.urls.filter((url) => this.#entries.get(url)?.job === job);
  }

  /** @returns {string[]} the URLs not yet part of any request */
  queuedUrls() {
    return this.#queued().map((entry) => entry.url);
  }

  /**
   * Puts URLs back in the queue, to go again later (and by another route, if given).
   * @param {string[]} urls
   * @param {Route} [route]
   */
  requeue(urls, route) {
    for (const url of urls) {
      const entry = this.#entries.get(url);
      if (!entry) continue;
      entry.job = null;
      if (route) entry.route = route;
    }
  }

  /**
   * Forgets a URL that has its answer.
   * @param {string} url
   * @returns {Subscriber[]} who was waiting for it
   */
  settle(url) {
    const entry = this.#entries.get(url);
    this.#entries.delete(url);
    return entry ? [...entry.subscribers.values()] : [];
  }

  /**
   * A tab was closed or navigated away: nobody there waits any more. URLs nobody waits for are
   * dropped if still queued (a request in flight finishes and fills the cache).
   * @param {number} tabId
   */
  forgetTab(tabId) {
    for (const entry of this.#entries.values()) {
      for (const [key, subscriber] of entry.subscribers) {
        if (subscriber.tabId === tabId) entry.subscribers.delete(key);
      }
      if (entry.subscribers.size === 0 && entry.job === null) this.#entries.delete(entry.url);
    }
  }

  #queued() {
    return [...this.#entries.values()].filter((entry) => entry.job === null);
  }
}
