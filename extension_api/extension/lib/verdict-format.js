/**
 * What a person reads about a verdict: the words on a badge and in its details card. Plain
 * functions of the verdict, so the content script, the popup and the tests agree on them.
 */

/** @typedef {import("./check-results.js").Verdict} Verdict */

const BAND_TITLES = Object.freeze({
  likely_ai: "Likely AI-generated",
  inconclusive: "Inconclusive",
  likely_real: "Likely not AI-generated",
});

/** Known reasons for abstaining, in words; unknown codes are shown as they come. */
const ABSTAIN_REASONS = Object.freeze({
  no_model_in_scope: "No detector covers an image of this size or kind.",
  models_disagree: "The detectors disagree about this image.",
  unstable_under_jpeg: "The score changes too much when the image is re-compressed.",
  too_small: "The image is too small to judge reliably.",
  out_of_distribution: "This image is unlike anything the detectors were trained on.",
  near_threshold: "The probability is too close to the decision threshold.",
});

/** @param {string} band */
export function bandTitle(band) {
  return BAND_TITLES[/** @type {keyof typeof BAND_TITLES} */ (band)] ?? band;
}

/**
 * "97%" — whole percents, except that nothing is ever rounded to a certain 0% or 100%.
 * @param {number} probability in [0, 1]
 */
export function percent(probability) {
  const rounded = Math.round(probability * 100);
  if (rounded >= 100 && probability < 1) return ">99%";
  if (rounded <= 0 && probability > 0) return "<1%";
  return `${rounded}%`;
}

/** @param {Verdict} verdict the short text on the badge itself */
export function badgeText(verdict) {
  if (verdict.band === "likely_ai") return `AI ${percent(verdict.probability_ai)}`;
  if (verdict.band === "inconclusive") return "?";
  return "✓";
}

/** @param {Verdict} verdict what a screen reader announces for the badge */
export function badgeLabel(verdict) {
  const chance = percent(verdict.probability_ai);
  return `Verity: ${bandTitle(verdict.band)} (${chance} chance of AI). Show details.`;
}

/** @param {string | null} code */
export function abstainReasonText(code) {
  if (!code) return null;
  return ABSTAIN_REASONS[/** @type {keyof typeof ABSTAIN_REASONS} */ (code)] ?? code;
}

/**
 * One row per model, in the server's order; a model that did not run (null) says why not.
 * @param {Verdict} verdict
 * @returns {{ model: string, score: string }[]}
 */
export function modelScoreRows(verdict) {
  return Object.entries(verdict.model_scores ?? {}).map(([model, score]) => ({
    model,
    score: typeof score === "number" ? percent(score) : notRunReason(model, verdict),
  }));
}

/**
 * @param {string} model
 * @param {Verdict} verdict
 */
function notRunReason(model, verdict) {
  return model === "face" && !verdict.face_found ? "no face found" : "not run";
}

/**
 * The sentence at the top of the details card.
 * @param {Verdict} verdict
 */
export function summarySentence(verdict) {
  // With no detector in scope the probability is only the prior: saying it would mislead.
  if (verdict.abstain_reason === "no_model_in_scope") {
    return "Verity cannot judge this image: no detector covers an image of this size or kind.";
  }
  return `Verity estimates a ${percent(verdict.probability_ai)} chance that this image is AI-generated.`;
}

/**
 * @typedef {"ai" | "inconclusive" | "real" | "checking" | "problem"} BadgeKind
 */

/**
 * Which badge, if any, an image gets. Quiet by default: only verdicts are shown while scanning;
 * an image the person asked about (context menu) always shows what happened to it.
 * @param {import("./check-results.js").CheckResult} result
 * @param {{ realImageBadge: "hidden" | "faint", explicit: boolean }} options
 * @returns {BadgeKind | null}
 */
export function badgeKind(result, { realImageBadge, explicit }) {
  if (result.status === "done" && result.verdict) {
    const band = result.verdict.band;
    if (band === "likely_ai") return "ai";
    if (band === "inconclusive") return "inconclusive";
    return explicit || realImageBadge === "faint" ? "real" : null;
  }
  if (!explicit) return null;
  return result.status === "pending" ? "checking" : "problem";
}
