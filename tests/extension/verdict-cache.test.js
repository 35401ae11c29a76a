import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { VerdictCache } from "../../extension_api/extension/lib/verdict-cache.js";
import { MemoryStorageArea } from "./helpers/memory-storage.js";

const HOUR = 60 * 60 * 1000;

function clock(start = Date.parse("2026-05-01T12:00:00Z")) {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

const done = (url, band = "likely_ai") => ({
  url,
  status: "done",
  verdict: { band, probability_ai: 0.9 },
  error: null,
});
const failed = (url) => ({
  url,
  status: "failed",
  verdict: null,
  error: { code: "x", message: "" },
});

describe("the verdict cache", () => {
  it("answers a remembered URL, and only that one", async () => {
    const cache = new VerdictCache(new MemoryStorageArea());
    await cache.put([done("https://a.example/1.jpg")]);

    const found = await cache.get(["https://a.example/1.jpg", "https://a.example/2.jpg"]);
    assert.deepEqual([...found.keys()], ["https://a.example/1.jpg"]);
    assert.equal(found.get("https://a.example/1.jpg").verdict.band, "likely_ai");
  });

  it("forgets a verdict when its time is up", async () => {
    const time = clock();
    const cache = new VerdictCache(new MemoryStorageArea(), {
      now: time.now,
      doneTtlMs: 12 * HOUR,
    });
    await cache.put([done("https://a.example/1.jpg")]);

    time.advance(12 * HOUR - 1);
    assert.equal((await cache.get(["https://a.example/1.jpg"])).size, 1);
    time.advance(1);
    assert.equal((await cache.get(["https://a.example/1.jpg"])).size, 0);
  });

  it("keeps failures for minutes, not hours", async () => {
    const time = clock();
    const cache = new VerdictCache(new MemoryStorageArea(), {
      now: time.now,
      failedTtlMs: 600_000,
    });
    await cache.put([failed("https://a.example/broken.jpg")]);

    time.advance(599_999);
    assert.equal((await cache.get(["https://a.example/broken.jpg"])).size, 1);
    time.advance(1);
    assert.equal((await cache.get(["https://a.example/broken.jpg"])).size, 0);
  });

  it("never stores what is not an answer yet", async () => {
    const storage = new MemoryStorageArea();
    const cache = new VerdictCache(storage);
    await cache.put([
      { url: "https://a.example/1.jpg", status: "pending", verdict: null, error: null },
      { url: "https://a.example/2.jpg", status: "unavailable", verdict: null, error: null },
    ]);
    assert.equal(storage.size, 0);
  });

  it("prunes expired entries and then the oldest beyond its size", async () => {
    const time = clock();
    const storage = new MemoryStorageArea();
    await storage.set({ settings: { autoScan: true } });
    const cache = new VerdictCache(storage, { now: time.now, maxEntries: 2, failedTtlMs: HOUR });
    await cache.put([failed("https://a.example/old-failure.jpg")]);
    for (const name of ["1", "2", "3"]) {
      time.advance(60_000);
      await cache.put([done(`https://a.example/${name}.jpg`)]);
    }
    time.advance(HOUR);

    assert.equal(await cache.prune(), 2);
    const left = await cache.get(["1", "2", "3"].map((n) => `https://a.example/${n}.jpg`));
    assert.deepEqual([...left.keys()], ["https://a.example/2.jpg", "https://a.example/3.jpg"]);
    assert.deepEqual(
      await storage.get("settings"),
      { settings: { autoScan: true } },
      "not its own: untouched",
    );
  });

  it("clears its own entries and nothing else", async () => {
    const storage = new MemoryStorageArea();
    await storage.set({ settings: { autoScan: false } });
    const cache = new VerdictCache(storage);
    await cache.put([done("https://a.example/1.jpg"), done("https://a.example/2.jpg")]);

    await cache.clear();
    assert.equal(storage.size, 1);
    assert.equal((await cache.get(["https://a.example/1.jpg"])).size, 0, "nor from memory");
  });

  it("answers a read that began before a write landed with what was written", async () => {
    // Chrome answers a read with what storage held when it began; another tab's answer may be
    // stored while the read is under way, and must not be asked about again.
    const cache = new VerdictCache(new MemoryStorageArea({ readDelayMs: 50 }));
    const reading = cache.get(["https://a.example/1.jpg"]);
    await cache.put([done("https://a.example/1.jpg")]);

    const found = await reading;
    assert.equal(found.get("https://a.example/1.jpg")?.verdict.band, "likely_ai");
  });
});
