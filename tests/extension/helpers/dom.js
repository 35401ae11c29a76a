/**
 * HTML fixtures in jsdom, plus the one thing jsdom lacks: layout. Rendered sizes come from the
 * CSS width/height the fixture declares (or the img's width/height attributes), bitmap sizes from
 * data-natural="WxH" (default: as rendered). That is all the extraction rules read from layout.
 */

import { readFileSync } from "node:fs";
import { JSDOM } from "jsdom";

const FIXTURES = new URL("../fixtures/", import.meta.url);

/**
 * @param {string} name a file in tests/extension/fixtures/
 * @param {string} [url] where the page pretends to live
 */
export function loadFixture(name, url = "https://news.example/2026/story/") {
  const html = readFileSync(new URL(name, FIXTURES), "utf8");
  return new JSDOM(html, { url }).window;
}

/**
 * @param {string} html
 * @param {string} [url]
 */
export function domFrom(html, url = "https://news.example/") {
  return new JSDOM(html, { url }).window;
}

/**
 * The Box the content script would measure, from the fixture's declared sizes.
 * @param {import("../../../extension_api/extension/lib/extraction.js").Candidate} candidate
 * @param {Window} window
 */
export function declaredBox({ element, kind }, window) {
  const style = window.getComputedStyle(element);
  const width = parseFloat(style.width) || Number(element.getAttribute("width")) || 0;
  const height = parseFloat(style.height) || Number(element.getAttribute("height")) || 0;
  if (kind === "background") return { width, height, naturalWidth: null, naturalHeight: null };
  const [naturalWidth, naturalHeight] = (
    element.getAttribute("data-natural") ?? `${width}x${height}`
  )
    .split("x")
    .map(Number);
  return { width, height, naturalWidth, naturalHeight };
}
