"""SSRF-safe HTTP(S) for untrusted URLs: image links, outgoing webhooks.

    from safefetch import FetchError, safe_get

    try:
        resource = safe_get("https://example.com/cat.jpg")
    except FetchError as error:
        item.fail(code=error.code, message=error.message)  # stable code, sentence for people

Refused before any packet is sent: schemes other than http(s), credentials in URLs, hosts that
resolve (or are written, in any numeric spelling) to private, loopback, link-local, multicast,
reserved or cloud-metadata addresses, IPv4 and IPv6 alike. The connection goes to the address
that was checked; every redirect is checked again (at most `max_redirects`). Bodies are capped
in bytes and the whole fetch in wall-clock time. This package imports no Django.
"""

from safefetch.addresses import IPAddress, IPNetwork, blocked_reason, check_address
from safefetch.client import FetchedResource, safe_get, safe_request
from safefetch.errors import FetchError, FetchErrorCode
from safefetch.policy import DEFAULT_POLICY, FetchPolicy
from safefetch.resolve import Resolver, system_resolver
from safefetch.urls import Target, parse_target

__all__ = [
    "DEFAULT_POLICY",
    "FetchError",
    "FetchErrorCode",
    "FetchPolicy",
    "FetchedResource",
    "IPAddress",
    "IPNetwork",
    "Resolver",
    "Target",
    "blocked_reason",
    "check_address",
    "parse_target",
    "safe_get",
    "safe_request",
    "system_resolver",
]
