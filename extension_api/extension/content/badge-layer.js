/**
 * Badges over images, and the details card a badge opens. Everything lives in one shadow root
 * on a fixed layer that lets every click through except on the badges and the card, so a badge
 * can never shift the page's layout or swallow a click meant for the page.
 */

import overlaySheet from "./overlay.css" with { type: "css" };
import { OVERLAY_TAG } from "../lib/extraction.js";
import {
  abstainReasonText,
  badgeKind,
  badgeLabel,
  badgeText,
  bandTitle,
  modelScoreRows,
  percent,
  summarySentence,
} from "../lib/verdict-format.js";

/**
 * @typedef {import("../lib/check-results.js").CheckResult} CheckResult
 * @typedef {import("../lib/verdict-format.js").BadgeKind} BadgeKind
 * @typedef {{ realImageBadge: "hidden" | "faint", explicit: boolean }} BadgeOptions
 */

/** Inside the image's corner, clear of its edge. */
const INSET_PX = 6;
/** Layout can move without a scroll or resize (fonts, lazy content); catch up this often. */
const LAYOUT_CHECK_MS = 1000;

export class BadgeLayer {
  /** @type {Map<Element, { badge: HTMLButtonElement, result: CheckResult, kind: BadgeKind }>} */
  #badges = new Map();
  /** @type {HTMLElement | null} */
  #host = null;
  /** @type {ShadowRoot | null} */
  #root = null;
  /** @type {HTMLElement | null} */
  #card = null;
  /** @type {{ element: Element, pinned: boolean } | null} */
  #cardFor = null;
  #frameRequested = false;
  /** @type {ReturnType<typeof setInterval> | null} */
  #layoutTimer = null;
  /** @type {ReturnType<typeof setTimeout> | null} */
  #hideTimer = null;
  #resizes = new ResizeObserver(() => this.#schedulePositioning());
  #onViewportChange = () => this.#schedulePositioning();
  /** @param {PointerEvent} event */
  #onPointerDownAnywhere = (event) => {
    if (this.#cardFor?.pinned && this.#host && !event.composedPath().includes(this.#host)) {
      this.#hideCard();
    }
  };

  /** @param {Window} window */
  constructor(window) {
    this.window = window;
    this.document = window.document;
  }

  /**
   * Shows the badge this result calls for on the element, or removes it when none.
   * @param {Element} element
   * @param {CheckResult} result
   * @param {BadgeOptions} options
   */
  show(element, result, options) {
    const kind = badgeKind(result, options);
    if (kind === null) {
      this.remove(element);
      return;
    }
    const existing = this.#badges.get(element);
    const badge = existing?.badge ?? this.#newBadge(element);
    this.#badges.set(element, { badge, result, kind });
    badge.className = `badge badge--${kind}`;
    badge.textContent = labelOn(kind, result);
    badge.setAttribute("aria-label", spokenLabel(kind, result));
    if (this.#cardFor?.element === element) this.#fillCard(element);
    this.#schedulePositioning();
  }

  /** @param {Element} element */
  remove(element) {
    const entry = this.#badges.get(element);
    if (!entry) return;
    entry.badge.remove();
    this.#badges.delete(element);
    this.#resizes.unobserve(element);
    if (this.#cardFor?.element === element) this.#hideCard();
    if (this.#badges.size === 0) this.#stopFollowingLayout();
  }

  clear() {
    for (const element of [...this.#badges.keys()]) this.remove(element);
    this.#host?.remove();
    this.#host = null;
    this.#root = null;
    this.#card = null;
  }

  /** Opens the details card of the element's badge and keeps it open until dismissed. @param {Element} element */
  openCard(element) {
    if (this.#badges.has(element)) this.#showCard(element, { pinned: true });
  }

  /** @param {Element} element */
  #newBadge(element) {
    const badge = this.document.createElement("button");
    badge.type = "button";
    badge.addEventListener("click", (event) => {
      // Ours alone: the page never learns of a click on a badge.
      event.preventDefault();
      event.stopPropagation();
      const pinnedHere = this.#cardFor?.element === element && this.#cardFor.pinned;
      if (pinnedHere) this.#hideCard();
      else this.#showCard(element, { pinned: true });
    });
    badge.addEventListener("mouseenter", () => this.#showCard(element, { pinned: false }));
    badge.addEventListener("focus", () => this.#showCard(element, { pinned: false }));
    badge.addEventListener("mouseleave", () => this.#hideCardSoon());
    this.#layer().append(badge);
    this.#resizes.observe(element);
    this.#startFollowingLayout();
    return badge;
  }

  /** The shadow root, created with the first badge: pages without badges get no extra node. */
  #layer() {
    if (this.#root) return this.#root;
    const host = this.document.createElement(OVERLAY_TAG);
    for (const [property, value] of Object.entries({
      position: "fixed",
      inset: "0",
      width: "auto",
      height: "auto",
      margin: "0",
      padding: "0",
      border: "0",
      overflow: "hidden",
      "pointer-events": "none",
      "z-index": "2147483647",
      display: "block",
      contain: "layout style",
    })) {
      host.style.setProperty(property, value, "important"); // page CSS like `* {...}` loses
    }
    const root = host.attachShadow({ mode: "open" });
    root.adoptedStyleSheets = [overlaySheet];
    root.addEventListener("keydown", (event) => {
      if (/** @type {KeyboardEvent} */ (event).key === "Escape") this.#hideCard();
    });
    this.document.documentElement.append(host);
    this.#host = host;
    this.#root = root;
    return root;
  }

  #startFollowingLayout() {
    if (this.#layoutTimer !== null) return;
    this.window.addEventListener("scroll", this.#onViewportChange, {
      capture: true,
      passive: true,
    });
    this.window.addEventListener("resize", this.#onViewportChange, { passive: true });
    this.document.addEventListener("pointerdown", this.#onPointerDownAnywhere, {
      capture: true,
      passive: true,
    });
    this.#layoutTimer = setInterval(() => this.#schedulePositioning(), LAYOUT_CHECK_MS);
  }

  #stopFollowingLayout() {
    if (this.#layoutTimer === null) return;
    this.window.removeEventListener("scroll", this.#onViewportChange, { capture: true });
    this.window.removeEventListener("resize", this.#onViewportChange);
    this.document.removeEventListener("pointerdown", this.#onPointerDownAnywhere, {
      capture: true,
    });
    clearInterval(this.#layoutTimer);
    this.#layoutTimer = null;
  }

  #schedulePositioning() {
    if (this.#frameRequested || this.document.hidden) return;
    this.#frameRequested = true;
    this.window.requestAnimationFrame(() => {
      this.#frameRequested = false;
      this.#positionAll();
    });
  }

  /** Reads every rectangle first, then writes: one layout pass, however many badges. */
  #positionAll() {
    const placements = [...this.#badges].map(([element, { badge }]) => ({
      badge,
      rect: element.isConnected ? element.getBoundingClientRect() : null,
    }));
    const { innerWidth, innerHeight } = this.window;
    for (const { badge, rect } of placements) {
      const onScreen =
        rect !== null &&
        rect.width > 0 &&
        rect.bottom > 0 &&
        rect.top < innerHeight &&
        rect.right > 0 &&
        rect.left < innerWidth;
      badge.hidden = !onScreen;
      if (!onScreen || rect === null) continue;
      badge.style.left = `${Math.min(rect.right, innerWidth) - INSET_PX}px`;
      badge.style.top = `${Math.max(rect.top, 0) + INSET_PX}px`;
    }
    if (this.#cardFor) this.#positionCard();
  }

  /**
   * @param {Element} element
   * @param {{ pinned: boolean }} how pinned cards stay until dismissed; others follow the hover
   */
  #showCard(element, { pinned }) {
    this.#cancelHide();
    if (this.#cardFor?.pinned && !pinned && this.#cardFor.element !== element) return;
    this.#cardFor = {
      element,
      pinned: pinned || (this.#cardFor?.element === element && this.#cardFor.pinned),
    };
    this.#fillCard(element);
    this.#positionCard();
  }

  #hideCardSoon() {
    if (this.#cardFor?.pinned) return;
    this.#cancelHide();
    this.#hideTimer = setTimeout(() => this.#hideCard(), 250);
  }

  #cancelHide() {
    if (this.#hideTimer !== null) clearTimeout(this.#hideTimer);
    this.#hideTimer = null;
  }

  #hideCard() {
    this.#cancelHide();
    this.#cardFor = null;
    if (this.#card) this.#card.hidden = true;
  }

  /** @param {Element} element */
  #fillCard(element) {
    const entry = this.#badges.get(element);
    if (!entry) return;
    const card = this.#cardElement();
    card.className = `card card--${entry.kind}`;
    card.replaceChildren(...cardContent(this.document, entry.result));
    card.hidden = false;
  }

  #cardElement() {
    if (this.#card) return this.#card;
    const card = this.document.createElement("div");
    card.setAttribute("role", "dialog");
    card.setAttribute("aria-label", "Verity details");
    card.hidden = true;
    card.addEventListener("mouseenter", () => this.#cancelHide());
    card.addEventListener("mouseleave", () => this.#hideCardSoon());
    card.addEventListener("click", (event) => event.stopPropagation());
    this.#layer().append(card);
    this.#card = card;
    return card;
  }

  /** Below the badge, kept inside the viewport. */
  #positionCard() {
    const entry = this.#cardFor && this.#badges.get(this.#cardFor.element);
    if (!entry || !this.#card || entry.badge.hidden) {
      if (this.#card) this.#card.hidden = true;
      return;
    }
    this.#card.hidden = false;
    const badge = entry.badge.getBoundingClientRect();
    const { width, height } = this.#card.getBoundingClientRect();
    const { innerWidth, innerHeight } = this.window;
    const left = clamp(badge.right - width, 8, innerWidth - width - 8);
    const below = badge.bottom + 6;
    const top = below + height <= innerHeight - 8 ? below : Math.max(8, badge.top - height - 6);
    this.#card.style.left = `${left}px`;
    this.#card.style.top = `${top}px`;
  }
}

/**
 * @param {BadgeKind} kind
 * @param {CheckResult} result
 */
function labelOn(kind, result) {
  if (kind === "checking") return "Verity…";
  if (kind === "problem") return "Verity: not checked";
  return result.verdict ? badgeText(result.verdict) : "";
}

/**
 * @param {BadgeKind} kind
 * @param {CheckResult} result
 */
function spokenLabel(kind, result) {
  if (kind === "checking") return "Verity is checking this image.";
  if (kind === "problem") return "Verity could not check this image. Show details.";
  return result.verdict ? badgeLabel(result.verdict) : "Verity";
}

/**
 * What the details card says: the verdict and its reasons, or what went wrong.
 * @param {Document} document
 * @param {CheckResult} result
 * @returns {Node[]}
 */
function cardContent(document, result) {
  const make = (/** @type {string} */ tag, /** @type {string} */ text = "") => {
    const node = document.createElement(tag);
    node.textContent = text;
    return node;
  };
  const verdict = result.verdict;
  if (result.status === "pending")
    return [make("h2", "Checking…"), make("p", "Verity is looking at this image.")];
  if (!verdict) {
    const why = result.error?.message || "Verity could not check this image.";
    return [make("h2", "Not checked"), make("p", why)];
  }
  const facts = make("dl");
  const fact = (/** @type {string} */ term, /** @type {Node | string} */ value) => {
    const dd = make("dd");
    dd.append(value);
    facts.append(make("dt", term), dd);
  };
  fact("Probability", percent(verdict.probability_ai));
  fact("Band", bandTitle(verdict.band));
  fact("Model", verdict.model_version);
  const scores = make("div");
  scores.className = "scores";
  for (const { model, score } of modelScoreRows(verdict))
    scores.append(make("span", model), make("span", score));
  fact("Per model", scores);
  const abstain = abstainReasonText(verdict.abstain_reason);
  if (abstain) fact("Abstained", abstain);
  const nodes = [make("h2", bandTitle(verdict.band)), make("p", summarySentence(verdict)), facts];
  const history = safeHttpUrl(verdict.history_url);
  if (history) {
    const link = make("a", "See this image's history on Verity");
    link.setAttribute("href", history);
    link.setAttribute("target", "_blank");
    link.setAttribute("rel", "noopener noreferrer");
    nodes.push(link);
  }
  nodes.push(make("p", "Detectors make mistakes: treat this as a signal, not proof."));
  /** @type {HTMLElement} */ (nodes.at(-1)).className = "fine-print";
  return nodes;
}

/** @param {unknown} value an http(s) URL, or null (never a javascript: link) */
function safeHttpUrl(value) {
  try {
    const url = new URL(String(value));
    return url.protocol === "http:" || url.protocol === "https:" ? url.href : null;
  } catch {
    return null;
  }
}

/**
 * @param {number} value
 * @param {number} low
 * @param {number} high
 */
function clamp(value, low, high) {
  return Math.max(low, Math.min(value, high));
}
