import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  DEFAULT_SETTINGS,
  isAutoScanOn,
  loadSettings,
  normalizeServerUrl,
  siteRuleHost,
  withDefaults,
  withSiteSwitched,
} from "../../extension_api/extension/lib/settings.js";
import { MemoryStorageArea } from "./helpers/memory-storage.js";

describe("settings", () => {
  it("starts privacy-first: page URLs stay in the browser until the person opts in", () => {
    assert.equal(DEFAULT_SETTINGS.sendPageUrls, false);
    assert.equal(DEFAULT_SETTINGS.serverUrl, "http://127.0.0.1:8000");
  });

  it("loads the defaults when nothing is stored", async () => {
    assert.deepEqual(await loadSettings(new MemoryStorageArea()), DEFAULT_SETTINGS);
  });

  it("keeps stored values of the right type and drops the rest", () => {
    const settings = withDefaults({
      autoScan: false,
      blockedSites: ["bank.example"],
      serverUrl: 42,
      realImageBadge: "sparkles",
      somethingOld: true,
    });
    assert.equal(settings.autoScan, false);
    assert.deepEqual(settings.blockedSites, ["bank.example"]);
    assert.equal(settings.serverUrl, DEFAULT_SETTINGS.serverUrl);
    assert.equal(settings.realImageBadge, "hidden");
    assert.equal("somethingOld" in settings, false);
  });

  it("accepts http(s) server URLs without a trailing slash and refuses the rest", () => {
    assert.equal(normalizeServerUrl(" https://verity.example.org/ "), "https://verity.example.org");
    assert.equal(
      normalizeServerUrl("http://127.0.0.1:8000/verity/"),
      "http://127.0.0.1:8000/verity",
    );
    assert.equal(normalizeServerUrl("ftp://verity.example.org"), null);
    assert.equal(normalizeServerUrl("https://user:secret@verity.example.org"), null);
    assert.equal(normalizeServerUrl("verity"), null);
  });
});

describe("site rules", () => {
  const settings = (overrides) => ({ ...DEFAULT_SETTINGS, ...overrides });

  it("reads a rule as a host, however it was typed", () => {
    assert.equal(siteRuleHost("Example.COM"), "example.com");
    assert.equal(siteRuleHost("*.example.com"), "example.com");
    assert.equal(siteRuleHost("https://news.example.com/world?x=1"), "news.example.com");
    assert.equal(siteRuleHost("   "), null);
  });

  it("follows the global switch where no rule speaks", () => {
    assert.equal(isAutoScanOn(settings({ autoScan: true }), "any.example"), true);
    assert.equal(isAutoScanOn(settings({ autoScan: false }), "any.example"), false);
  });

  it("applies a rule to the host and its subdomains, not to look-alikes", () => {
    const rules = settings({ blockedSites: ["bank.example"] });
    assert.equal(isAutoScanOn(rules, "bank.example"), false);
    assert.equal(isAutoScanOn(rules, "login.bank.example"), false);
    assert.equal(isAutoScanOn(rules, "notbank.example"), true);
  });

  it("lets the most specific rule win, and blocking win a tie", () => {
    const rules = settings({
      autoScan: false,
      blockedSites: ["example.com", "both.example.org"],
      allowedSites: ["news.example.com", "both.example.org"],
    });
    assert.equal(isAutoScanOn(rules, "news.example.com"), true);
    assert.equal(isAutoScanOn(rules, "shop.example.com"), false);
    assert.equal(isAutoScanOn(rules, "both.example.org"), false);
  });

  it("flips one site from the popup and shows it as a rule", () => {
    const off = withSiteSwitched(settings({ autoScan: true }), "Photos.Example", false);
    assert.deepEqual(off.blockedSites, ["photos.example"]);
    assert.equal(isAutoScanOn(off, "photos.example"), false);

    const onAgain = withSiteSwitched(off, "photos.example", true);
    assert.deepEqual(onAgain.blockedSites, []);
    assert.deepEqual(onAgain.allowedSites, [], "removing the block is enough when scanning is on");
    assert.equal(isAutoScanOn(onAgain, "photos.example"), true);
  });

  it("turns a site on against a blocked parent domain or a global off", () => {
    const blockedParent = settings({ blockedSites: ["example.com"] });
    const on = withSiteSwitched(blockedParent, "news.example.com", true);
    assert.equal(isAutoScanOn(on, "news.example.com"), true);
    assert.equal(isAutoScanOn(on, "shop.example.com"), false);

    const globalOff = withSiteSwitched(settings({ autoScan: false }), "a.example", true);
    assert.deepEqual(globalOff.allowedSites, ["a.example"]);
  });
});
