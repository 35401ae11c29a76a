import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import {
  ApiError,
  ServerUnreachable,
  VerityApi,
} from "../../extension_api/extension/lib/api-client.js";
import { closedPortUrl } from "./helpers/network.js";
import { startFakeVerity } from "./helpers/fake-verity-server.js";

describe("the extension API client", () => {
  let server;
  before(async () => {
    server = await startFakeVerity();
  });
  after(() => server.close());

  it("registers an install and gets its token", async () => {
    const { installId, token } = await new VerityApi({ serverUrl: server.url }).register({
      extensionVersion: "0.1.0",
      browser: "chromium",
    });
    assert.match(installId, /^[0-9a-f-]{36}$/);
    assert.match(token, /^vrx_/);
    assert.deepEqual(server.requestsTo("/api/v1/extension/installs").at(-1).body, {
      extension_version: "0.1.0",
      browser: "chromium",
    });
  });

  it("sends the token and the page URL with a page check", async () => {
    const api = new VerityApi({ serverUrl: server.url, token: "vrx_team_token" });
    const check = await api.createPageCheck({
      pageUrl: "https://news.example/today",
      urls: ["https://img.example/ai-1.jpg"],
    });

    const sent = server.requestsTo("/api/v1/extension/page-checks").at(-1);
    assert.equal(sent.headers.authorization, "Bearer vrx_team_token");
    assert.deepEqual(sent.body, {
      page_url: "https://news.example/today",
      images: [{ url: "https://img.example/ai-1.jpg" }],
    });
    assert.equal(check.results[0].verdict.band, "likely_ai");
    assert.match(check.pollUrl, /^\/api\/v1\/extension\/page-checks\//);
  });

  it("leaves page_url out entirely when the person keeps it private", async () => {
    const api = new VerityApi({ serverUrl: server.url, token: "vrx_team_token" });
    await api.createPageCheck({ pageUrl: null, urls: ["https://img.example/real-1.jpg"] });

    const sent = server.requestsTo("/api/v1/extension/page-checks").at(-1);
    assert.equal("page_url" in sent.body, false);
  });

  it("long-polls with a bounded wait", async () => {
    const api = new VerityApi({ serverUrl: server.url, token: "vrx_team_token" });
    const check = await api.createPageCheck({
      pageUrl: null,
      urls: ["https://img.example/slow-1.jpg"],
    });
    assert.equal(check.results[0].status, "pending");

    const later = await api.pollPageCheck(check.pollUrl, { waitSeconds: 10 });
    assert.equal(later.results[0].status, "done");
    assert.match(server.requests.at(-1).headers.host, /^127\.0\.0\.1:/);
  });

  it("uploads bytes as multipart with the original src", async () => {
    const api = new VerityApi({ serverUrl: server.url, token: "vrx_team_token" });
    const image = new Blob([new Uint8Array([0x89, 0x50, 0x4e, 0x47])], { type: "image/png" });
    const src = "blob:https://news.example/0b7d5a1e";
    const check = await api.uploadImage({ image, src, pageUrl: null });

    const sent = server.requestsTo("/api/v1/extension/uploads").at(-1).body;
    assert.deepEqual(sent, { image: { type: "image/png", size: 4, name: "image.png" }, src });
    assert.equal(check.results[0].url, src);
  });

  it("turns an error answer into an ApiError with the stable code and Retry-After", async () => {
    server.answerNext("POST /api/v1/extension/page-checks", {
      status: 429,
      headers: { "Retry-After": "3" },
      json: { error: { code: "throttled", message: "Slow down." } },
    });
    const api = new VerityApi({ serverUrl: server.url, token: "vrx_team_token" });
    const error = await api.createPageCheck({ pageUrl: null, urls: [] }).catch((e) => e);

    assert.ok(error instanceof ApiError);
    assert.equal(error.code, "throttled");
    assert.equal(error.retryAfterMs, 3000);
    assert.equal(error.isRateLimit, true);
  });

  it("names the HTTP status when the server gives no error body", async () => {
    server.answerNext("POST /api/v1/extension/page-checks", { status: 502 });
    const api = new VerityApi({ serverUrl: server.url, token: "vrx_team_token" });
    const error = await api.createPageCheck({ pageUrl: null, urls: [] }).catch((e) => e);

    assert.equal(error.code, "http_502");
    assert.equal(error.isServerError, true);
  });

  it("says ServerUnreachable when nobody answers", async () => {
    const api = new VerityApi({ serverUrl: await closedPortUrl(), token: "vrx_team_token" });
    await assert.rejects(api.createPageCheck({ pageUrl: null, urls: [] }), ServerUnreachable);
  });
});
