import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  isPrivateHost,
  mustUploadBytes,
  normalizeImageUrl,
} from "../../extension_api/extension/lib/image-urls.js";

describe("normalizing image URLs", () => {
  it("resolves relative URLs and drops the #fragment, keeping the query", () => {
    assert.equal(
      normalizeImageUrl(" ../img/a.jpg?w=800#top ", "https://site.example/blog/post/"),
      "https://site.example/blog/img/a.jpg?w=800",
    );
  });

  it("keeps blob: URLs whole", () => {
    const blob = "blob:https://site.example/0b7d5a1e-3f9c-4c4e-8d0e-5a0c2e8f1b22";
    assert.equal(normalizeImageUrl(blob, "https://site.example/"), blob);
  });

  it("refuses schemes Verity cannot check", () => {
    for (const raw of [
      "data:image/png;base64,AAAA",
      "ftp://x.example/a.jpg",
      "chrome://favicon/",
    ]) {
      assert.equal(normalizeImageUrl(raw, "https://site.example/"), null, raw);
    }
  });

  it("refuses text that is no URL", () => {
    assert.equal(normalizeImageUrl("http://", "https://site.example/"), null);
  });
});

describe("deciding who fetches the bytes", () => {
  it("lets the server fetch public http(s) images", () => {
    assert.equal(mustUploadBytes("https://images.example.com/a.jpg"), false);
    assert.equal(mustUploadBytes("http://93.184.216.34/a.jpg"), false);
  });

  it("uploads blob: images, which only the page can read", () => {
    assert.equal(mustUploadBytes("blob:https://site.example/0b7d5a1e"), true);
  });

  it("uploads images on private networks, which the server's SSRF guard refuses", () => {
    for (const url of [
      "http://127.0.0.1:8080/a.png",
      "http://10.2.3.4/a.png",
      "http://172.20.0.5/a.png",
      "http://192.168.1.10/a.png",
      "http://169.254.169.254/latest/meta-data",
      "http://100.64.0.1/a.png",
      "http://[::1]:3000/a.png",
      "http://[fd12:3456::1]/a.png",
      "http://[fe80::1]/a.png",
      "http://[::ffff:10.0.0.1]/a.png",
      "http://2130706433/a.png", // 127.0.0.1 spelled as one number
      "http://localhost:5173/a.png",
      "http://printer.local/scan.jpg",
      "http://wiki/images/a.jpg",
      "http://photos.test/a.jpg",
    ]) {
      assert.equal(mustUploadBytes(normalizeImageUrl(url, "https://x.example/")), true, url);
    }
  });

  it("does not mistake public addresses next to private ranges for private ones", () => {
    for (const host of ["172.32.0.1", "192.169.0.1", "100.128.0.1", "11.0.0.1", "[2001:db8::1]"]) {
      assert.equal(isPrivateHost(host), false, host);
    }
  });
});
