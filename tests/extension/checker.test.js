import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { VerityApi } from "../../extension_api/extension/lib/api-client.js";
import { Backoff } from "../../extension_api/extension/lib/backoff.js";
import { Checker } from "../../extension_api/extension/lib/checker.js";
import { Credentials } from "../../extension_api/extension/lib/credentials.js";
import { VerdictCache } from "../../extension_api/extension/lib/verdict-cache.js";
import { startFakeVerity } from "./helpers/fake-verity-server.js";
import { MemoryStorageArea } from "./helpers/memory-storage.js";
import { closedPortUrl } from "./helpers/network.js";

const PAGE = "https://news.example/today";
const tab = (tabId, frameId = 0) => ({ tabId, frameId });
const img = (name) => `https://img.example/${name}`;

/**
 * A Checker wired as the service worker wires it, against `serverUrl`, with every delivery
 * recorded. Bytes for uploads are "read" from a map the test fills.
 */
function checkerFor(
  serverUrl,
  { teamToken = "", bytes = new Map(), cacheStorage = null, ...options } = {},
) {
  const storage = new MemoryStorageArea();
  const credentials = new Credentials({
    storageArea: storage,
    registrarFor: (url) => new VerityApi({ serverUrl: url }),
    extensionVersion: "0.1.0",
  });
  const deliveries = [];
  const bytesRead = [];
  const checker = new Checker({
    cache: new VerdictCache(cacheStorage ?? storage),
    connect: async () =>
      new VerityApi({ serverUrl, token: await credentials.tokenFor({ serverUrl, teamToken }) }),
    rejectToken: (token) => credentials.reject(token),
    deliver: (subscriber, results) => deliveries.push({ subscriber, results }),
    readBytes: async (url, subscribers) => {
      bytesRead.push({ url, subscribers });
      if (!bytes.has(url)) throw new Error(`cannot read ${url}`);
      return bytes.get(url);
    },
    limits: { flushDelayMs: 20 },
    ...options,
  });
  /** The settled result delivered for url to subscriber (waits up to 5 s for it). */
  const answerFor = (url, subscriber = tab(1)) =>
    until(() =>
      deliveries
        .filter(
          (d) =>
            d.subscriber.tabId === subscriber.tabId && d.subscriber.frameId === subscriber.frameId,
        )
        .flatMap((d) => d.results)
        .find((r) => r.url === url),
    );
  return { checker, deliveries, bytesRead, answerFor, storage };
}

async function until(find, timeoutMs = 5000) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const found = find();
    if (found) return found;
    if (Date.now() > deadline) throw new Error("timed out waiting");
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

const ask = (checker, urls, subscriber = tab(1), extra = {}) =>
  checker.request({ urls, subscriber, pageUrl: PAGE, uploadAllowed: true, ...extra });

describe("the checker", () => {
  let server;
  before(async () => {
    server = await startFakeVerity();
  });
  after(() => server.close());

  it("asks about a page's images in one request and delivers each verdict", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    const before = server.requestsTo("/api/v1/extension/page-checks").length;

    const now = await ask(checker, [img("ai-1.jpg"), img("real-1.jpg"), img("ai-1.jpg")]);
    assert.deepEqual(
      now.map((r) => [r.url, r.status]),
      [
        [img("ai-1.jpg"), "pending"],
        [img("real-1.jpg"), "pending"],
      ],
      "duplicates collapse at once",
    );

    assert.equal((await answerFor(img("ai-1.jpg"))).verdict.band, "likely_ai");
    assert.equal((await answerFor(img("real-1.jpg"))).verdict.band, "likely_real");
    const sent = server.requestsTo("/api/v1/extension/page-checks").slice(before);
    assert.equal(sent.length, 1);
    assert.deepEqual(sent[0].body.images, [{ url: img("ai-1.jpg") }, { url: img("real-1.jpg") }]);
    assert.equal(sent[0].body.page_url, PAGE);
  });

  it("asks once for an image shown in several tabs and tells every tab", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    const before = server.requestsTo("/api/v1/extension/page-checks").length;

    await ask(checker, [img("ai-shared.jpg")], tab(1));
    await ask(checker, [img("ai-shared.jpg")], tab(2, 3));

    await answerFor(img("ai-shared.jpg"), tab(1));
    await answerFor(img("ai-shared.jpg"), tab(2, 3));
    const sent = server.requestsTo("/api/v1/extension/page-checks").slice(before);
    assert.deepEqual(
      sent.flatMap((r) => r.body.images),
      [{ url: img("ai-shared.jpg") }],
    );
  });

  it("never sends more than 50 images in one request", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    const before = server.requestsTo("/api/v1/extension/page-checks").length;
    const urls = Array.from({ length: 120 }, (_, i) => img(`real-${i}.jpg`));

    await ask(checker, urls);
    await Promise.all(urls.map((url) => answerFor(url)));
    const sizes = server
      .requestsTo("/api/v1/extension/page-checks")
      .slice(before)
      .map((r) => r.body.images.length);
    assert.deepEqual(sizes, [50, 50, 20]);
  });

  it("asks once when a second tab asks while the first tab's answer is being stored", async () => {
    // Reads answer with what storage held when they began (as a busy Chrome's do): the second
    // tab's read starts before the answer is stored and ends after.
    const cacheStorage = new MemoryStorageArea({ readDelayMs: 300 });
    const { checker, answerFor } = checkerFor(server.url, { cacheStorage });
    const before = server.requestsTo("/api/v1/extension/page-checks").length;

    await ask(checker, [img("ai-landing.jpg")], tab(1));
    const second = ask(checker, [img("ai-landing.jpg")], tab(2));
    await answerFor(img("ai-landing.jpg"), tab(1));
    const [answer] = await second;

    assert.equal(answer.status, "done", "answered from what the first tab's request brought");
    assert.equal(server.requestsTo("/api/v1/extension/page-checks").length - before, 1);
  });

  it("answers from the cache without asking the server again", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    await ask(checker, [img("ai-cached.jpg")]);
    await answerFor(img("ai-cached.jpg"));
    const before = server.requests.length;

    const [again] = await ask(checker, [img("ai-cached.jpg")], tab(9));
    assert.equal(again.status, "done");
    assert.equal(again.verdict.band, "likely_ai");
    await new Promise((resolve) => setTimeout(resolve, 60));
    assert.equal(server.requests.length, before);
  });

  it("long-polls a check until the pending images are done", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    await ask(checker, [img("slow-1.jpg")]);

    const answer = await answerFor(img("slow-1.jpg"));
    assert.equal(answer.status, "done");
    const poll = server.requests.find(
      (r) => r.method === "GET" && r.path.includes("/page-checks/"),
    );
    assert.ok(poll, "it polled");
  });

  it("waits as long as a 429's Retry-After asks, then sends the same images", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    await checker.request({ urls: [], subscriber: tab(1), pageUrl: PAGE, uploadAllowed: true });
    server.answerNext("POST /api/v1/extension/page-checks", {
      status: 429,
      headers: { "Retry-After": "1" },
      json: { error: { code: "throttled", message: "Too many requests." } },
    });
    const startedAt = Date.now();

    await ask(checker, [img("ai-throttled.jpg")]);
    const answer = await answerFor(img("ai-throttled.jpg"));
    assert.equal(answer.status, "done");
    assert.ok(Date.now() - startedAt >= 1000, "not before the server allowed it");
  });

  it("goes quiet while the server is down: unavailable at once, no request per image", async () => {
    const down = await closedPortUrl();
    const { checker, answerFor } = checkerFor(down, {
      teamToken: "vrx_team_token",
      backoff: new Backoff({ baseMs: 60_000 }),
    });

    await ask(checker, [img("ai-a.jpg"), img("ai-b.jpg")]);
    const first = await answerFor(img("ai-a.jpg"));
    assert.equal(first.status, "unavailable");
    assert.ok(first.retryInMs >= 30_000, "and says when trying again may help");
    assert.equal((await answerFor(img("ai-b.jpg"))).status, "unavailable");
    assert.equal(checker.serverStatus().state, "offline");

    const meanwhile = await ask(checker, [img("ai-c.jpg")]);
    assert.equal(meanwhile[0].status, "unavailable", "answered without trying the server");
  });

  it("treats a 5xx like the server being down, and probes again after the backoff", async () => {
    const { checker, answerFor } = checkerFor(server.url, {
      backoff: new Backoff({ baseMs: 100 }),
    });
    server.answerNext("POST /api/v1/extension/page-checks", { status: 503 });

    await ask(checker, [img("ai-503.jpg")]);
    assert.equal((await answerFor(img("ai-503.jpg"))).status, "unavailable");
    await new Promise((resolve) => setTimeout(resolve, 120));
    await ask(checker, [img("ai-after-503.jpg")]);
    assert.equal((await answerFor(img("ai-after-503.jpg"))).status, "done");
    assert.equal(checker.serverStatus().state, "ok");
  });

  it("registers again when the server revoked this browser's token", async () => {
    const { checker, answerFor, storage } = checkerFor(server.url);
    await ask(checker, [img("real-before.jpg")]);
    await answerFor(img("real-before.jpg"));
    const { install } = await storage.get("install");
    server.revokeToken(install.token);

    await ask(checker, [img("real-after.jpg")]);
    assert.equal((await answerFor(img("real-after.jpg"))).status, "done");
    assert.notEqual((await storage.get("install")).install.token, install.token);
  });

  it("reports a refused team token instead of registering behind the person's back", async () => {
    const { checker, answerFor } = checkerFor(server.url, { teamToken: "vrx_wrong" });
    const registrations = server.requestsTo("/api/v1/extension/installs").length;

    await ask(checker, [img("ai-team.jpg")]);
    const answer = await answerFor(img("ai-team.jpg"));
    assert.equal(answer.status, "unavailable");
    assert.equal(answer.error.code, "token_invalid");
    assert.equal(checker.serverStatus().state, "token_invalid");
    assert.equal(server.requestsTo("/api/v1/extension/installs").length, registrations);
  });

  it("uploads the bytes itself when the server cannot fetch an image", async () => {
    const url = img("private-ai-1.jpg");
    const bytes = new Map([[url, new Blob([new Uint8Array(10)], { type: "image/jpeg" })]]);
    const { checker, answerFor, bytesRead } = checkerFor(server.url, { bytes });

    await ask(checker, [url]);
    const answer = await answerFor(url);
    assert.equal(answer.status, "done");
    assert.equal(answer.verdict.band, "likely_ai");
    assert.deepEqual(
      bytesRead.map((r) => r.url),
      [url],
    );
    const upload = server.requestsTo("/api/v1/extension/uploads").at(-1).body;
    assert.equal(upload.src, url);
    assert.equal(upload.image.size, 10);
  });

  it("keeps the server's failure when uploading could not help", async () => {
    const url = img("huge-1.jpg");
    const bytes = new Map([[url, new Blob([new Uint8Array(10)], { type: "image/jpeg" })]]);
    const { checker, answerFor, bytesRead } = checkerFor(server.url, { bytes });

    await ask(checker, [url]);
    assert.equal((await answerFor(url)).error.code, "too_large");
    assert.deepEqual(bytesRead, []);
  });

  it("uploads blob: images straight away, reading the bytes in the tab that shows them", async () => {
    const url = "blob:https://news.example/7c0c1f50-2ee1-4c1e-b1a8-62b0a4b51f10";
    const bytes = new Map([[url, new Blob([new Uint8Array(64)], { type: "image/png" })]]);
    const { checker, answerFor, bytesRead } = checkerFor(server.url, { bytes });
    const pageChecks = server.requestsTo("/api/v1/extension/page-checks").length;

    await ask(checker, [url], tab(4, 2));
    assert.equal((await answerFor(url, tab(4, 2))).status, "done");
    assert.deepEqual(bytesRead, [{ url, subscribers: [tab(4, 2)] }]);
    assert.equal(server.requestsTo("/api/v1/extension/page-checks").length, pageChecks);
  });

  it("respects a person who turned uploads off", async () => {
    const { checker, answerFor, bytesRead } = checkerFor(server.url);

    const [blob] = await ask(checker, ["blob:https://news.example/x"], tab(1), {
      uploadAllowed: false,
    });
    assert.equal(blob.status, "failed");
    assert.equal(blob.error.code, "upload_disabled");

    await ask(checker, [img("private-2.jpg")], tab(1), { uploadAllowed: false });
    const answer = await answerFor(img("private-2.jpg"));
    assert.equal(answer.error.code, "http_status", "the server's own answer stands");
    assert.deepEqual(bytesRead, []);
  });

  it("fails an upload quietly when the bytes cannot be read", async () => {
    const { checker, answerFor } = checkerFor(server.url);
    await ask(checker, ["blob:https://news.example/revoked"]);

    const answer = await answerFor("blob:https://news.example/revoked");
    assert.equal(answer.status, "failed");
    assert.equal(answer.error.code, "bytes_unavailable");
  });
});
