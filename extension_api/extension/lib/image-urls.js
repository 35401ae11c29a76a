/**
 * Which image URLs Verity can ask its server about, and which bytes the extension must upload
 * itself because the server could never fetch them (blob: URLs, hosts on a private network).
 */

/** Schemes whose images can be checked; data: URLs are left out for now (see README). */
const CHECKABLE_SCHEMES = new Set(["http:", "https:", "blob:"]);

/** Name suffixes that never resolve on the public internet (RFC 6761, RFC 8375, common LANs). */
const PRIVATE_NAME_SUFFIXES = [".localhost", ".local", ".internal", ".lan", ".home.arpa", ".test"];

/**
 * The absolute form of an image URL, without its #fragment, or null when Verity cannot check it.
 * @param {string} raw
 * @param {string} baseUrl
 * @returns {string | null}
 */
export function normalizeImageUrl(raw, baseUrl) {
  let url;
  try {
    url = new URL(raw.trim(), baseUrl);
  } catch {
    return null;
  }
  if (!CHECKABLE_SCHEMES.has(url.protocol)) return null;
  url.hash = "";
  return url.href;
}

/**
 * True when the Verity server cannot fetch this URL itself, so the extension sends the bytes.
 * @param {string} href an absolute URL from normalizeImageUrl
 */
export function mustUploadBytes(href) {
  const url = new URL(href);
  return url.protocol === "blob:" || isPrivateHost(url.hostname);
}

/** @param {string} hostname as URL.hostname gives it (lower case, IPv6 in brackets) */
export function isPrivateHost(hostname) {
  if (hostname.startsWith("[")) return isPrivateIpv6(hostname.slice(1, -1));
  if (/^\d+\.\d+\.\d+\.\d+$/.test(hostname)) return isPrivateIpv4(hostname);
  if (hostname === "localhost" || !hostname.includes(".")) return true; // intranet names
  return PRIVATE_NAME_SUFFIXES.some((suffix) => hostname.endsWith(suffix));
}

/** @param {string} address dotted quad, already canonical (the URL parser saw to it) */
function isPrivateIpv4(address) {
  const [a, b] = address.split(".").map(Number);
  return (
    a === 0 ||
    a === 10 ||
    a === 127 ||
    (a === 100 && b >= 64 && b <= 127) || // carrier-grade NAT
    (a === 169 && b === 254) || // link-local
    (a === 172 && b >= 16 && b <= 31) ||
    (a === 192 && b === 168)
  );
}

/** @param {string} address without brackets, as the URL parser canonicalised it */
function isPrivateIpv6(address) {
  if (address === "::1" || address === "::") return true;
  const mappedIpv4 = address.match(/^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/);
  if (mappedIpv4) {
    const [high, low] = [parseInt(mappedIpv4[1], 16), parseInt(mappedIpv4[2], 16)];
    return isPrivateIpv4(`${high >> 8}.${high & 255}.${low >> 8}.${low & 255}`);
  }
  const firstGroup = parseInt(address.split(":")[0] || "0", 16);
  const uniqueLocal = (firstGroup & 0xfe00) === 0xfc00; // fc00::/7
  const linkLocal = (firstGroup & 0xffc0) === 0xfe80; // fe80::/10
  return uniqueLocal || linkLocal;
}
