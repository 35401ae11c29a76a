/**
 * The answer about one image URL as the extension passes it around: the server's result shape
 * (see the API contract in README.md) plus `unavailable`, the quiet state for "could not ask".
 */

/**
 * @typedef {"likely_ai" | "inconclusive" | "likely_real"} Band
 * @typedef {object} Verdict
 * @property {number} probability_ai calibrated, in [0, 1]
 * @property {Band} band
 * @property {string} model_version
 * @property {Record<string, number | null>} model_scores per model; null when it did not run
 * @property {boolean} face_found
 * @property {string | null} abstain_reason
 * @property {string} created_at
 * @property {string} image_sha256
 * @property {string} history_url
 * @typedef {{ code: string, message: string }} ResultError
 * @typedef {"done" | "pending" | "failed" | "unavailable"} ResultStatus
 * @typedef {object} CheckResult
 * @property {string} url
 * @property {ResultStatus} status
 * @property {Verdict | null} verdict
 * @property {ResultError | null} error
 * @property {number} [retryInMs] for `unavailable`: when asking again may help
 */

const SERVER_STATUSES = new Set(["done", "pending", "failed"]);

/** @param {string} url @returns {CheckResult} */
export function pendingResult(url) {
  return { url, status: "pending", verdict: null, error: null };
}

/**
 * @param {string} url
 * @param {ResultError} error
 * @returns {CheckResult}
 */
export function failedResult(url, error) {
  return { url, status: "failed", verdict: null, error };
}

/**
 * @param {string} url
 * @param {ResultError & { retryInMs: number }} why
 * @returns {CheckResult}
 */
export function unavailableResult(url, { code, message, retryInMs }) {
  return { url, status: "unavailable", verdict: null, error: { code, message }, retryInMs };
}

/**
 * A result from the server's JSON, or null when it is not one (so one malformed item cannot
 * break the others).
 * @param {any} raw
 * @returns {CheckResult | null}
 */
export function resultFromServer(raw) {
  if (typeof raw?.url !== "string" || !SERVER_STATUSES.has(raw.status)) return null;
  if (raw.status === "done" && typeof raw.verdict?.band !== "string") return null;
  const error =
    raw.error && typeof raw.error.code === "string"
      ? { code: raw.error.code, message: String(raw.error.message ?? "") }
      : null;
  return { url: raw.url, status: raw.status, verdict: raw.verdict ?? null, error };
}

/**
 * The server's fetch failures (its safefetch error codes) that the browser may well get past:
 * it holds the person's cookies, sits on their network and resolves their intranet's names.
 * Not among them: a URL that is malformed or an image that is too large for anyone.
 */
const FAILURES_THE_BROWSER_MAY_GET_PAST = new Set([
  "address_blocked", // a private address, refused by the server's SSRF guard
  "host_unresolvable",
  "port_not_allowed",
  "http_status", // 401/403 behind a login, or a 404 the server alone sees
  "connection_failed",
  "timeout",
  "tls_error",
  "too_many_redirects", // typically a login redirect loop
  "redirect_invalid",
]);

/**
 * True for a failure that only means "the server could not get the bytes": the extension can
 * still read them itself and upload them.
 * @param {CheckResult} result
 */
export function serverCouldNotFetch(result) {
  return (
    result.status === "failed" && FAILURES_THE_BROWSER_MAY_GET_PAST.has(result.error?.code ?? "")
  );
}
