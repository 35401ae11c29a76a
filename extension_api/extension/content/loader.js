// Content scripts cannot be ES modules, so this classic script imports the real one (and with
// it the modules shared with the service worker and the Node tests). Injected again by the
// context menu on pages that predate the extension; the flag keeps it to one copy per frame.
(async () => {
  if (globalThis.verityContentLoaded) return;
  globalThis.verityContentLoaded = true;
  try {
    const { startVerity } = await import(chrome.runtime.getURL("content/main.js"));
    await startVerity(window);
  } catch (error) {
    // Never the page's problem: the extension was reloaded or removed under it.
    console.debug("Verity is not running on this page:", error);
  }
})();
