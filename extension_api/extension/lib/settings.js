/**
 * The person's choices (options page and popup), their defaults, and the site rules that decide
 * whether a page is scanned automatically. Stored as one object under `settings` in
 * chrome.storage.local; the install token lives apart from it (see credentials.js).
 */

export const SETTINGS_KEY = "settings";

/**
 * @typedef {object} Settings
 * @property {string} serverUrl Verity server, without a trailing slash
 * @property {string} teamToken an organisation's token; when set it replaces this browser's own
 * @property {boolean} autoScan check the images of every page unless a site rule says otherwise
 * @property {string[]} allowedSites hosts always scanned (a host also covers its subdomains)
 * @property {string[]} blockedSites hosts never scanned (the most specific rule wins; on a tie,
 *   blocking does)
 * @property {boolean} sendPageUrls tell the server on which page an image was seen
 * @property {boolean} uploadPrivateImages send the bytes of images the server cannot fetch
 * @property {"hidden" | "faint"} realImageBadge how images judged likely real are marked
 */

/** @type {Readonly<Settings>} */
export const DEFAULT_SETTINGS = Object.freeze({
  serverUrl: "http://127.0.0.1:8000",
  teamToken: "",
  autoScan: true,
  allowedSites: [],
  blockedSites: [],
  // Privacy first: page URLs are browsing history, so the person opts in.
  sendPageUrls: false,
  uploadPrivateImages: true,
  realImageBadge: "hidden",
});

/**
 * Stored settings laid over the defaults; unknown keys and values of the wrong type are dropped,
 * so an old or hand-edited store can never put the extension in a state the UI cannot show.
 * @param {unknown} stored
 * @returns {Settings}
 */
export function withDefaults(stored) {
  const merged = { ...DEFAULT_SETTINGS };
  if (typeof stored !== "object" || stored === null) return merged;
  for (const [key, fallback] of Object.entries(DEFAULT_SETTINGS)) {
    const value = /** @type {Record<string, unknown>} */ (stored)[key];
    if (Array.isArray(fallback) ? Array.isArray(value) : typeof value === typeof fallback) {
      /** @type {Record<string, unknown>} */ (merged)[key] = value;
    }
  }
  if (!["hidden", "faint"].includes(merged.realImageBadge)) merged.realImageBadge = "hidden";
  return merged;
}

/**
 * @param {{ get(key: string): Promise<Record<string, unknown>> }} storageArea chrome.storage.local
 * @returns {Promise<Settings>}
 */
export async function loadSettings(storageArea) {
  const stored = await storageArea.get(SETTINGS_KEY);
  return withDefaults(stored[SETTINGS_KEY]);
}

/**
 * A server URL as the extension stores it, or null when it is not an http(s) origin and path.
 * @param {string} input
 */
export function normalizeServerUrl(input) {
  let url;
  try {
    url = new URL(input.trim());
  } catch {
    return null;
  }
  if (!["http:", "https:"].includes(url.protocol) || url.username || url.password) return null;
  return `${url.origin}${url.pathname}`.replace(/\/+$/, "");
}

/**
 * The host a site rule names: "Example.com", "*.example.com" and "https://example.com/a" all
 * name example.com. Null when the text names no host.
 * @param {string} text
 */
export function siteRuleHost(text) {
  const trimmed = text.trim().toLowerCase().replace(/^\*\./, "");
  if (!trimmed) return null;
  try {
    return new URL(trimmed.includes("://") ? trimmed : `http://${trimmed}`).hostname || null;
  } catch {
    return null;
  }
}

/**
 * How closely the rules cover a host: the length of the longest matching rule's host, or -1 when
 * none matches. A rule for example.com covers example.com and every subdomain, as in most blockers.
 * @param {string[]} rules
 * @param {string} hostname
 */
export function closestRuleMatch(rules, hostname) {
  const host = hostname.toLowerCase();
  let longest = -1;
  for (const rule of rules) {
    const ruleHost = siteRuleHost(rule);
    if (ruleHost !== null && (host === ruleHost || host.endsWith(`.${ruleHost}`))) {
      longest = Math.max(longest, ruleHost.length);
    }
  }
  return longest;
}

/**
 * Whether the images of a page on this host are checked without being asked. The most specific
 * site rule decides, so "block example.com, allow news.example.com" reads as it is meant.
 * @param {Settings} settings
 * @param {string} hostname
 */
export function isAutoScanOn(settings, hostname) {
  const blocked = closestRuleMatch(settings.blockedSites, hostname);
  const allowed = closestRuleMatch(settings.allowedSites, hostname);
  if (blocked < 0 && allowed < 0) return settings.autoScan;
  return allowed > blocked;
}

/**
 * The settings after the popup's per-site switch was flipped: the site rules change so that
 * the options page shows exactly what the switch did.
 * @param {Settings} settings
 * @param {string} hostname
 * @param {boolean} on
 * @returns {Settings}
 */
export function withSiteSwitched(settings, hostname, on) {
  const host = hostname.toLowerCase();
  const notThisHost = (/** @type {string} */ rule) => siteRuleHost(rule) !== host;
  const allowedSites = settings.allowedSites.filter(notThisHost);
  const blockedSites = settings.blockedSites.filter(notThisHost);
  const next = { ...settings, allowedSites, blockedSites };
  if (isAutoScanOn(next, host) === on) return next;
  // The global switch or a rule for a parent domain still disagrees: a rule for this very host
  // is the most specific there can be, so it settles the matter.
  return on
    ? { ...next, allowedSites: [...allowedSites, host] }
    : { ...next, blockedSites: [...blockedSites, host] };
}
