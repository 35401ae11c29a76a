/**
 * Which pictures on a page a person actually sees, and which URL each one shows: <img>
 * (including the srcset or <picture> candidate the browser chose) and CSS backgrounds of large
 * elements, minus the tiny, hidden and decorative ones. Functions of the DOM and of measured
 * sizes only, so they run unchanged in the content script and in Node tests (jsdom).
 */

import { normalizeImageUrl } from "./image-urls.js";

/** The element that holds Verity's badges; never scanned. */
export const OVERLAY_TAG = "verity-overlay";

export const SIZE_LIMITS = Object.freeze({
  // CSS pixels as rendered: below this an image is an icon, an avatar or a thumbnail strip,
  // and a badge would cover most of it.
  minImageSide: 64,
  // Pixels of the bitmap: a 1x1 tracking pixel stretched over a box is still no picture.
  minNaturalSide: 64,
  // Backgrounds are mostly decoration, so only large ones count (hero images, cards).
  minBackgroundSide: 160,
});

/**
 * @typedef {"img" | "background"} CandidateKind
 * @typedef {object} Candidate
 * @property {Element} element
 * @property {CandidateKind} kind
 * @property {string} source the URL as the page gives it ("" when there is none yet)
 * @property {string | null} url absolute and checkable (see image-urls.js), else null
 * @typedef {object} Box what layout says about the candidate (CSS pixels)
 * @property {number} width rendered
 * @property {number} height rendered
 * @property {number | null} naturalWidth bitmap size for <img>; null for backgrounds
 * @property {number | null} naturalHeight
 * @typedef {Pick<CSSStyleDeclaration, "visibility" | "opacity" | "backgroundRepeat" |
 *   "backgroundSize">} StyleFacts the computed style the skip rules read
 * @typedef {"no-source" | "inline-data" | "unsupported-url" | "vector" | "decorative" |
 *   "hidden" | "tiny" | "tiny-bitmap" | "small-element" | "tile"} SkipReason
 */

/**
 * Candidates in root and its subtree (root included when it is an element).
 * @param {Document | Element} root
 * @param {{ getComputedStyle(element: Element): CSSStyleDeclaration }} view the page's window
 * @returns {Candidate[]}
 */
export function findCandidates(root, view) {
  return [...candidatesIn(root, view)];
}

/**
 * The same, one at a time, so that a caller can spread a large page over several idle moments
 * (every element's computed style is read, to find its background).
 * @param {Document | Element} root
 * @param {{ getComputedStyle(element: Element): CSSStyleDeclaration }} view
 * @returns {Generator<Candidate, void, undefined>}
 */
export function* candidatesIn(root, view) {
  const start = "documentElement" in root ? root.documentElement : root;
  if (!start || start.closest(OVERLAY_TAG)) return;
  const walker = start.ownerDocument.createTreeWalker(start, 1 /* NodeFilter.SHOW_ELEMENT */, {
    acceptNode: (node) =>
      /** @type {Element} */ (node).localName === OVERLAY_TAG
        ? 2 /* NodeFilter.FILTER_REJECT: skip the subtree */
        : 1 /* NodeFilter.FILTER_ACCEPT */,
  });
  /** @type {Node | null} */
  let node = walker.currentNode;
  for (; node; node = walker.nextNode()) {
    const candidate = candidateOf(/** @type {Element} */ (node), view);
    if (candidate) yield candidate;
  }
}

/**
 * The element as a candidate, or null when it shows no picture of its own.
 * @param {Element} element
 * @param {{ getComputedStyle(element: Element): CSSStyleDeclaration }} view
 * @returns {Candidate | null}
 */
export function candidateOf(element, view) {
  if (element.localName === "img") {
    const source = shownImageSource(/** @type {HTMLImageElement} */ (element));
    return { element, kind: "img", source, url: checkableUrl(source, element) };
  }
  const [source] = backgroundImageUrls(view.getComputedStyle(element).backgroundImage);
  if (source === undefined) return null;
  return { element, kind: "background", source, url: checkableUrl(source, element) };
}

/**
 * The URL an <img> shows: the browser's own choice among srcset and <picture> sources
 * (currentSrc, set once it loads), else its src.
 * @param {HTMLImageElement} img
 */
export function shownImageSource(img) {
  return img.currentSrc || img.src || "";
}

/**
 * The URLs in a computed `background-image` value, layer by layer (gradients have none).
 * @param {string} cssValue e.g. `url("a.jpg"), linear-gradient(red, blue)`
 * @returns {string[]}
 */
export function backgroundImageUrls(cssValue) {
  const urlToken = /url\(\s*(?:"((?:[^"\\]|\\.)*)"|'((?:[^'\\]|\\.)*)'|([^)"'\s]*))\s*\)/g;
  return [...(cssValue ?? "").matchAll(urlToken)]
    .map((match) => (match[1] ?? match[2] ?? match[3]).replace(/\\(.)/g, "$1"))
    .filter((url) => url !== "");
}

/**
 * Why a candidate is not worth checking, or null when it is.
 * @param {Candidate} candidate
 * @param {Box} box
 * @param {StyleFacts} style the element's computed style
 * @returns {SkipReason | null}
 */
export function skipReason(candidate, box, style) {
  return (
    sourceProblem(candidate) ??
    visibilityProblem(candidate, style) ??
    sizeProblem(candidate, box, style)
  );
}

/** @param {Candidate} candidate @returns {SkipReason | null} */
function sourceProblem({ source, url }) {
  if (!source) return "no-source";
  if (source.startsWith("data:")) return "inline-data";
  if (url === null) return "unsupported-url";
  if (url.startsWith("http") && new URL(url).pathname.toLowerCase().endsWith(".svg")) {
    return "vector"; // drawings, logos and icons: not what the detectors judge
  }
  return null;
}

/**
 * @param {Candidate} candidate
 * @param {StyleFacts} style
 * @returns {SkipReason | null}
 */
function visibilityProblem({ element }, style) {
  const role = element.getAttribute("role");
  if (role === "presentation" || role === "none" || element.closest('[aria-hidden="true"]')) {
    return "decorative"; // the page itself says the picture carries no meaning
  }
  const invisible = style.visibility === "hidden" || style.visibility === "collapse";
  if (invisible || parseFloat(style.opacity) === 0) return "hidden";
  return null;
}

/**
 * @param {Candidate} candidate
 * @param {Box} box
 * @param {StyleFacts} style
 * @returns {SkipReason | null}
 */
function sizeProblem({ kind }, box, style) {
  if (kind === "background") {
    const side = SIZE_LIMITS.minBackgroundSide;
    if (box.width < side || box.height < side) return "small-element";
    return isTiled(style) ? "tile" : null;
  }
  if (box.width < SIZE_LIMITS.minImageSide || box.height < SIZE_LIMITS.minImageSide) return "tiny";
  const natural = SIZE_LIMITS.minNaturalSide;
  if ((box.naturalWidth ?? natural) < natural || (box.naturalHeight ?? natural) < natural) {
    return "tiny-bitmap";
  }
  return null;
}

/**
 * A repeated background that is not stretched over its element is a texture or a pattern.
 * @param {StyleFacts} style
 */
function isTiled(style) {
  const [repeat] = style.backgroundRepeat.split(",");
  const [size] = style.backgroundSize.split(",");
  const repeats = repeat.trim() !== "no-repeat";
  return repeats && !["cover", "contain"].includes(size.trim());
}

/**
 * The rendered and natural size of a candidate, as the browser lays it out.
 * @param {Candidate} candidate
 * @returns {Box}
 */
export function measureBox({ element, kind }) {
  const { width, height } = element.getBoundingClientRect();
  if (kind === "background") return { width, height, naturalWidth: null, naturalHeight: null };
  const img = /** @type {HTMLImageElement} */ (element);
  return { width, height, naturalWidth: img.naturalWidth, naturalHeight: img.naturalHeight };
}

/**
 * @param {string} source
 * @param {Element} element
 */
function checkableUrl(source, element) {
  return source ? normalizeImageUrl(source, element.baseURI) : null;
}
