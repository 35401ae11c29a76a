/**
 * The service worker's one way to get verdicts: cached answers at once, everything else batched
 * (up to 50 URLs per request, one request per URL however many tabs show it), polled until
 * settled, and delivered to every tab that asked. When the server is down or asks us to slow
 * down the Checker backs off, and pages get a quiet `unavailable` instead of a stream of errors.
 */

import { ApiError, ServerUnreachable } from "./api-client.js";
import { Backoff } from "./backoff.js";
import {
  failedResult,
  pendingResult,
  resultFromServer,
  serverCouldNotFetch,
  unavailableResult,
} from "./check-results.js";
import { mustUploadBytes } from "./image-urls.js";
import { PendingChecks } from "./pending-checks.js";

/**
 * @typedef {import("./check-results.js").CheckResult} CheckResult
 * @typedef {import("./pending-checks.js").Subscriber} Subscriber
 * @typedef {import("./pending-checks.js").Job} Job
 * @typedef {import("./api-client.js").VerityApi} VerityApi
 * @typedef {import("./api-client.js").PageCheck} PageCheck
 * @typedef {"idle" | "ok" | "offline" | "rate_limited" | "token_invalid"} ServerState
 */

export const DEFAULT_LIMITS = Object.freeze({
  maxBatchSize: 50, // the server's limit per page check
  flushDelayMs: 150, // long enough to gather a page's images into one request
  maxConcurrentJobs: 3, // leaves the browser's 6 connections per host room for the rest
  pollWaitSeconds: 10, // well inside the ~30 s an idle MV3 service worker is given
  pollDeadlineMs: 3 * 60 * 1000,
});

/** Why an image could not be asked about, for the person who asked (the context menu). */
const UNAVAILABLE_BECAUSE = Object.freeze({
  server_unreachable: "The Verity server could not be reached. Verity will try again later.",
  token_invalid: "The Verity server refused this browser's token. Check the token in Options.",
  timed_out: "The Verity server took too long to answer. Verity will ask again later.",
  extension_error: "Something went wrong inside the extension. Verity will try again later.",
});

/** Raised when the image bytes could not be read for an upload. */
export class BytesUnavailable extends Error {
  name = "BytesUnavailable";
}

export class Checker {
  #pending = new PendingChecks();
  #runningJobs = 0;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #pumpTimer = null;
  /** @type {{ state: ServerState, message: string }} */
  #server = { state: "idle", message: "" };

  /**
   * @param {object} options
   * @param {import("./verdict-cache.js").VerdictCache} options.cache
   * @param {() => Promise<VerityApi>} options.connect an API client with a valid token
   * @param {(token: string) => Promise<boolean>} options.rejectToken the server refused it;
   *   resolves true when connecting again may bring a fresh one
   * @param {(subscriber: Subscriber, results: CheckResult[]) => void} options.deliver
   * @param {(url: string, subscribers: Subscriber[]) => Promise<Blob>} options.readBytes
   * @param {Backoff} [options.backoff]
   * @param {Partial<typeof DEFAULT_LIMITS>} [options.limits]
   * @param {(ms: number) => Promise<void>} [options.sleep]
   * @param {() => number} [options.now]
   */
  constructor({ cache, connect, rejectToken, deliver, readBytes, backoff, limits, sleep, now }) {
    this.cache = cache;
    this.connect = connect;
    this.rejectToken = rejectToken;
    this.deliver = deliver;
    this.readBytes = readBytes;
    this.backoff = backoff ?? new Backoff();
    this.limits = { ...DEFAULT_LIMITS, ...limits };
    this.sleep = sleep ?? ((ms) => new Promise((resolve) => setTimeout(resolve, ms)));
    this.now = now ?? Date.now;
  }

  /**
   * Answers what is known now (cached, or `unavailable` while the server is down) and marks the
   * rest `pending`; their answers reach the subscriber later through `deliver`.
   * @param {object} request
   * @param {string[]} request.urls absolute image URLs (see image-urls.js)
   * @param {Subscriber} request.subscriber
   * @param {string | null} request.pageUrl null when the person keeps page URLs to themselves
   * @param {boolean} request.uploadAllowed
   * @returns {Promise<CheckResult[]>}
   */
  async request({ urls, subscriber, pageUrl, uploadAllowed }) {
    const unique = [...new Set(urls)];
    const cached = await this.cache.get(unique);
    const closedForMs = this.#closedForMs();
    const results = unique.map((url) => {
      const known = cached.get(url);
      if (known) return known;
      if (closedForMs > 0) return this.#unavailable(url, closedForMs);
      const route = mustUploadBytes(url) ? "upload" : "page-check";
      if (route === "upload" && !uploadAllowed) return uploadsOff(url);
      this.#pending.add(url, { subscriber, pageUrl, route, uploadAllowed });
      return pendingResult(url);
    });
    const queued = this.#pending.queuedCount;
    if (queued > 0)
      this.#schedulePump(queued >= this.limits.maxBatchSize ? 0 : this.limits.flushDelayMs);
    return results;
  }

  /** How the server was at the last contact, for the popup and options page. */
  serverStatus() {
    return { ...this.#server, retryInMs: this.backoff.waitMs() };
  }

  /** @param {number} tabId */
  forgetTab(tabId) {
    this.#pending.forgetTab(tabId);
  }

  /** While the server is down or refuses our token, new requests are answered at once. */
  #closedForMs() {
    const closed = this.#server.state === "offline" || this.#server.state === "token_invalid";
    return closed ? this.backoff.waitMs() : 0;
  }

  /** @param {number} delayMs */
  #schedulePump(delayMs) {
    if (this.#pumpTimer !== null) return; // a pump is coming; it takes whatever is queued then
    this.#pumpTimer = setTimeout(() => {
      this.#pumpTimer = null;
      this.#pump();
    }, delayMs);
  }

  #pump() {
    if (this.#pending.queuedCount === 0) return;
    const waitMs = this.backoff.waitMs();
    if (waitMs > 0) {
      this.#schedulePump(waitMs);
      return;
    }
    while (this.#runningJobs < this.limits.maxConcurrentJobs) {
      const job = this.#pending.nextJob(this.limits.maxBatchSize);
      if (!job) return;
      this.#runningJobs += 1;
      this.#run(job).finally(() => {
        this.#runningJobs -= 1;
        if (this.#pending.queuedCount > 0) this.#schedulePump(0);
      });
    }
  }

  /** @param {Job} job */
  async #run(job) {
    try {
      await this.#attempt(job, { mayRegisterAgain: true });
    } catch (error) {
      await this.#fail(job, error);
    }
  }

  /**
   * @param {Job} job
   * @param {{ mayRegisterAgain: boolean }} retry
   * @returns {Promise<void>}
   */
  async #attempt(job, { mayRegisterAgain }) {
    const api = await this.connect();
    try {
      const check =
        job.kind === "upload"
          ? await this.#upload(api, job)
          : await api.createPageCheck({ pageUrl: job.pageUrl, urls: job.urls });
      this.#reachable();
      await this.#follow(api, check, job);
    } catch (error) {
      const refused = error instanceof ApiError && error.isUnauthorized;
      if (refused && mayRegisterAgain && (await this.rejectToken(api.token))) {
        return this.#attempt(job, { mayRegisterAgain: false });
      }
      throw error;
    }
  }

  /**
   * @param {VerityApi} api
   * @param {Job} job
   */
  async #upload(api, job) {
    const [url] = job.urls;
    const subscribers = [...(this.#pending.get(url)?.subscribers.values() ?? [])];
    let image;
    try {
      image = await this.readBytes(url, subscribers);
    } catch (error) {
      throw new BytesUnavailable(error instanceof Error ? error.message : String(error));
    }
    return api.uploadImage({ image, src: url, pageUrl: job.pageUrl });
  }

  /**
   * Settles what the check answered, then long-polls until every URL of the job is answered.
   * @param {VerityApi} api
   * @param {PageCheck} check
   * @param {Job} job
   */
  async #follow(api, check, job) {
    const deadline = this.now() + this.limits.pollDeadlineMs;
    let current = check;
    await this.#settleFromServer(current, job);
    while (this.#pending.unsettledOf(job).length > 0) {
      if (!current.pollUrl || this.now() >= deadline) {
        const stillWaiting = this.#pending.unsettledOf(job);
        await this.#settle(stillWaiting.map((url) => this.#unavailable(url, 60_000, "timed_out")));
        return;
      }
      await this.sleep(current.retryAfterMs);
      current = await api.pollPageCheck(current.pollUrl, {
        waitSeconds: this.limits.pollWaitSeconds,
      });
      this.#reachable();
      await this.#settleFromServer(current, job);
    }
  }

  /**
   * @param {PageCheck} check
   * @param {Job} job
   */
  async #settleFromServer(check, job) {
    const mine = new Set(this.#pending.unsettledOf(job));
    /** @type {CheckResult[]} */
    const answered = [];
    for (const raw of check.results) {
      const result = resultFromServer(raw);
      if (!result || !mine.has(result.url) || result.status === "pending") continue;
      const entry = this.#pending.get(result.url);
      if (job.kind === "page-check" && entry?.uploadAllowed && serverCouldNotFetch(result)) {
        this.#pending.requeue([result.url], "upload"); // we can see it; the server cannot
        this.#schedulePump(0);
      } else {
        answered.push(result);
      }
    }
    await this.#settle(answered);
  }

  /**
   * @param {Job} job
   * @param {unknown} error
   */
  async #fail(job, error) {
    const urls = this.#pending.unsettledOf(job);
    if (error instanceof ApiError && error.isRateLimit) {
      const waitMs = this.backoff.recordFailure({ retryAfterMs: error.retryAfterMs });
      this.#server = { state: "rate_limited", message: error.message };
      this.#pending.requeue(urls); // the server is alive, only busy: these go when it lets us
      this.#schedulePump(waitMs);
    } else if (
      error instanceof ServerUnreachable ||
      (error instanceof ApiError && error.isServerError)
    ) {
      this.#goQuiet("offline", error, error instanceof ApiError ? error.retryAfterMs : null);
      const everythingWaiting = [...urls, ...this.#pending.queuedUrls()];
      await this.#settle(everythingWaiting.map((url) => this.#unavailable(url)));
    } else if (error instanceof ApiError && error.isUnauthorized) {
      this.#goQuiet("token_invalid", error, null);
      await this.#settle(urls.map((url) => this.#unavailable(url, undefined, "token_invalid")));
    } else if (error instanceof ApiError || error instanceof BytesUnavailable) {
      const code = error instanceof ApiError ? error.code : "bytes_unavailable";
      await this.#settle(urls.map((url) => failedResult(url, { code, message: error.message })));
    } else {
      console.error("Verity: unexpected error while checking images", error); // a bug of ours
      await this.#settle(urls.map((url) => this.#unavailable(url, 60_000, "extension_error")));
    }
  }

  /**
   * @param {ServerState} state
   * @param {Error} error
   * @param {number | null} retryAfterMs
   */
  #goQuiet(state, error, retryAfterMs) {
    this.backoff.recordFailure({ retryAfterMs });
    this.#server = { state, message: error.message };
  }

  #reachable() {
    this.backoff.recordSuccess();
    this.#server = { state: "ok", message: "" };
  }

  /**
   * @param {string} url
   * @param {number} [retryInMs]
   * @param {keyof typeof UNAVAILABLE_BECAUSE} [code]
   */
  #unavailable(url, retryInMs = this.backoff.waitMs(), code = "server_unreachable") {
    const message = UNAVAILABLE_BECAUSE[code] ?? UNAVAILABLE_BECAUSE.server_unreachable;
    return unavailableResult(url, { code, message, retryInMs });
  }

  /**
   * Caches the answers, forgets the URLs, and tells every subscriber what it waited for, in one
   * message per tab and frame.
   * @param {CheckResult[]} results
   */
  async #settle(results) {
    if (results.length === 0) return;
    /** @type {Map<string, { subscriber: Subscriber, results: CheckResult[] }>} */
    const bySubscriber = new Map();
    for (const result of results) {
      for (const subscriber of this.#pending.settle(result.url)) {
        const key = `${subscriber.tabId}:${subscriber.frameId}`;
        const parcel = bySubscriber.get(key) ?? { subscriber, results: [] };
        parcel.results.push(result);
        bySubscriber.set(key, parcel);
      }
    }
    for (const { subscriber, results: theirs } of bySubscriber.values()) {
      this.deliver(subscriber, theirs);
    }
    await this.cache.put(results);
  }
}

/** @param {string} url */
function uploadsOff(url) {
  const message = "The server cannot fetch this image, and uploading images is turned off.";
  return failedResult(url, { code: "upload_disabled", message });
}
