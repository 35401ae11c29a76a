/**
 * Verity on one page: finds the pictures a person sees (PageScanner), asks the service worker
 * about them, and shows the answers (BadgeLayer). Each picture carries its state in a
 * `data-verity-state` attribute (waiting, skipped, pending, likely_ai, inconclusive,
 * likely_real, failed, unavailable), with `data-verity-skip` saying why a picture was skipped:
 * a debugging aid for people and the hook the browser tests read.
 */

import { failedResult, pendingResult } from "../lib/check-results.js";
import { shownImageSource } from "../lib/extraction.js";
import { blobToDataUrl, fetchImageBytes } from "../lib/image-bytes.js";
import { normalizeImageUrl } from "../lib/image-urls.js";
import { MESSAGE } from "../lib/messages.js";
import { isAutoScanOn, loadSettings, SETTINGS_KEY, withDefaults } from "../lib/settings.js";
import { BadgeLayer } from "./badge-layer.js";
import { PageScanner } from "./page-scanner.js";

/**
 * @typedef {import("../lib/check-results.js").CheckResult} CheckResult
 * @typedef {import("../lib/settings.js").Settings} Settings
 * @typedef {import("../lib/messages.js").PageSummary} PageSummary
 */

const STATE_ATTRIBUTE = "data-verity-state";
const SKIP_ATTRIBUTE = "data-verity-skip";
/** Pictures found within this long of each other go to the worker in one message. */
const SEND_DELAY_MS = 50;
/** A URL is asked about at most this often per page view (pending answers lost, server down). */
const MAX_ASKS = 3;
const MIN_RETRY_MS = 5000;
/** No answer by then: the worker was probably suspended mid-poll; ask again. */
const STALE_PENDING_MS = 90_000;
const SUMMARY_DELAY_MS = 300;

/** @param {Window} window */
export async function startVerity(window) {
  const page = new VerityPage(window, await loadSettings(chrome.storage.local));
  page.listen();
  page.applySettings();
}

class VerityPage {
  /** @type {Map<Element, string>} the URL each tracked picture shows */
  #urlOf = new Map();
  /** @type {Map<string, CheckResult>} */
  #results = new Map();
  /**
   * Each URL asked about: how often, whether an answer is awaited, and the follow-up planned.
   * @type {Map<string, { asks: number, awaiting: boolean, timer: ReturnType<typeof setTimeout> | null }>}
   */
  #asking = new Map();
  /** @type {Set<string>} */
  #toSend = new Set();
  /** @type {ReturnType<typeof setTimeout> | null} */
  #sendTimer = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #summaryTimer = null;
  /** @type {WeakSet<Element>} pictures the person asked about: they always show an answer */
  #explicit = new WeakSet();
  /** @type {WeakSet<Element>} explicit pictures whose card opens when the answer comes */
  #openWhenAnswered = new WeakSet();
  /** @type {EventTarget | null} */
  #lastContextMenuTarget = null;
  #scanning = false;

  /**
   * @param {Window} window
   * @param {Settings} settings
   */
  constructor(window, settings) {
    this.window = window;
    this.settings = settings;
    this.badges = new BadgeLayer(window);
    this.scanner = new PageScanner(window, {
      onWaiting: (element) => this.#setState(element, "waiting"),
      onSkipped: (element, reason) => this.#skipped(element, reason),
      onReady: ({ element, url }) => this.#track(element, url),
    });
  }

  listen() {
    chrome.runtime.onMessage.addListener((message, _sender, sendResponse) => {
      switch (message?.type) {
        case MESSAGE.RESULTS:
          this.#apply(message.results ?? []);
          return false;
        case MESSAGE.CONTEXT_CHECK:
          this.#checkOnRequest(String(message.url));
          sendResponse(true);
          return false;
        case MESSAGE.READ_BYTES:
          readBytesForUpload(String(message.url)).then(sendResponse);
          return true; // answered asynchronously
        case MESSAGE.GET_PAGE_SUMMARY:
          sendResponse(this.#summary());
          return false;
        default:
          return false;
      }
    });
    chrome.storage.onChanged.addListener((changes, area) => {
      if (area !== "local" || !changes[SETTINGS_KEY]) return;
      this.settings = withDefaults(changes[SETTINGS_KEY].newValue);
      this.applySettings();
    });
    this.window.document.addEventListener(
      "contextmenu",
      (event) => {
        this.#lastContextMenuTarget = event.target;
      },
      { capture: true, passive: true },
    );
  }

  /** Starts or stops scanning for this site, and redraws badges in the chosen style. */
  applySettings() {
    const on = isAutoScanOn(this.settings, this.window.location.hostname);
    if (on && !this.#scanning) this.scanner.start();
    if (!on && this.#scanning) this.#stopScanning();
    this.#scanning = on;
    for (const [element, url] of this.#urlOf) {
      const result = this.#results.get(url);
      if (result) this.#render(element, result);
    }
    this.#reportSummarySoon();
  }

  #stopScanning() {
    this.scanner.stop();
    for (const element of this.window.document.querySelectorAll(`[${STATE_ATTRIBUTE}]`)) {
      if (this.#explicit.has(element)) continue;
      element.removeAttribute(STATE_ATTRIBUTE);
      element.removeAttribute(SKIP_ATTRIBUTE);
      this.#urlOf.delete(element);
      this.badges.remove(element);
    }
  }

  /**
   * @param {Element} element
   * @param {string} url
   */
  #track(element, url) {
    this.#urlOf.set(element, url);
    const known = this.#results.get(url);
    if (known && known.status !== "unavailable") {
      this.#render(element, known);
      return;
    }
    this.#render(element, pendingResult(url)); // and a badge for what it showed before goes
    this.#ask(url);
  }

  /**
   * @param {Element} element
   * @param {string} reason
   */
  #skipped(element, reason) {
    if (this.#explicit.has(element)) return; // the person asked: their answer stays
    this.#urlOf.delete(element);
    this.badges.remove(element);
    this.#setState(element, "skipped");
    element.setAttribute(SKIP_ATTRIBUTE, reason);
    this.#reportSummarySoon();
  }

  /**
   * @param {string} url
   * @param {{ again?: boolean }} [options] again: the person asked; start counting afresh
   */
  #ask(url, { again = false } = {}) {
    const asking = this.#asking.get(url) ?? { asks: 0, awaiting: false, timer: null };
    if (again) {
      if (asking.timer !== null) clearTimeout(asking.timer);
      Object.assign(asking, { asks: 0, awaiting: false, timer: null });
    }
    if (asking.awaiting || asking.asks >= MAX_ASKS) return;
    asking.asks += 1;
    asking.awaiting = true;
    this.#asking.set(url, asking);
    this.#toSend.add(url);
    this.#sendTimer ??= setTimeout(() => this.#send(), SEND_DELAY_MS);
  }

  async #send() {
    this.#sendTimer = null;
    const urls = [...this.#toSend];
    this.#toSend.clear();
    try {
      const answer = await chrome.runtime.sendMessage({ type: MESSAGE.CHECK_IMAGES, urls });
      this.#apply(answer?.results ?? []);
    } catch {
      // The extension was updated or removed while the page stayed open: stop quietly.
      this.scanner.stop();
    }
  }

  /** @param {CheckResult[]} results */
  #apply(results) {
    for (const result of results) {
      this.#results.set(result.url, result);
      this.#scheduleFollowUp(result);
      for (const element of this.#elementsShowing(result.url)) {
        this.#render(element, result);
        if (result.status !== "pending" && this.#openWhenAnswered.has(element)) {
          this.#openWhenAnswered.delete(element);
          this.badges.openCard(element);
        }
      }
    }
    this.#reportSummarySoon();
  }

  /**
   * Pending answers that never come are asked again; `unavailable` ones once the server may be
   * back. Both within MAX_ASKS, so a dead server costs a page a few messages, not a stream.
   * @param {CheckResult} result
   */
  #scheduleFollowUp(result) {
    const asking = this.#asking.get(result.url);
    if (!asking) return;
    if (asking.timer !== null) clearTimeout(asking.timer);
    asking.timer = null;
    if (result.status !== "pending" && result.status !== "unavailable") {
      this.#asking.delete(result.url); // settled
      return;
    }
    if (asking.asks >= MAX_ASKS) return;
    const delay =
      result.status === "pending"
        ? STALE_PENDING_MS
        : Math.max(result.retryInMs ?? 0, MIN_RETRY_MS);
    asking.awaiting = result.status === "pending";
    asking.timer = setTimeout(() => {
      asking.timer = null;
      asking.awaiting = false;
      if (this.#elementsShowing(result.url).length > 0) this.#ask(result.url);
    }, delay);
  }

  /**
   * The context menu's "Check this image with Verity", whether or not this page is scanned.
   * @param {string} srcUrl
   */
  #checkOnRequest(srcUrl) {
    const element = this.#elementForContextMenu(srcUrl);
    if (!element) return;
    this.#explicit.add(element);
    this.#openWhenAnswered.add(element);
    const url = normalizeImageUrl(srcUrl, this.window.document.baseURI);
    if (url === null) {
      const why = "Verity cannot check images embedded in the page's code (data: URLs) yet.";
      this.#render(element, failedResult(srcUrl, { code: "unsupported_url", message: why }));
      this.badges.openCard(element);
      return;
    }
    this.#urlOf.set(element, url);
    const known = this.#results.get(url);
    if (known?.status === "done") {
      this.#render(element, known);
      this.badges.openCard(element);
      return;
    }
    this.#render(element, pendingResult(url));
    this.#ask(url, { again: true });
  }

  /**
   * The picture right-clicked (Chrome names only its URL), else the first that shows it.
   * @param {string} srcUrl
   * @returns {HTMLImageElement | null}
   */
  #elementForContextMenu(srcUrl) {
    /** @type {(node: unknown) => node is HTMLImageElement} */
    const showsIt = (node) =>
      node instanceof HTMLImageElement && [shownImageSource(node), node.src].includes(srcUrl);
    const target = this.#lastContextMenuTarget;
    if (showsIt(target)) return target;
    return [...this.window.document.images].find(showsIt) ?? null;
  }

  /**
   * @param {Element} element
   * @param {CheckResult} result
   */
  #render(element, result) {
    this.#setState(element, result.verdict?.band ?? result.status);
    const explicit = this.#explicit.has(element);
    this.badges.show(element, result, { realImageBadge: this.settings.realImageBadge, explicit });
  }

  /** @param {string} url */
  #elementsShowing(url) {
    return [...this.#urlOf].filter(([, shown]) => shown === url).map(([element]) => element);
  }

  /**
   * @param {Element} element
   * @param {string} state
   */
  #setState(element, state) {
    element.setAttribute(STATE_ATTRIBUTE, state);
    if (state !== "skipped") element.removeAttribute(SKIP_ATTRIBUTE);
  }

  /** @returns {PageSummary} */
  #summary() {
    this.#forgetRemovedElements();
    const summary = {
      scanning: this.#scanning,
      checked: 0,
      flagged: 0,
      inconclusive: 0,
      waiting: 0,
      unavailable: 0,
    };
    for (const url of this.#urlOf.values()) {
      const result = this.#results.get(url);
      if (!result || result.status === "pending") summary.waiting += 1;
      else if (result.status === "unavailable") summary.unavailable += 1;
      else if (result.status === "done") {
        summary.checked += 1;
        if (result.verdict?.band === "likely_ai") summary.flagged += 1;
        if (result.verdict?.band === "inconclusive") summary.inconclusive += 1;
      }
    }
    return summary;
  }

  /** Infinite scroll drops nodes as fast as it adds them; let them go. */
  #forgetRemovedElements() {
    for (const element of this.#urlOf.keys()) {
      if (!element.isConnected) {
        this.#urlOf.delete(element);
        this.badges.remove(element);
      }
    }
  }

  #reportSummarySoon() {
    this.#summaryTimer ??= setTimeout(() => {
      this.#summaryTimer = null;
      const summary = this.#summary();
      chrome.runtime.sendMessage({ type: MESSAGE.PAGE_SUMMARY, summary }).catch(() => {});
    }, SUMMARY_DELAY_MS);
  }
}

/**
 * The bytes of a picture only this page can read (blob: URLs), for the worker to upload.
 * @param {string} url
 * @returns {Promise<{ dataUrl: string } | { error: string }>}
 */
async function readBytesForUpload(url) {
  try {
    return { dataUrl: await blobToDataUrl(await fetchImageBytes(url)) };
  } catch (error) {
    return { error: error instanceof Error ? error.message : String(error) };
  }
}
