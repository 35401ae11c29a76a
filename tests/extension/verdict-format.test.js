import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  abstainReasonText,
  badgeKind,
  badgeLabel,
  badgeText,
  bandTitle,
  modelScoreRows,
  percent,
  summarySentence,
} from "../../extension_api/extension/lib/verdict-format.js";

const verdict = {
  probability_ai: 0.97,
  band: "likely_ai",
  model_version: "verity-ensemble-1.0.0",
  model_scores: { cnn: 0.9, resnet50: 0.951, face: null },
  face_found: false,
  abstain_reason: null,
  created_at: "2026-05-01T12:00:00Z",
  image_sha256: "ab".repeat(32),
  history_url: "http://127.0.0.1:8000/images/abab/",
};

describe("how a verdict reads", () => {
  it("rounds to whole percents but never claims certainty", () => {
    assert.equal(percent(0.97), "97%");
    assert.equal(percent(0.996), ">99%");
    assert.equal(percent(1), "100%");
    assert.equal(percent(0.004), "<1%");
    assert.equal(percent(0), "0%");
  });

  it("marks likely AI clearly, inconclusive discreetly, likely real with a faint tick", () => {
    assert.equal(badgeText(verdict), "AI 97%");
    assert.equal(badgeText({ ...verdict, band: "inconclusive" }), "?");
    assert.equal(badgeText({ ...verdict, band: "likely_real" }), "✓");
  });

  it("gives screen readers the whole finding", () => {
    assert.equal(
      badgeLabel(verdict),
      "Verity: Likely AI-generated (97% chance of AI). Show details.",
    );
  });

  it("names the bands for people", () => {
    assert.equal(bandTitle("likely_real"), "Likely not AI-generated");
    assert.equal(bandTitle("something_new"), "something_new");
  });

  it("lists every model's score, saying why one did not run", () => {
    assert.deepEqual(modelScoreRows(verdict), [
      { model: "cnn", score: "90%" },
      { model: "resnet50", score: "95%" },
      { model: "face", score: "no face found" },
    ]);
    assert.deepEqual(modelScoreRows({ ...verdict, face_found: true })[2], {
      model: "face",
      score: "not run",
    });
  });

  it("explains known abstain reasons and passes unknown ones through", () => {
    assert.equal(abstainReasonText(null), null);
    assert.match(abstainReasonText("models_disagree"), /disagree/);
    assert.match(abstainReasonText("no_model_in_scope"), /No detector covers/);
    assert.equal(abstainReasonText("new_reason"), "new_reason");
  });

  it("opens the details card with one plain sentence", () => {
    assert.equal(
      summarySentence(verdict),
      "Verity estimates a 97% chance that this image is AI-generated.",
    );
  });

  it("gives no percentage when no detector could judge the image", () => {
    const unjudged = {
      ...verdict,
      band: "inconclusive",
      probability_ai: 0.51,
      abstain_reason: "no_model_in_scope",
    };
    assert.doesNotMatch(summarySentence(unjudged), /%/);
    assert.match(summarySentence(unjudged), /cannot judge this image/);
  });
});

describe("which badge an image gets", () => {
  const done = (band) => ({ url: "u", status: "done", verdict: { ...verdict, band }, error: null });
  const state = (status) => ({ url: "u", status, verdict: null, error: null });
  const scanning = { realImageBadge: "hidden", explicit: false };

  it("marks likely AI and inconclusive images while scanning", () => {
    assert.equal(badgeKind(done("likely_ai"), scanning), "ai");
    assert.equal(badgeKind(done("inconclusive"), scanning), "inconclusive");
  });

  it("leaves likely real images alone unless the person wants a faint mark", () => {
    assert.equal(badgeKind(done("likely_real"), scanning), null);
    assert.equal(badgeKind(done("likely_real"), { ...scanning, realImageBadge: "faint" }), "real");
  });

  it("stays silent about waiting and trouble while scanning", () => {
    for (const status of ["pending", "failed", "unavailable"]) {
      assert.equal(badgeKind(state(status), scanning), null, status);
    }
  });

  it("always answers an image the person asked about", () => {
    const asked = { realImageBadge: "hidden", explicit: true };
    assert.equal(badgeKind(done("likely_real"), asked), "real");
    assert.equal(badgeKind(state("pending"), asked), "checking");
    assert.equal(badgeKind(state("unavailable"), asked), "problem");
    assert.equal(badgeKind(state("failed"), asked), "problem");
  });
});
