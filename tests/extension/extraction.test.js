import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  backgroundImageUrls,
  candidateOf,
  findCandidates,
  skipReason,
} from "../../extension_api/extension/lib/extraction.js";
import { declaredBox, domFrom, loadFixture } from "./helpers/dom.js";

/** What the rules decide for every candidate of a page: "check" or "skip:<reason>". */
function decisions(window) {
  return findCandidates(window.document, window).map((candidate) => {
    const reason = skipReason(
      candidate,
      declaredBox(candidate, window),
      window.getComputedStyle(candidate.element),
    );
    return { candidate, decision: reason ? `skip:${reason}` : "check" };
  });
}

describe("finding the pictures of a page", () => {
  it("decides for every picture of the article exactly what the fixture expects", () => {
    const window = loadFixture("article.html");
    const decided = decisions(window);
    const expected = [...window.document.querySelectorAll("[data-expect]")];

    assert.deepEqual(
      decided.map(({ candidate }) => candidate.element),
      expected,
      "every element that shows a picture is found, in document order, and nothing else",
    );
    for (const { candidate, decision } of decided) {
      assert.equal(decision, candidate.element.dataset.expect, candidate.element.outerHTML);
    }
  });

  it("gives absolute URLs, resolved against the page's <base>, without #fragments", () => {
    const window = loadFixture("article.html");
    const checked = decisions(window)
      .filter(({ decision }) => decision === "check")
      .map(({ candidate }) => candidate.url);

    assert.deepEqual(checked, [
      "https://news.example/media/hero.jpg",
      "https://news.example/2026/story/photos/lead.jpg",
      "https://news.example/2026/story/photos/lead.jpg",
      "https://news.example/2026/story/photos/river.jpg",
      "https://cdn.example.org/u/9/portrait.jpg?w=640",
      "https://news.example/2026/story/card.webp",
    ]);
  });

  it("takes the URL the browser chose from srcset or <picture> once the image has loaded", () => {
    const window = domFrom(`<img src="small.jpg" srcset="small.jpg 480w, large.jpg 1600w">`);
    const img = window.document.querySelector("img");
    // jsdom loads no images; in Chromium currentSrc is the candidate actually shown.
    Object.defineProperty(img, "currentSrc", { value: "https://news.example/large.jpg" });

    assert.equal(candidateOf(img, window).url, "https://news.example/large.jpg");
  });

  it("falls back to src while the browser has not chosen yet", () => {
    const window = domFrom(`<img src="small.jpg" srcset="small.jpg 480w, large.jpg 1600w">`);

    assert.equal(
      candidateOf(window.document.querySelector("img"), window).url,
      "https://news.example/small.jpg",
    );
  });

  it("finds pictures added later when given only the new subtree", () => {
    const window = loadFixture("article.html");
    const feed = window.document.createElement("section");
    feed.innerHTML = `<p>More</p><img src="/feed/1.jpg" width="500" height="500">
      <div><img src="/feed/2.jpg" width="500" height="500"></div>`;
    window.document.body.append(feed);

    assert.deepEqual(
      findCandidates(feed, window).map((candidate) => candidate.url),
      ["https://news.example/feed/1.jpg", "https://news.example/feed/2.jpg"],
    );
  });

  it("never scans Verity's own badge overlay", () => {
    const window = domFrom(`<verity-overlay><img src="/badge.png"></verity-overlay>
      <img src="/photo.jpg">`);

    assert.deepEqual(
      findCandidates(window.document, window).map((candidate) => candidate.url),
      ["https://news.example/photo.jpg"],
    );
  });

  it("treats a blob: image like any other (its bytes get uploaded later)", () => {
    const window = domFrom(
      `<img src="blob:https://news.example/6f1c0e2a-1d7b-4a43-9b7a-2a1f0c0f9e11">`,
    );

    assert.equal(
      candidateOf(window.document.querySelector("img"), window).url,
      "blob:https://news.example/6f1c0e2a-1d7b-4a43-9b7a-2a1f0c0f9e11",
    );
  });
});

describe("reading CSS background-image values", () => {
  it("reads double-quoted, single-quoted and bare url() tokens, layer by layer", () => {
    assert.deepEqual(backgroundImageUrls(`url("a.jpg"), url('b c.png'), url(d.webp)`), [
      "a.jpg",
      "b c.png",
      "d.webp",
    ]);
  });

  it("skips gradients and unescapes what CSS escaped", () => {
    assert.deepEqual(backgroundImageUrls(`linear-gradient(red, blue), url("x\\"y.jpg")`), [
      `x"y.jpg`,
    ]);
  });

  it("finds nothing in none or an empty value", () => {
    assert.deepEqual(backgroundImageUrls("none"), []);
    assert.deepEqual(backgroundImageUrls(""), []);
  });
});
