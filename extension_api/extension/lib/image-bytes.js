/**
 * Reading an image's bytes for an upload, within the same limits the server applies to any
 * upload, and carrying them across chrome.runtime messaging (which speaks JSON only).
 */

/** Larger uploads are refused by the server anyway; do not read, encode and send them. */
export const MAX_UPLOAD_BYTES = 20 * 1024 * 1024;

/**
 * The bytes at url, if they are an image of an acceptable size.
 * @param {string} url http(s) (fetched with the person's cookies) or blob:
 * @param {{ fetch?: typeof fetch }} [options]
 * @returns {Promise<Blob>}
 */
export async function fetchImageBytes(url, { fetch = globalThis.fetch.bind(globalThis) } = {}) {
  const response = await fetch(url, { credentials: "include", cache: "force-cache" });
  if (!response.ok) throw new Error(`The image could not be read (HTTP ${response.status}).`);
  const declared = Number(response.headers.get("Content-Length") ?? 0);
  if (declared > MAX_UPLOAD_BYTES) throw new Error(tooLarge(declared));
  const blob = await response.blob();
  if (blob.size > MAX_UPLOAD_BYTES) throw new Error(tooLarge(blob.size));
  if (blob.type && !blob.type.startsWith("image/")) {
    throw new Error(`This is not an image (${blob.type}).`);
  }
  return blob;
}

/**
 * @param {Blob} blob
 * @returns {Promise<string>} a data: URL, which survives JSON messaging
 */
export async function blobToDataUrl(blob) {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  let binary = "";
  const chunk = 0x8000; // String.fromCharCode takes its arguments on the stack
  for (let start = 0; start < bytes.length; start += chunk) {
    binary += String.fromCharCode(...bytes.subarray(start, start + chunk));
  }
  return `data:${blob.type || "application/octet-stream"};base64,${btoa(binary)}`;
}

/**
 * @param {string} dataUrl
 * @returns {Promise<Blob>}
 */
export async function dataUrlToBlob(dataUrl) {
  return (await fetch(dataUrl)).blob();
}

/** @param {number} size */
function tooLarge(size) {
  const megabytes = (size / 1024 / 1024).toFixed(1);
  return `The image is too large to upload (${megabytes} MB; the limit is 20 MB).`;
}
