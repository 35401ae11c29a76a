/**
 * The options page: one form over the settings object (lib/settings.js), saved on submit.
 */

import { MESSAGE } from "../lib/messages.js";
import { loadSettings, normalizeServerUrl, SETTINGS_KEY, siteRuleHost } from "../lib/settings.js";

const form = /** @type {HTMLFormElement} */ (document.getElementById("options"));
/** @param {string} name */
const field = (name) => /** @type {HTMLInputElement} */ (form.elements.namedItem(name));
/** @param {string} id */
const byId = (id) => /** @type {HTMLElement} */ (document.getElementById(id));

/** @param {import("../lib/settings.js").Settings} settings */
function fill(settings) {
  field("serverUrl").value = settings.serverUrl;
  field("teamToken").value = settings.teamToken;
  field("autoScan").checked = settings.autoScan;
  field("allowedSites").value = settings.allowedSites.join("\n");
  field("blockedSites").value = settings.blockedSites.join("\n");
  field("sendPageUrls").checked = settings.sendPageUrls;
  field("uploadPrivateImages").checked = settings.uploadPrivateImages;
  const realImageBadge = /** @type {RadioNodeList} */ (form.elements.namedItem("realImageBadge"));
  realImageBadge.value = settings.realImageBadge;
}

/** @param {string} text one site per line; lines that name no host are dropped */
function siteLines(text) {
  const hosts = text
    .split(/\s*[\n,]\s*/)
    .map(siteRuleHost)
    .filter((host) => host !== null);
  return [...new Set(hosts)];
}

/** @returns {import("../lib/settings.js").Settings | null} null when the form has an error */
function read() {
  const serverUrl = normalizeServerUrl(field("serverUrl").value);
  byId("server-url-error").hidden = serverUrl !== null;
  field("serverUrl").setAttribute("aria-invalid", String(serverUrl === null));
  if (serverUrl === null) return null;
  const realImageBadge = /** @type {RadioNodeList} */ (form.elements.namedItem("realImageBadge"));
  return {
    serverUrl,
    teamToken: field("teamToken").value.trim(),
    autoScan: field("autoScan").checked,
    allowedSites: siteLines(field("allowedSites").value),
    blockedSites: siteLines(field("blockedSites").value),
    sendPageUrls: field("sendPageUrls").checked,
    uploadPrivateImages: field("uploadPrivateImages").checked,
    realImageBadge: realImageBadge.value === "faint" ? "faint" : "hidden",
  };
}

async function showInstallStatus() {
  const status = await chrome.runtime.sendMessage({ type: MESSAGE.GET_STATUS }).catch(() => null);
  const line = byId("install-status");
  if (status?.usingTeamToken) line.textContent = "Using the team token.";
  else if (status?.install) {
    const since = new Date(status.install.registeredAt).toLocaleString();
    line.textContent = `This browser is registered with ${status.install.serverUrl} (since ${since}).`;
  } else
    line.textContent = "This browser registers with the server the first time it checks an image.";
}

async function main() {
  fill(await loadSettings(chrome.storage.local));
  await showInstallStatus();

  form.addEventListener("submit", async (event) => {
    event.preventDefault();
    const settings = read();
    if (!settings) {
      field("serverUrl").focus();
      return;
    }
    await chrome.storage.local.set({ [SETTINGS_KEY]: settings });
    fill(settings); // shows the lists as they were understood
    byId("saved").textContent = "Saved.";
    setTimeout(() => (byId("saved").textContent = ""), 2500);
    await showInstallStatus();
  });

  byId("toggle-token").addEventListener("click", () => {
    const token = field("teamToken");
    token.type = token.type === "password" ? "text" : "password";
    byId("toggle-token").textContent = token.type === "password" ? "Show" : "Hide";
  });

  byId("clear-cache").addEventListener("click", async () => {
    await chrome.runtime.sendMessage({ type: MESSAGE.CLEAR_CACHE });
    byId("cache-cleared").textContent = "Cleared.";
  });
}

main();
