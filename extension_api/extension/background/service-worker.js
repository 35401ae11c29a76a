/**
 * The service worker: the only part that talks to the Verity server. It wires Chrome's events
 * to the Checker (batching, cache, backoff: lib/checker.js) and reads image bytes for uploads.
 * MV3 suspends it after ~30 s idle, so it keeps nothing that matters only in memory: verdicts
 * and the install token live in chrome.storage.local; content scripts re-ask what got lost.
 */

import { VerityApi } from "../lib/api-client.js";
import { Checker } from "../lib/checker.js";
import { Credentials } from "../lib/credentials.js";
import { dataUrlToBlob, fetchImageBytes } from "../lib/image-bytes.js";
import { MESSAGE } from "../lib/messages.js";
import { loadSettings, SETTINGS_KEY } from "../lib/settings.js";
import { VerdictCache } from "../lib/verdict-cache.js";

/** @typedef {import("../lib/settings.js").Settings} Settings */

const CONTEXT_MENU_ID = "verity-check-image";
const storageArea = chrome.storage.local;
const cache = new VerdictCache(storageArea);
const credentials = new Credentials({
  storageArea,
  registrarFor: (serverUrl) => new VerityApi({ serverUrl }),
  extensionVersion: chrome.runtime.getManifest().version,
});

let checker = newChecker();

function newChecker() {
  return new Checker({
    cache,
    connect: async () => {
      const settings = await loadSettings(storageArea);
      const token = await credentials.tokenFor(settings);
      return new VerityApi({ serverUrl: settings.serverUrl, token });
    },
    rejectToken: (token) => credentials.reject(token),
    deliver: ({ tabId, frameId }, results) => {
      chrome.tabs.sendMessage(tabId, { type: MESSAGE.RESULTS, results }, { frameId }).catch(() => {
        // The tab closed or navigated away: nobody is left to tell.
      });
    },
    readBytes,
  });
}

/**
 * Bytes for an upload: a blob: URL lives in its page, so the page's content script reads it;
 * anything else the worker fetches itself, with the person's cookies.
 * @param {string} url
 * @param {import("../lib/pending-checks.js").Subscriber[]} subscribers
 */
async function readBytes(url, subscribers) {
  if (!url.startsWith("blob:")) return fetchImageBytes(url);
  for (const { tabId, frameId } of subscribers) {
    const answer = await chrome.tabs
      .sendMessage(tabId, { type: MESSAGE.READ_BYTES, url }, { frameId })
      .catch(() => null);
    if (answer?.dataUrl) return dataUrlToBlob(answer.dataUrl);
  }
  throw new Error("The page that showed this image is gone.");
}

/** @type {Record<string, (message: any, sender: chrome.runtime.MessageSender) => Promise<unknown>>} */
const handlers = {
  [MESSAGE.CHECK_IMAGES]: async ({ urls }, sender) => {
    if (sender.tab?.id === undefined || !Array.isArray(urls)) return { results: [] };
    const settings = await loadSettings(storageArea);
    const results = await checker.request({
      urls: urls.filter((url) => typeof url === "string"),
      subscriber: { tabId: sender.tab.id, frameId: sender.frameId ?? 0 },
      pageUrl: settings.sendPageUrls ? (sender.tab.url ?? sender.url ?? null) : null,
      uploadAllowed: settings.uploadPrivateImages,
    });
    return { results };
  },
  [MESSAGE.PAGE_SUMMARY]: async ({ summary }, sender) => {
    if (sender.tab?.id === undefined || sender.frameId !== 0) return null;
    await showFlaggedCount(sender.tab.id, Number(summary?.flagged) || 0);
    return null;
  },
  [MESSAGE.GET_STATUS]: async () => {
    const install = await credentials.install();
    const settings = await loadSettings(storageArea);
    return {
      server: checker.serverStatus(),
      // Never the token itself: it was shown once, to the worker.
      install: install && {
        serverUrl: install.serverUrl,
        installId: install.installId,
        registeredAt: install.registeredAt,
      },
      usingTeamToken: settings.teamToken !== "",
    };
  },
  [MESSAGE.CLEAR_CACHE]: async () => {
    await cache.clear();
    return { cleared: true };
  },
};

chrome.runtime.onMessage.addListener((message, sender, sendResponse) => {
  const handle = handlers[message?.type];
  if (!handle) return false;
  handle(message, sender).then(sendResponse, (error) => {
    console.error("Verity: could not handle", message.type, error);
    sendResponse({ error: String(error) });
  });
  return true; // the answer comes asynchronously
});

/** The toolbar icon shows how many images on the page look AI-generated. */
async function showFlaggedCount(/** @type {number} */ tabId, /** @type {number} */ flagged) {
  await chrome.action.setBadgeBackgroundColor({ tabId, color: "#b3261e" });
  await chrome.action.setBadgeText({ tabId, text: flagged > 0 ? String(flagged) : "" });
}

/**
 * "Check this image with Verity": works on any image, whether or not auto-scan is on. Pages
 * opened before Verity was installed (and frames) have no content script yet; it is added.
 * @param {chrome.contextMenus.OnClickData} info
 * @param {chrome.tabs.Tab | undefined} tab
 */
async function onContextMenuClicked(info, tab) {
  if (info.menuItemId !== CONTEXT_MENU_ID || tab?.id === undefined || !info.srcUrl) return;
  const frameId = info.frameId ?? 0;
  const message = { type: MESSAGE.CONTEXT_CHECK, url: info.srcUrl };
  if (await sendToFrame(tab.id, frameId, message)) return;
  await chrome.scripting.executeScript({
    target: { tabId: tab.id, frameIds: [frameId] },
    files: ["content/loader.js"],
  });
  for (let attempt = 0; attempt < 20; attempt++) {
    await new Promise((resolve) => setTimeout(resolve, 100)); // the loader imports its modules
    if (await sendToFrame(tab.id, frameId, message)) return;
  }
}

/**
 * @param {number} tabId
 * @param {number} frameId
 * @param {object} message
 * @returns {Promise<boolean>} whether a content script took it
 */
async function sendToFrame(tabId, frameId, message) {
  try {
    return (await chrome.tabs.sendMessage(tabId, message, { frameId })) === true;
  } catch {
    return false;
  }
}

chrome.contextMenus.onClicked.addListener(onContextMenuClicked);

chrome.runtime.onInstalled.addListener(async () => {
  // Menus outlive the worker but not an update, which installs anew: start from none.
  await chrome.contextMenus.removeAll();
  chrome.contextMenus.create({
    id: CONTEXT_MENU_ID,
    title: "Check this image with Verity",
    contexts: ["image"],
  });
  cache.prune().catch((error) => console.warn("Verity: could not prune the cache", error));
});

chrome.runtime.onStartup.addListener(() => {
  cache.prune().catch((error) => console.warn("Verity: could not prune the cache", error));
});

chrome.tabs.onRemoved.addListener((tabId) => checker.forgetTab(tabId));

chrome.storage.onChanged.addListener((changes, area) => {
  if (area !== "local" || !changes[SETTINGS_KEY]) return;
  const change = /** @type {{ oldValue?: Partial<Settings>, newValue?: Partial<Settings> }} */ (
    changes[SETTINGS_KEY]
  );
  const { oldValue = {}, newValue = {} } = change;
  if (oldValue.serverUrl !== newValue.serverUrl || oldValue.teamToken !== newValue.teamToken) {
    checker = newChecker(); // another server or token: its backoff and queue start afresh
  }
});

// For the browser tests (tests/extension/): context menus cannot be clicked headless.
Object.assign(globalThis, { verity: { onContextMenuClicked, contextMenuId: CONTEXT_MENU_ID } });
