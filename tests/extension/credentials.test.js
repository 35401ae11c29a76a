import assert from "node:assert/strict";
import { after, before, describe, it } from "node:test";

import { VerityApi } from "../../extension_api/extension/lib/api-client.js";
import { Credentials } from "../../extension_api/extension/lib/credentials.js";
import { startFakeVerity } from "./helpers/fake-verity-server.js";
import { MemoryStorageArea } from "./helpers/memory-storage.js";

describe("credentials", () => {
  let server;
  before(async () => {
    server = await startFakeVerity();
  });
  after(() => server.close());

  const credentialsOn = (storageArea) =>
    new Credentials({
      storageArea,
      registrarFor: (serverUrl) => new VerityApi({ serverUrl }),
      extensionVersion: "0.1.0",
    });

  it("registers once on first use and keeps the token", async () => {
    const storage = new MemoryStorageArea();
    const before = server.requestsTo("/api/v1/extension/installs").length;
    const credentials = credentialsOn(storage);
    const settings = { serverUrl: server.url, teamToken: "" };

    const tokens = await Promise.all([1, 2, 3].map(() => credentials.tokenFor(settings)));
    assert.equal(new Set(tokens).size, 1, "callers waiting together share one registration");
    assert.equal(await credentialsOn(storage).tokenFor(settings), tokens[0], "and it is stored");
    assert.equal(server.requestsTo("/api/v1/extension/installs").length - before, 1);
    assert.equal((await credentials.install()).serverUrl, server.url);
  });

  it("prefers an organisation's team token and never registers then", async () => {
    const before = server.requestsTo("/api/v1/extension/installs").length;
    const token = await credentialsOn(new MemoryStorageArea()).tokenFor({
      serverUrl: server.url,
      teamToken: "vrx_team_token",
    });
    assert.equal(token, "vrx_team_token");
    assert.equal(server.requestsTo("/api/v1/extension/installs").length, before);
  });

  it("registers anew with a different server", async () => {
    const storage = new MemoryStorageArea();
    const credentials = credentialsOn(storage);
    await storage.set({
      install: {
        serverUrl: "http://old.example",
        installId: "x",
        token: "vrx_old",
        registeredAt: "",
      },
    });

    const token = await credentials.tokenFor({ serverUrl: server.url, teamToken: "" });
    assert.notEqual(token, "vrx_old");
  });

  it("forgets its own rejected token, but never a team token", async () => {
    const credentials = credentialsOn(new MemoryStorageArea());
    const own = await credentials.tokenFor({ serverUrl: server.url, teamToken: "" });

    assert.equal(await credentials.reject("vrx_team_token"), false);
    assert.equal(await credentials.reject(own), true);
    assert.equal(await credentials.install(), null);
  });
});
