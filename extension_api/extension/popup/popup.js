/**
 * The toolbar popup: what Verity found on this page, the per-site switch, and the server's
 * state. The page's numbers come from its content script; the rest from storage and the worker.
 */

import { MESSAGE } from "../lib/messages.js";
import { isAutoScanOn, loadSettings, SETTINGS_KEY, withSiteSwitched } from "../lib/settings.js";

/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/**
 * The tab the popup is about: the active one, or ?tab=<id> (how the browser tests open it).
 * @returns {Promise<chrome.tabs.Tab | undefined>}
 */
async function targetTab() {
  const asked = new URLSearchParams(location.search).get("tab");
  if (asked) return chrome.tabs.get(Number(asked));
  const [active] = await chrome.tabs.query({ active: true, currentWindow: true });
  return active;
}

/** @param {chrome.tabs.Tab} tab */
async function showPageSummary(tab) {
  /** @type {import("../lib/messages.js").PageSummary | null} */
  const summary = await chrome.tabs
    .sendMessage(/** @type {number} */ (tab.id), { type: MESSAGE.GET_PAGE_SUMMARY }, { frameId: 0 })
    .catch(() => null);
  byId("page-unsupported").hidden = summary !== null;
  byId("page-summary").hidden = summary === null;
  if (!summary) return;
  byId("count-checked").textContent = String(summary.checked);
  byId("count-flagged").textContent = String(summary.flagged);
  byId("count-inconclusive").textContent = String(summary.inconclusive);
  const notes = [];
  if (summary.waiting > 0) notes.push(`${summary.waiting} being checked`);
  if (summary.unavailable > 0) notes.push(`${summary.unavailable} could not be checked`);
  if (!summary.scanning)
    notes.push("automatic checks are off here; right-click an image to check it");
  byId("page-waiting").hidden = notes.length === 0;
  byId("page-waiting").textContent = notes.join(" · ");
}

/** @param {string} hostname */
async function showSiteSwitch(hostname) {
  const settings = await loadSettings(chrome.storage.local);
  const toggle = /** @type {HTMLInputElement} */ (byId("site-switch"));
  byId("site-host").textContent = hostname;
  byId("site-switch-row").hidden = false;
  toggle.checked = isAutoScanOn(settings, hostname);
  toggle.addEventListener("change", async () => {
    const current = await loadSettings(chrome.storage.local);
    const next = withSiteSwitched(current, hostname, toggle.checked);
    await chrome.storage.local.set({ [SETTINGS_KEY]: next });
  });
}

const SERVER_STATES = {
  idle: "",
  ok: "Connected to the Verity server.",
  offline: "The Verity server cannot be reached; Verity stays quiet and tries again later.",
  rate_limited: "The Verity server asked to slow down; checks resume shortly.",
  token_invalid: "The server refused this browser's token. Check the token in Options.",
};

async function showServerStatus() {
  const status = await chrome.runtime.sendMessage({ type: MESSAGE.GET_STATUS }).catch(() => null);
  const state = /** @type {keyof typeof SERVER_STATES} */ (status?.server?.state ?? "idle");
  const line = byId("server-status");
  line.textContent = SERVER_STATES[state] ?? "";
  line.classList.toggle("problem", state === "offline" || state === "token_invalid");
}

async function main() {
  byId("open-options").addEventListener("click", (event) => {
    event.preventDefault();
    chrome.runtime.openOptionsPage();
  });
  const tab = await targetTab();
  const url = tab?.url ? new URL(tab.url) : null;
  const webPage =
    tab?.id !== undefined && (url?.protocol === "http:" || url?.protocol === "https:");
  if (!webPage || !tab || !url) {
    byId("page-unsupported").hidden = false;
    await showServerStatus();
    return;
  }
  await Promise.all([showPageSummary(tab), showSiteSwitch(url.hostname), showServerStatus()]);
  // Pictures keep arriving while the popup is open (scrolling, slow verdicts).
  setInterval(() => Promise.all([showPageSummary(tab), showServerStatus()]), 1000);
}

main();
