import assert from "node:assert/strict";
import { createServer } from "node:http";
import { after, before, describe, it } from "node:test";

import {
  blobToDataUrl,
  dataUrlToBlob,
  fetchImageBytes,
  MAX_UPLOAD_BYTES,
} from "../../extension_api/extension/lib/image-bytes.js";

describe("reading image bytes for an upload", () => {
  let base;
  let server;
  before(async () => {
    server = createServer((request, response) => {
      const routes = {
        "/photo.png": () =>
          response.writeHead(200, { "Content-Type": "image/png" }).end(Buffer.alloc(300, 7)),
        "/page.html": () =>
          response.writeHead(200, { "Content-Type": "text/html" }).end("<p>hi</p>"),
        "/huge.jpg": () =>
          response
            .writeHead(200, {
              "Content-Type": "image/jpeg",
              "Content-Length": String(MAX_UPLOAD_BYTES + 1),
            })
            .end(),
      };
      (routes[request.url] ?? (() => response.writeHead(403).end()))();
    });
    await new Promise((resolve) => server.listen(0, "127.0.0.1", resolve));
    base = `http://127.0.0.1:${server.address().port}`;
  });
  after(() => new Promise((resolve) => server.close(resolve)));

  it("reads an image", async () => {
    const blob = await fetchImageBytes(`${base}/photo.png`);
    assert.equal(blob.size, 300);
    assert.equal(blob.type, "image/png");
  });

  it("refuses an HTTP error, a page that is no image, and an oversized image", async () => {
    await assert.rejects(fetchImageBytes(`${base}/login-wall.jpg`), /HTTP 403/);
    await assert.rejects(fetchImageBytes(`${base}/page.html`), /not an image/);
    await assert.rejects(fetchImageBytes(`${base}/huge.jpg`), /too large/);
  });

  it("carries bytes through a data: URL unchanged", async () => {
    const bytes = Uint8Array.from({ length: 70_000 }, (_, i) => (i * 31) % 256);
    const original = new Blob([bytes], { type: "image/webp" });

    const dataUrl = await blobToDataUrl(original);
    assert.match(dataUrl, /^data:image\/webp;base64,/);
    const back = await dataUrlToBlob(dataUrl);
    assert.equal(back.type, "image/webp");
    assert.deepEqual(new Uint8Array(await back.arrayBuffer()), bytes);
  });
});
