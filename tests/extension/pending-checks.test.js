import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { PendingChecks } from "../../extension_api/extension/lib/pending-checks.js";

const tab = (tabId, frameId = 0) => ({ tabId, frameId });
const page = "https://news.example/today";

function add(pending, url, overrides = {}) {
  return pending.add(url, {
    subscriber: tab(1),
    pageUrl: page,
    route: "page-check",
    uploadAllowed: true,
    ...overrides,
  });
}

describe("pending checks", () => {
  it("asks about a URL once, however many tabs wait for it", () => {
    const pending = new PendingChecks();
    assert.equal(add(pending, "https://img.example/a.jpg", { subscriber: tab(1) }), true);
    assert.equal(add(pending, "https://img.example/a.jpg", { subscriber: tab(2) }), false);
    assert.equal(add(pending, "https://img.example/a.jpg", { subscriber: tab(2) }), false);

    const job = pending.nextJob(50);
    assert.deepEqual(job.urls, ["https://img.example/a.jpg"]);
    assert.deepEqual(pending.settle("https://img.example/a.jpg"), [tab(1), tab(2)]);
  });

  it("batches up to the size limit, oldest first", () => {
    const pending = new PendingChecks();
    for (let i = 0; i < 120; i++) add(pending, `https://img.example/${i}.jpg`);

    const sizes = [];
    for (let job = pending.nextJob(50); job; job = pending.nextJob(50)) sizes.push(job.urls.length);
    assert.deepEqual(sizes, [50, 50, 20]);
  });

  it("keeps one page per page check, and uploads one by one", () => {
    const pending = new PendingChecks();
    add(pending, "https://img.example/1.jpg");
    add(pending, "blob:https://news.example/b1", { route: "upload" });
    add(pending, "https://img.example/2.jpg", { pageUrl: "https://other.example/" });
    add(pending, "https://img.example/3.jpg");
    add(pending, "blob:https://news.example/b2", { route: "upload" });

    const jobs = [];
    for (let job = pending.nextJob(50); job; job = pending.nextJob(50)) jobs.push(job);
    assert.deepEqual(
      jobs.map(({ kind, pageUrl, urls }) => [kind, pageUrl, urls.map((u) => u.split("/").pop())]),
      [
        ["page-check", page, ["1.jpg", "3.jpg"]],
        ["upload", page, ["b1"]],
        ["page-check", "https://other.example/", ["2.jpg"]],
        ["upload", page, ["b2"]],
      ],
    );
  });

  it("knows which URLs of a job are still unanswered", () => {
    const pending = new PendingChecks();
    add(pending, "https://img.example/1.jpg");
    add(pending, "https://img.example/2.jpg");
    const job = pending.nextJob(50);
    pending.settle("https://img.example/1.jpg");

    assert.deepEqual(pending.unsettledOf(job), ["https://img.example/2.jpg"]);
  });

  it("does not let a finished job touch the same URL asked again later", () => {
    const pending = new PendingChecks();
    add(pending, "https://img.example/1.jpg");
    const first = pending.nextJob(50);
    pending.settle("https://img.example/1.jpg");
    add(pending, "https://img.example/1.jpg");
    const second = pending.nextJob(50);

    assert.deepEqual(pending.unsettledOf(first), []);
    assert.deepEqual(pending.unsettledOf(second), ["https://img.example/1.jpg"]);
  });

  it("requeues a URL, by another route if need be", () => {
    const pending = new PendingChecks();
    add(pending, "http://intranet.example/private-a.jpg");
    pending.nextJob(50);
    assert.equal(pending.queuedCount, 0);

    pending.requeue(["http://intranet.example/private-a.jpg"], "upload");
    const job = pending.nextJob(50);
    assert.equal(job.kind, "upload");
  });

  it("forgets a closed tab, dropping queued URLs nobody waits for", () => {
    const pending = new PendingChecks();
    add(pending, "https://img.example/sent.jpg", { subscriber: tab(7) });
    const job = pending.nextJob(50);
    add(pending, "https://img.example/queued-7.jpg", { subscriber: tab(7) });
    add(pending, "https://img.example/queued-both.jpg", { subscriber: tab(7) });
    add(pending, "https://img.example/queued-both.jpg", { subscriber: tab(8) });

    pending.forgetTab(7);
    assert.deepEqual(pending.queuedUrls(), ["https://img.example/queued-both.jpg"]);
    assert.deepEqual(pending.unsettledOf(job), ["https://img.example/sent.jpg"], "in flight: kept");
    assert.deepEqual(pending.settle("https://img.example/queued-both.jpg"), [tab(8)]);
  });
});
