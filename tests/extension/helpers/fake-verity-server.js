/**
 * A Verity server on 127.0.0.1 that speaks the extension API contract (README.md) for the Node
 * tests of the service worker's logic. It judges by the words of the file name, so a test reads
 * like the page it stands for ("private-ai-1.jpg"):
 *   ai       -> done, likely_ai (otherwise done, likely_real)
 *   slow     -> pending until polled once
 *   private  -> failed, http_status (a 403), when asked by URL (an upload brings the bytes)
 *   huge     -> failed, too_large
 * Uploads are judged by their `src`. A test can script the next answers of a
 * route (e.g. a 429, a 503) with `answerNext`. Every request is recorded in `requests`.
 */

import { createServer } from "node:http";
import { randomUUID } from "node:crypto";

export const MODEL_VERSION = "verity-ensemble-test";

/**
 * @typedef {{ pageUrl: string | null, urls: string[], uploaded: boolean, polls: number }} Check
 *   polls: how often it was polled so far
 */

/** @param {string} url the words of its file name: "a/private-ai-1.jpg" -> private, ai, 1 */
const wordsOf = (url) => (new URL(url).pathname.split("/").pop() ?? "").split(/[-.]/);

/**
 * @param {string} url
 * @param {{ uploaded: boolean }} how whether the bytes came with the request
 * @returns {{ status: string, verdict: object | null, error: object | null }}
 */
export function judge(url, { uploaded }) {
  const words = wordsOf(url);
  if (words.includes("private") && !uploaded) {
    return failure("http_status", "The image server answered 403 Forbidden.");
  }
  if (words.includes("huge")) return failure("too_large", "The image is larger than 20 MB.");
  const ai = words.includes("ai");
  return { status: "done", verdict: verdict(ai ? 0.97 : 0.04, url), error: null };
}

/** @param {string} code @param {string} message */
function failure(code, message) {
  return { status: "failed", verdict: null, error: { code, message } };
}

/** @param {number} probability @param {string} url */
function verdict(probability, url) {
  const sha = Buffer.from(url).toString("hex").padEnd(64, "0").slice(0, 64);
  return {
    probability_ai: probability,
    band: probability > 0.8 ? "likely_ai" : "likely_real",
    model_version: MODEL_VERSION,
    model_scores: { cnn: probability, resnet50: probability, face: null },
    face_found: false,
    abstain_reason: null,
    created_at: "2026-01-01T00:00:00Z",
    image_sha256: sha,
    history_url: `http://127.0.0.1/images/${sha}/`,
  };
}

export async function startFakeVerity() {
  /** @type {{ method: string, path: string, headers: import("node:http").IncomingHttpHeaders, body: any }[]} */
  const requests = [];
  /** @type {Map<string, Array<{ status: number, headers?: Record<string, string>, json?: any }>>} */
  const scripted = new Map();
  /** @type {Map<string, Check>} */
  const checks = new Map();
  const tokens = new Set(["vrx_team_token"]);

  const server = createServer(async (request, response) => {
    const body = await readBody(request);
    const path = new URL(request.url ?? "/", "http://127.0.0.1").pathname;
    requests.push({ method: request.method ?? "", path, headers: request.headers, body });
    const route = `${request.method} ${path.replace(/[0-9a-f-]{36}$/, ":id")}`;
    const next = scripted.get(route)?.shift();
    const answer = next ?? answerFor(route, path, request, body);
    response.writeHead(answer.status, { "Content-Type": "application/json", ...answer.headers });
    response.end(answer.json === undefined ? "" : JSON.stringify(answer.json));
  });

  /**
   * @param {string} route
   * @param {string} path
   * @param {import("node:http").IncomingMessage} request
   * @param {any} body
   */
  function answerFor(route, path, request, body) {
    if (route === "POST /api/v1/extension/installs") {
      const token = `vrx_${randomUUID()}`;
      tokens.add(token);
      return { status: 201, json: { install_id: randomUUID(), token } };
    }
    const token = (request.headers.authorization ?? "").replace(/^Bearer /, "");
    if (!tokens.has(token)) {
      const error = { code: "token_invalid", message: "This token is not valid.", detail: {} };
      return { status: 401, json: { error } };
    }
    if (route === "POST /api/v1/extension/page-checks") {
      const urls = body.images.map((image) => image.url);
      return pageCheckAnswer(randomUUID(), {
        pageUrl: body.page_url ?? null,
        urls,
        uploaded: false,
      });
    }
    if (route === "POST /api/v1/extension/uploads") {
      const check = { pageUrl: body.page_url ?? null, urls: [body.src], uploaded: true };
      return pageCheckAnswer(randomUUID(), check);
    }
    if (route === "GET /api/v1/extension/page-checks/:id") {
      const id = path.split("/").pop() ?? "";
      const check = checks.get(id);
      if (!check) return { status: 404, json: { error: { code: "not_found", message: "" } } };
      return pageCheckAnswer(id, { ...check, polls: check.polls + 1 });
    }
    return { status: 404, json: { error: { code: "not_found", message: route } } };
  }

  /**
   * @param {string} id
   * @param {{ pageUrl: string | null, urls: string[], uploaded: boolean, polls?: number }} check
   */
  function pageCheckAnswer(id, { pageUrl, urls, uploaded, polls = 0 }) {
    checks.set(id, { pageUrl, urls, uploaded, polls });
    const results = urls.map((url) => {
      if (wordsOf(url).includes("slow") && polls === 0) {
        return { url, status: "pending", verdict: null, error: null };
      }
      return { url, ...judge(url, { uploaded }) };
    });
    const anyPending = results.some((r) => r.status === "pending");
    const poll_url = `/api/v1/extension/page-checks/${id}`;
    return { status: anyPending ? 202 : 200, json: { id, poll_url, retry_after_ms: 20, results } };
  }

  await new Promise((resolve) => server.listen(0, "127.0.0.1", () => resolve(undefined)));
  const address = /** @type {import("node:net").AddressInfo} */ (server.address());

  return {
    url: `http://127.0.0.1:${address.port}`,
    requests,
    /** Registers a token as valid, as an organisation's team token would be. @param {string} token */
    acceptToken: (token) => tokens.add(token),
    /** @param {string} token */
    revokeToken: (token) => tokens.delete(token),
    /**
     * The next answers to "METHOD /path" (":id" for a page check id), before normal service.
     * @param {string} route
     * @param {...{ status: number, headers?: Record<string, string>, json?: any }} answers
     */
    answerNext: (route, ...answers) =>
      scripted.set(route, [...(scripted.get(route) ?? []), ...answers]),
    /** @param {string} path */
    requestsTo: (path) => requests.filter((r) => r.path.startsWith(path)),
    close: () => new Promise((resolve) => server.close(() => resolve(undefined))),
  };
}

/**
 * The request body: JSON, multipart form (as plain fields; files as {type, size}), or null.
 * @param {import("node:http").IncomingMessage} request
 */
async function readBody(request) {
  const chunks = [];
  for await (const chunk of request) chunks.push(chunk);
  if (chunks.length === 0) return null;
  const raw = Buffer.concat(chunks);
  const type = request.headers["content-type"] ?? "";
  if (type.startsWith("application/json")) return JSON.parse(raw.toString("utf8"));
  if (type.startsWith("multipart/form-data")) {
    const form = await new Response(raw, { headers: { "Content-Type": type } }).formData();
    return Object.fromEntries(
      [...form.entries()].map(([key, value]) => [
        key,
        typeof value === "string"
          ? value
          : { type: value.type, size: value.size, name: value.name },
      ]),
    );
  }
  return raw.toString("utf8");
}
