/**
 * Watches a page for the pictures a person sees: the ones present at load, the ones added later
 * (infinite scroll, single-page apps) and the ones whose source changes (lazy loaders,
 * carousels). A picture is judged (lib/extraction.js) only once it is near the viewport and its
 * bitmap has loaded: only then is the shown URL (currentSrc) and the real size known.
 */

import {
  candidateOf,
  candidatesIn,
  measureBox,
  OVERLAY_TAG,
  skipReason,
} from "../lib/extraction.js";

/**
 * @typedef {import("../lib/extraction.js").Candidate} Candidate
 * @typedef {import("../lib/extraction.js").SkipReason | "broken"} Skip
 * @typedef {object} ScannerEvents
 * @property {(candidate: Candidate & { url: string }) => void} onReady worth checking
 * @property {(element: Element, reason: Skip) => void} onSkipped
 * @property {(element: Element) => void} onWaiting found, not yet visible or loaded
 */

/** How far outside the viewport a picture counts as "about to be seen". */
const NEAR_VIEWPORT = "200px";
/** Mutations arrive in storms (a feed appends 40 cards); they are handled together. */
const MUTATION_SETTLE_MS = 100;
const WATCHED_ATTRIBUTES = ["src", "srcset", "sizes", "style", "class"];
/** Discovery reads every element's style; it yields the main thread after this long. */
const DISCOVERY_SLICE_MS = 8;

export class PageScanner {
  /** @type {WeakMap<Element, { url: string | null }>} the URL each picture was last judged for */
  #judged = new WeakMap();
  /** @type {Set<Element>} subtrees added to the page */
  #addedRoots = new Set();
  /** @type {Set<Element>} elements whose src, srcset, style or class changed */
  #changedElements = new Set();
  /** @type {ReturnType<typeof setTimeout> | null} */
  #settleTimer = null;
  /** @type {IntersectionObserver | null} */
  #visibility = null;
  /** @type {MutationObserver | null} */
  #mutations = null;
  /** @type {Array<Generator<import("../lib/extraction.js").Candidate, void, undefined>>} */
  #discoveries = [];
  #discovering = false;

  /**
   * @param {Window} window
   * @param {ScannerEvents} events
   */
  constructor(window, events) {
    this.window = window;
    this.events = events;
  }

  start() {
    if (this.#visibility) return;
    this.#visibility = new IntersectionObserver((entries) => this.#onVisibility(entries), {
      rootMargin: NEAR_VIEWPORT,
    });
    this.#mutations = new MutationObserver((records) => this.#onMutations(records));
    this.#mutations.observe(this.window.document, {
      childList: true,
      subtree: true,
      attributes: true,
      attributeFilter: WATCHED_ATTRIBUTES,
    });
    this.#discover(this.window.document);
  }

  stop() {
    this.#visibility?.disconnect();
    this.#mutations?.disconnect();
    this.#visibility = null;
    this.#mutations = null;
    this.#judged = new WeakMap();
    this.#discoveries = [];
    this.#addedRoots.clear();
    this.#changedElements.clear();
    if (this.#settleTimer !== null) clearTimeout(this.#settleTimer);
    this.#settleTimer = null;
  }

  /**
   * Finds the candidates under root in slices of DISCOVERY_SLICE_MS, leaving the page's own
   * work room between them: a page of 20,000 elements costs about 100 ms of style reads.
   * @param {Document | Element} root
   */
  #discover(root) {
    this.#discoveries.push(candidatesIn(root, this.window));
    if (!this.#discovering) this.#discoverSlice();
  }

  #discoverSlice() {
    this.#discovering = true;
    const sliceEnd = performance.now() + DISCOVERY_SLICE_MS;
    while (this.#discoveries.length > 0 && performance.now() < sliceEnd) {
      const next = this.#discoveries[0].next();
      if (next.done) this.#discoveries.shift();
      else this.#watch(next.value.element);
    }
    if (this.#discoveries.length === 0) {
      this.#discovering = false;
      return;
    }
    const idle = this.window.requestIdleCallback ?? ((callback) => setTimeout(callback, 1));
    idle(() => this.#discoverSlice(), { timeout: 200 });
  }

  /** @param {Element} element */
  #watch(element) {
    if (this.#judged.has(element)) return;
    this.#judged.set(element, { url: null });
    this.events.onWaiting(element);
    this.#visibility?.observe(element);
  }

  /** @param {IntersectionObserverEntry[]} entries */
  #onVisibility(entries) {
    for (const entry of entries) {
      if (entry.isIntersecting) this.#judgeWhenLoaded(entry.target);
    }
  }

  /** @param {Element} element */
  #judgeWhenLoaded(element) {
    if (element.localName === "img") {
      const img = /** @type {HTMLImageElement} */ (element);
      if (!img.complete) {
        img.addEventListener("load", () => this.#judge(img), { once: true });
        img.addEventListener("error", () => this.#judge(img), { once: true });
        return;
      }
      if (img.naturalWidth === 0 && img.currentSrc) {
        this.#skip(img, "broken");
        return;
      }
    }
    this.#judge(element);
  }

  /** @param {Element} element */
  #judge(element) {
    const candidate = candidateOf(element, this.window);
    const judged = this.#judged.get(element);
    if (!candidate || !judged || !this.#visibility) return; // no longer a picture, or stopped
    if (judged.url !== null && judged.url === candidate.url) return; // nothing new
    const reason = skipReason(
      candidate,
      measureBox(candidate),
      this.window.getComputedStyle(element),
    );
    if (reason !== null || candidate.url === null) {
      this.#skip(element, reason ?? "unsupported-url");
      return;
    }
    judged.url = candidate.url;
    this.events.onReady(/** @type {Candidate & { url: string }} */ (candidate));
  }

  /**
   * Skipped pictures are judged again when they come back into view: a hidden slide shown,
   * a thumbnail enlarged.
   * @param {Element} element
   * @param {Skip} reason
   */
  #skip(element, reason) {
    const judged = this.#judged.get(element);
    if (judged) judged.url = null;
    this.events.onSkipped(element, reason);
  }

  /** @param {MutationRecord[]} records */
  #onMutations(records) {
    for (const record of records) {
      if (record.type === "childList") {
        for (const node of record.addedNodes) {
          if (node.nodeType === 1) this.#addedRoots.add(/** @type {Element} */ (node));
        }
      } else {
        this.#changedElements.add(/** @type {Element} */ (record.target));
      }
    }
    const anything = this.#addedRoots.size > 0 || this.#changedElements.size > 0;
    if (this.#settleTimer === null && anything) {
      this.#settleTimer = setTimeout(() => this.#handleChanges(), MUTATION_SETTLE_MS);
    }
  }

  #handleChanges() {
    this.#settleTimer = null;
    const added = [...this.#addedRoots].filter(isOnPage);
    const changed = [...this.#changedElements].filter(isOnPage);
    this.#addedRoots.clear();
    this.#changedElements.clear();
    for (const root of outermost(added)) this.#discover(root);
    // Only the changed element itself: a class toggled on <body> at every scroll must not
    // rescan the whole page. Lazy loaders set src or style on the picture itself.
    for (const element of changed) {
      if (!candidateOf(element, this.window)) continue;
      this.#watch(element);
      this.#rejudgeIfNearViewport(element);
    }
  }

  /**
   * A changed src, srcset or style may show another picture in an element already watched.
   * @param {Element} element
   */
  #rejudgeIfNearViewport(element) {
    const { top, bottom, width } = element.getBoundingClientRect();
    const near = width > 0 && bottom > -200 && top < this.window.innerHeight + 200;
    if (near) this.#judgeWhenLoaded(element);
  }
}

/** @param {Element} element */
function isOnPage(element) {
  return element.isConnected && !element.closest(OVERLAY_TAG);
}

/**
 * The roots not inside another root of the list: each subtree is scanned once.
 * @param {Element[]} roots
 */
function outermost(roots) {
  return roots.filter((root) => !roots.some((other) => other !== root && other.contains(root)));
}
