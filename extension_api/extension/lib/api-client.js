/**
 * The Verity server's extension API (/api/v1/extension/...), as plain async functions over
 * fetch. Every failure becomes one of two errors, so callers decide with one `instanceof`:
 * ServerUnreachable (no HTTP answer at all) or ApiError (an HTTP answer that is not a success).
 */

import { parseRetryAfter } from "./backoff.js";

/**
 * @typedef {import("./check-results.js").CheckResult} CheckResult
 * @typedef {{ id: string, pollUrl: string, retryAfterMs: number, results: any[] }} PageCheck
 *   `results` are raw; read them with resultFromServer
 */

export class ServerUnreachable extends Error {
  name = "ServerUnreachable";
}

export class ApiError extends Error {
  name = "ApiError";

  /**
   * @param {number} status
   * @param {string} code the server's stable error code, or `http_<status>` when it gave none
   * @param {string} message
   * @param {number | null} retryAfterMs from the Retry-After header
   */
  constructor(status, code, message, retryAfterMs) {
    super(message);
    this.status = status;
    this.code = code;
    this.retryAfterMs = retryAfterMs;
  }

  get isRateLimit() {
    return this.status === 429;
  }

  get isServerError() {
    return this.status >= 500;
  }

  get isUnauthorized() {
    return this.status === 401;
  }
}

const API_PREFIX = "/api/v1/extension";
const REQUEST_TIMEOUT_MS = 30_000;

export class VerityApi {
  /**
   * @param {object} options
   * @param {string} options.serverUrl e.g. http://127.0.0.1:8000 (no trailing slash)
   * @param {string} [options.token] Bearer token; not needed to register
   * @param {typeof fetch} [options.fetch]
   */
  constructor({ serverUrl, token = "", fetch = globalThis.fetch.bind(globalThis) }) {
    this.serverUrl = serverUrl;
    this.token = token;
    this.fetch = fetch;
  }

  /**
   * Registers this browser; the token is shown once, so the caller stores it.
   * @param {{ extensionVersion: string, browser: string }} install
   * @returns {Promise<{ installId: string, token: string }>}
   */
  async register({ extensionVersion, browser }) {
    const body = { extension_version: extensionVersion, browser };
    const answer = await this.#request("POST", `${API_PREFIX}/installs`, { json: body });
    return { installId: answer.install_id, token: answer.token };
  }

  /**
   * Asks about up to 50 image URLs seen on one page.
   * @param {{ pageUrl: string | null, urls: string[] }} check
   * @returns {Promise<PageCheck>}
   */
  async createPageCheck({ pageUrl, urls }) {
    /** @type {Record<string, unknown>} */
    const body = { images: urls.map((url) => ({ url })) };
    if (pageUrl !== null) body.page_url = pageUrl; // omitted, not null, when the person said no
    return pageCheck(await this.#request("POST", `${API_PREFIX}/page-checks`, { json: body }));
  }

  /**
   * Long-polls a page check: the server answers when something changed or after `waitSeconds`.
   * @param {string} pollUrl as the server gave it (usually a path)
   * @param {{ waitSeconds: number }} options
   * @returns {Promise<PageCheck>}
   */
  async pollPageCheck(pollUrl, { waitSeconds }) {
    const url = new URL(pollUrl, this.serverUrl);
    url.searchParams.set("wait", String(waitSeconds));
    const answer = await this.#request("GET", url.href, { extraTimeoutMs: waitSeconds * 1000 });
    return pageCheck(answer);
  }

  /**
   * Sends the bytes of an image the server cannot fetch itself.
   * @param {{ image: Blob, src: string, pageUrl: string | null }} upload
   * @returns {Promise<PageCheck>}
   */
  async uploadImage({ image, src, pageUrl }) {
    const form = new FormData();
    form.append("image", image, fileNameFor(image));
    form.append("src", src);
    if (pageUrl !== null) form.append("page_url", pageUrl);
    return pageCheck(await this.#request("POST", `${API_PREFIX}/uploads`, { form }));
  }

  /**
   * @param {string} method
   * @param {string} pathOrUrl
   * @param {{ json?: unknown, form?: FormData, extraTimeoutMs?: number }} [body]
   */
  async #request(method, pathOrUrl, { json, form, extraTimeoutMs = 0 } = {}) {
    /** @type {Record<string, string>} */
    const headers = { Accept: "application/json" };
    if (this.token) headers.Authorization = `Bearer ${this.token}`;
    if (json !== undefined) headers["Content-Type"] = "application/json";
    let response;
    try {
      response = await this.fetch(new URL(pathOrUrl, this.serverUrl).href, {
        method,
        headers,
        body: form ?? (json === undefined ? undefined : JSON.stringify(json)),
        credentials: "omit", // the token authenticates; cookies for the server are not ours
        signal: AbortSignal.timeout(REQUEST_TIMEOUT_MS + extraTimeoutMs),
      });
    } catch (error) {
      throw new ServerUnreachable(`${method} ${pathOrUrl}: ${describe(error)}`);
    }
    const answer = await response.json().catch(() => null);
    if (!response.ok) throw apiErrorFrom(response, answer);
    return answer;
  }
}

/**
 * @param {Response} response
 * @param {any} answer the parsed body, or null
 */
function apiErrorFrom(response, answer) {
  const error = answer?.error ?? {};
  return new ApiError(
    response.status,
    typeof error.code === "string" ? error.code : `http_${response.status}`,
    typeof error.message === "string" ? error.message : response.statusText,
    parseRetryAfter(response.headers.get("Retry-After")),
  );
}

/**
 * @param {any} answer
 * @returns {PageCheck}
 */
function pageCheck(answer) {
  return {
    id: String(answer?.id ?? ""),
    pollUrl: String(answer?.poll_url ?? ""),
    retryAfterMs: Number.isFinite(answer?.retry_after_ms) ? answer.retry_after_ms : 1000,
    results: Array.isArray(answer?.results) ? answer.results : [],
  };
}

/** A file name whose extension matches the bytes; servers and logs like one. @param {Blob} blob */
function fileNameFor(blob) {
  const subtype = blob.type.startsWith("image/") ? blob.type.slice(6).split(/[+;]/)[0] : "";
  return `image.${subtype || "bin"}`;
}

/** @param {unknown} error */
function describe(error) {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}
