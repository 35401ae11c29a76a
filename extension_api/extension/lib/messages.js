/**
 * The messages between the extension's parts. The service worker alone talks to the server;
 * content scripts alone touch pages; the popup and options page ask both.
 */
export const MESSAGE = Object.freeze({
  /** content -> worker: { urls } -> { results: CheckResult[] } (what is known now) */
  CHECK_IMAGES: "verity:check-images",
  /** worker -> content: { results } (answers that came later) */
  RESULTS: "verity:results",
  /** worker -> content: { url } the person asked, through the context menu */
  CONTEXT_CHECK: "verity:context-check",
  /** worker -> content: { url } -> { dataUrl } | { error } (bytes only the page can read) */
  READ_BYTES: "verity:read-bytes",
  /** content -> worker: { summary } (for the toolbar badge) */
  PAGE_SUMMARY: "verity:page-summary",
  /** popup -> content: -> PageSummary */
  GET_PAGE_SUMMARY: "verity:get-page-summary",
  /** popup, options -> worker: -> { server, install } */
  GET_STATUS: "verity:get-status",
  /** options -> worker: -> { cleared: true } */
  CLEAR_CACHE: "verity:clear-cache",
});

/**
 * @typedef {object} PageSummary what the popup shows about the page in a tab
 * @property {boolean} scanning whether images are checked automatically on this page
 * @property {number} checked images with a verdict
 * @property {number} flagged of which likely AI-generated
 * @property {number} inconclusive
 * @property {number} waiting images asked about, not yet answered
 * @property {number} unavailable images the server could not be asked about
 */
