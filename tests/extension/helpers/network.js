import { createServer } from "node:net";

/** An http:// URL on 127.0.0.1 where nothing listens: the server being down. */
export async function closedPortUrl() {
  const probe = createServer();
  await new Promise((resolve) => probe.listen(0, "127.0.0.1", () => resolve(undefined)));
  const { port } = /** @type {import("node:net").AddressInfo} */ (probe.address());
  await new Promise((resolve) => probe.close(() => resolve(undefined)));
  return `http://127.0.0.1:${port}`;
}
