"""`safe_get` / `safe_request`: HTTP(S) to untrusted URLs without handing anyone our network.

Every hop (the first URL and each redirect) goes through the same steps: parse and normalise
the URL, resolve the host on our side, refuse it if any address is blocked, then connect to
exactly the address that was checked (no second lookup, so no DNS-rebinding window). TLS still
verifies the certificate against the host *name*. Redirects are followed here, never by the
HTTP library, so each target is checked before a packet goes to it. No proxy settings from the
environment are used: a proxy would make the address check meaningless.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from http import HTTPStatus
from urllib.parse import urljoin

from urllib3 import HTTPHeaderDict, HTTPResponse

from safefetch.addresses import IPAddress, canonical_address, check_address
from safefetch.deadline import Deadline
from safefetch.errors import FetchError, FetchErrorCode
from safefetch.policy import DEFAULT_POLICY, FetchPolicy
from safefetch.resolve import Resolver, resolve_checked, system_resolver
from safefetch.transport import TRANSPORT_ERRORS, as_fetch_error, open_connection
from safefetch.urls import Target, parse_target

REDIRECT_STATUSES = frozenset({301, 302, 303, 307, 308})
_CHUNK_SIZE = 64 * 1024


@dataclass(frozen=True)
class FetchedResource:
    """A successful (2xx) response body, read in full within the policy's limits."""

    url: str  # the final URL, after redirects, normalised
    status: int
    content_type: str | None  # as the server declared it: a hint, never trusted for decoding
    body: bytes
    redirects: tuple[str, ...]  # the URLs that answered with a redirect, in order
    peer_ip: str  # the address the body came from


def safe_get(
    url: str,
    *,
    policy: FetchPolicy = DEFAULT_POLICY,
    headers: Mapping[str, str] | None = None,
    resolver: Resolver = system_resolver,
) -> FetchedResource:
    """GET `url` under `policy`, following up to `policy.max_redirects` checked redirects.

    Raises `FetchError` with a stable `code` for every way it can fail.
    """
    return safe_request("GET", url, policy=policy, headers=headers, resolver=resolver)


def safe_request(
    method: str,
    url: str,
    *,
    body: bytes | None = None,
    headers: Mapping[str, str] | None = None,
    policy: FetchPolicy = DEFAULT_POLICY,
    resolver: Resolver = system_resolver,
) -> FetchedResource:
    """Send one request (a webhook POST, say) to an untrusted URL under `policy`.

    Redirects are followed for GET and HEAD only; other methods report a redirect as
    `http_status`, because replaying a body to wherever a server points is not safe.
    """
    target = _parse(url, policy)
    with Deadline(policy.total_timeout) as deadline:
        return _Fetch(method.upper(), body, headers, policy, resolver, deadline).run(target)


@dataclass(frozen=True)
class _Reply:
    status: int
    headers: HTTPHeaderDict
    body: bytes
    peer: IPAddress


class _Fetch:
    """One fetch: the request that stays the same across its hops, and the redirects so far."""

    def __init__(
        self,
        method: str,
        body: bytes | None,
        headers: Mapping[str, str] | None,
        policy: FetchPolicy,
        resolver: Resolver,
        deadline: Deadline,
    ) -> None:
        self.method, self.body, self.policy = method, body, policy
        self.resolver, self.deadline = resolver, deadline
        self.headers = HTTPHeaderDict({"User-Agent": policy.user_agent, "Accept": "*/*"})
        self.headers.update(headers or {})
        # Ours, whatever the caller passed: a body we can bound, one request per connection.
        self.headers["Accept-Encoding"] = "identity"
        self.headers["Connection"] = "close"
        self.redirects: list[str] = []

    def run(self, target: Target) -> FetchedResource:
        while True:
            reply = self._hop(target)
            if reply.status in REDIRECT_STATUSES and self.method in ("GET", "HEAD"):
                target = self._follow(target, reply)
                continue
            if not 200 <= reply.status < 300:
                raise FetchError(
                    FetchErrorCode.HTTP_STATUS,
                    f"The server answered HTTP {reply.status} ({_status_phrase(reply.status)})"
                    " instead of the file.",
                    url=target.url,
                    status=reply.status,
                )
            return FetchedResource(
                url=target.url,
                status=reply.status,
                content_type=reply.headers.get("Content-Type"),
                body=reply.body,
                redirects=tuple(self.redirects),
                peer_ip=str(reply.peer),
            )

    def _hop(self, target: Target) -> _Reply:
        """One exchange; its failures name the hop's URL, and where the redirects led."""
        try:
            return self._exchange(target)
        except FetchError as error:
            message = error.message
            if self.redirects:
                message += f" (The link {self.redirects[0]} redirected to {target.url}.)"
            raise FetchError(error.code, message, url=target.url) from error

    def _exchange(self, target: Target) -> _Reply:
        """Connect to a checked address of `target`, send the request, read the answer."""
        addresses = self._checked_addresses(target)
        connection, peer = open_connection(target, addresses, self.policy, self.deadline)
        try:
            connection.request(
                self.method,
                target.request_target,
                body=self.body,
                headers=self._headers_for(target),
                preload_content=False,
            )
            response = connection.getresponse()
            try:
                wants_body = 200 <= response.status < 300 and self.method != "HEAD"
                content = _read_body(response, target, self.policy) if wants_body else b""
            finally:
                response.close()
            if self.deadline.expired:
                # The deadline's shutdown looks like the clean end of a close-delimited body:
                # what arrived may be cut short, so it must not pass for a whole file.
                raise TimeoutError
            return _Reply(response.status, response.headers, content, peer)
        except TRANSPORT_ERRORS as error:
            raise as_fetch_error(error, target, self.policy, self.deadline) from error
        finally:
            connection.close()

    def _headers_for(self, target: Target) -> HTTPHeaderDict:
        headers = self.headers.copy()
        headers["Host"] = target.host_header  # the name we checked, whatever the caller said
        return headers

    def _checked_addresses(self, target: Target) -> list[IPAddress]:
        if target.address is not None:
            check_address(target.address, exempt_networks=self.policy.exempt_networks)
            return [canonical_address(target.address)]  # ::ffff:a.b.c.d is reached as a.b.c.d
        return resolve_checked(
            target.host,
            target.port,
            resolver=self.resolver,
            timeout=self.deadline.remaining(),
            exempt_networks=self.policy.exempt_networks,
        )

    def _follow(self, current: Target, reply: _Reply) -> Target:
        """The redirect's target, parsed and vetted like the first link was."""
        if len(self.redirects) >= self.policy.max_redirects:
            raise FetchError(
                FetchErrorCode.TOO_MANY_REDIRECTS,
                f"The link redirected more than {self.policy.max_redirects} times.",
                url=current.url,
            )
        following = _redirect_target(current, reply, self.policy)
        downgrade = current.scheme == "https" and following.scheme == "http"
        if downgrade and not self.policy.allow_https_downgrade:
            raise FetchError(
                FetchErrorCode.REDIRECT_INVALID,
                "The server redirected from a secure (https) link to an insecure (http) one.",
                url=current.url,
            )
        self.redirects.append(current.url)
        return following


def _redirect_target(current: Target, reply: _Reply, policy: FetchPolicy) -> Target:
    location = reply.headers.get("Location", "").strip()
    if not location:
        raise FetchError(
            FetchErrorCode.REDIRECT_INVALID,
            f"The server answered with a redirect (HTTP {reply.status}) but named no target.",
            url=current.url,
        )
    try:
        absolute = urljoin(current.url, location)  # Location may be relative
    except ValueError:
        absolute = location  # unjoinable: let the parser say what is wrong with it
    try:
        return _parse(absolute, policy)
    except FetchError as error:
        invalid = error.code is FetchErrorCode.URL_INVALID
        raise FetchError(
            FetchErrorCode.REDIRECT_INVALID if invalid else error.code,
            f"The server redirected to an address that cannot be fetched. {error.message}",
            url=current.url,
        ) from None


def _parse(url: str, policy: FetchPolicy) -> Target:
    return parse_target(
        url, allowed_schemes=policy.allowed_schemes, allowed_ports=policy.allowed_ports
    )


def _read_body(response: HTTPResponse, target: Target, policy: FetchPolicy) -> bytes:
    """The body, refused as soon as it is known to exceed `policy.max_bytes`.

    Content-Length is checked first but not trusted: the running count is what decides. A
    server that compresses anyway (we ask for identity) is decoded chunk by chunk, and the
    count is of decoded bytes, so a gzip bomb stops at the cap.
    """
    declared = response.headers.get("Content-Length", "")
    if declared.isdigit() and int(declared) > policy.max_bytes:
        raise _too_large(target, policy)
    body = bytearray()
    for chunk in response.stream(_CHUNK_SIZE, decode_content=True):
        body += chunk
        if len(body) > policy.max_bytes:
            raise _too_large(target, policy)
    return bytes(body)


def _too_large(target: Target, policy: FetchPolicy) -> FetchError:
    return FetchError(
        FetchErrorCode.TOO_LARGE,
        f"The file is larger than the {policy.max_bytes / 1_000_000:g} MB limit.",
        url=target.url,
    )


def _status_phrase(status: int) -> str:
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "an unknown status"
