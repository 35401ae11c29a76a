import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { Backoff, parseRetryAfter } from "../../extension_api/extension/lib/backoff.js";

/** A clock the test moves by hand. */
function manualClock(start = 1_000_000) {
  let now = start;
  return { now: () => now, advance: (ms) => (now += ms) };
}

describe("backoff", () => {
  it("is open until something fails", () => {
    assert.equal(new Backoff().waitMs(), 0);
  });

  it("doubles the wait with every failure, between half and all of the ceiling", () => {
    const clock = manualClock();
    const low = new Backoff({ baseMs: 1000, now: clock.now, random: () => 0 });
    const high = new Backoff({ baseMs: 1000, now: clock.now, random: () => 0.999999 });
    const lows = [1, 2, 3, 4].map(() => low.recordFailure());
    const highs = [1, 2, 3, 4].map(() => high.recordFailure());

    assert.deepEqual(lows, [500, 1000, 2000, 4000]);
    assert.deepEqual(highs, [1000, 2000, 4000, 8000]);
  });

  it("never waits longer than maxMs on its own account", () => {
    const backoff = new Backoff({ baseMs: 1000, maxMs: 30_000, random: () => 0.999999 });
    for (let i = 0; i < 20; i++) backoff.recordFailure();
    assert.ok(backoff.recordFailure() <= 30_000);
  });

  it("waits exactly as long as the server's Retry-After asks", () => {
    const clock = manualClock();
    const backoff = new Backoff({ now: clock.now });
    backoff.recordFailure({ retryAfterMs: 7000 });

    assert.equal(backoff.waitMs(), 7000);
    clock.advance(6999);
    assert.equal(backoff.waitMs(), 1);
    clock.advance(1);
    assert.equal(backoff.waitMs(), 0);
  });

  it("caps an absurd Retry-After at an hour", () => {
    const backoff = new Backoff();
    assert.equal(backoff.recordFailure({ retryAfterMs: 9e12 }), 60 * 60 * 1000);
  });

  it("forgets everything after a success", () => {
    const backoff = new Backoff({ random: () => 0 });
    backoff.recordFailure();
    backoff.recordFailure();
    backoff.recordSuccess();

    assert.equal(backoff.waitMs(), 0);
    assert.equal(backoff.consecutiveFailures, 0);
    assert.equal(backoff.recordFailure(), 500, "the next failure starts from the base again");
  });
});

describe("reading Retry-After", () => {
  it("reads delay-seconds", () => {
    assert.equal(parseRetryAfter("120"), 120_000);
    assert.equal(parseRetryAfter(" 0 "), 0);
  });

  it("reads an HTTP date relative to now", () => {
    const now = Date.parse("Wed, 21 Oct 2026 07:28:00 GMT");
    assert.equal(parseRetryAfter("Wed, 21 Oct 2026 07:28:30 GMT", now), 30_000);
    assert.equal(parseRetryAfter("Wed, 21 Oct 2026 07:27:00 GMT", now), 0, "a past date: now");
  });

  it("returns null for a missing or unreadable header", () => {
    assert.equal(parseRetryAfter(null), null);
    assert.equal(parseRetryAfter(""), null);
    assert.equal(parseRetryAfter("soon"), null);
  });
});
