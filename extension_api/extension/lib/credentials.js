/**
 * The token the extension sends as `Authorization: Bearer ...`: an organisation's team token
 * when one was pasted in the options page, otherwise this browser's own install token, which
 * is registered on first use (not at install time, so a server that is down then does no harm)
 * and belongs to the server that issued it.
 */

export const INSTALL_KEY = "install";

/**
 * @typedef {{ serverUrl: string, installId: string, token: string, registeredAt: string }} Install
 * @typedef {{ register(install: { extensionVersion: string, browser: string }):
 *   Promise<{ installId: string, token: string }> }} Registrar
 */

export class Credentials {
  /** @type {Promise<string> | null} one registration at a time, however many callers wait */
  #registering = null;

  /**
   * @param {object} options
   * @param {import("./verdict-cache.js").StorageArea} options.storageArea chrome.storage.local
   * @param {(serverUrl: string) => Registrar} options.registrarFor
   * @param {string} options.extensionVersion
   * @param {string} [options.browser]
   */
  constructor({ storageArea, registrarFor, extensionVersion, browser = "chromium" }) {
    this.storageArea = storageArea;
    this.registrarFor = registrarFor;
    this.extensionVersion = extensionVersion;
    this.browser = browser;
  }

  /**
   * @param {{ serverUrl: string, teamToken: string }} settings
   * @returns {Promise<string>}
   */
  async tokenFor({ serverUrl, teamToken }) {
    if (teamToken) return teamToken;
    const install = await this.install();
    if (install?.serverUrl === serverUrl) return install.token;
    this.#registering ??= this.#register(serverUrl).finally(() => {
      this.#registering = null;
    });
    return this.#registering;
  }

  /**
   * The server refused this token: forget it if it is our own, so the next call registers anew.
   * A team token is the person's to fix, so it stays.
   * @param {string} token
   * @returns {Promise<boolean>} whether a fresh registration may help
   */
  async reject(token) {
    const install = await this.install();
    if (install?.token !== token) return false;
    await this.storageArea.remove([INSTALL_KEY]);
    return true;
  }

  /** @returns {Promise<Install | null>} */
  async install() {
    const stored = await this.storageArea.get([INSTALL_KEY]);
    return stored[INSTALL_KEY] ?? null;
  }

  /** @param {string} serverUrl */
  async #register(serverUrl) {
    const registrar = this.registrarFor(serverUrl);
    const { installId, token } = await registrar.register({
      extensionVersion: this.extensionVersion,
      browser: this.browser,
    });
    /** @type {Install} */
    const install = { serverUrl, installId, token, registeredAt: new Date().toISOString() };
    await this.storageArea.set({ [INSTALL_KEY]: install });
    return token;
  }
}
