"""Parse an untrusted URL into a `Target`: what to connect to, and what to ask for.

Hosts are interpreted here, once, the way browsers and `inet_aton` do (WHATWG URL standard):
`2130706433`, `0x7f.1`, `017700000001` and `127.1` all mean 127.0.0.1. A host that ends in a
number is therefore either such an address or invalid, and only real DNS names ever reach the
resolver, so libc never gets the chance to read a host differently from the guard.
"""

from __future__ import annotations

import re
import string
from collections.abc import Collection
from dataclasses import dataclass
from ipaddress import IPv4Address, IPv6Address
from urllib.parse import SplitResult, quote, urlsplit

from safefetch.addresses import IPAddress
from safefetch.errors import FetchError, FetchErrorCode

MAX_URL_LENGTH = 4096
DEFAULT_PORTS = {"http": 80, "https": 443}

_HOST_LABEL = re.compile(r"^(?!-)[a-z0-9_-]{1,63}(?<!-)$")
_C0_AND_SPACE = "".join(map(chr, range(0x21)))
_UNSAFE_CHARACTERS = frozenset(_C0_AND_SPACE[:-1] + "\x7f\\")
# What may stay unescaped in a path or query; everything else (spaces, non-ASCII) is %-encoded.
_SAFE_IN_PATH = "/%:@!$&'()*+,;=-._~"
_SAFE_IN_QUERY = _SAFE_IN_PATH + "?"


@dataclass(frozen=True)
class Target:
    """One absolute http(s) URL, validated and split into what a connection needs."""

    scheme: str
    host: str  # ASCII (IDNA) host name, or the canonical text of `address`
    address: IPAddress | None  # set when the URL names an address instead of a host name
    port: int
    request_target: str  # path and query, as sent on the request line

    @property
    def host_header(self) -> str:
        host = f"[{self.host}]" if isinstance(self.address, IPv6Address) else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    @property
    def url(self) -> str:
        """The URL normalised: lower-case scheme and host, no default port, no fragment."""
        return f"{self.scheme}://{self.host_header}{self.request_target}"


def parse_target(
    url: str,
    *,
    allowed_schemes: Collection[str] = ("http", "https"),
    allowed_ports: Collection[int] | None = None,
) -> Target:
    """Validate `url` and split it into a `Target`, or raise `FetchError`.

    Refused: anything but the allowed schemes, user names and passwords in the URL (`a@b`
    confuses people and parsers alike), backslashes, whitespace and control characters, empty
    or malformed hosts, `%` in hosts, IPv6 zone ids, ports outside `allowed_ports`.
    """
    parts = _split(url)
    scheme = parts.scheme.lower()
    if not scheme:
        raise _invalid(url, "it does not start with http:// or https://")
    if scheme not in allowed_schemes:
        raise FetchError(
            FetchErrorCode.SCHEME_NOT_ALLOWED,
            f"Only {' and '.join(sorted(allowed_schemes))} links can be fetched, not '{scheme}:'.",
            url=url,
        )
    if parts.username is not None or parts.password is not None:
        raise _invalid(url, "it contains a user name or password")
    host, address = _host_of(parts, url)
    port = _port_of(parts, scheme, url, allowed_ports)
    return Target(
        scheme=scheme,
        host=host,
        address=address,
        port=port,
        request_target=_request_target(parts),
    )


def parse_ipv4_host(host: str) -> IPv4Address | None:
    """Read `host` as an IPv4 address in any spelling a browser accepts, or return None.

    Follows the WHATWG "IPv4 parser": one to four dot-separated numbers, each decimal, octal
    (leading 0) or hexadecimal (0x); the last number fills the remaining bytes. A host whose last
    label is a number but which is not a valid address raises `ValueError`: browsers refuse
    such URLs too, and a DNS lookup must never see them.
    """
    labels = host.split(".")
    if labels[-1] == "" and len(labels) > 1:
        labels.pop()  # one trailing dot is allowed, as in fully qualified names
    if not _is_number_label(labels[-1]):
        return None
    numbers = [_ipv4_number(label) for label in labels]
    if len(numbers) > 4 or any(number > 255 for number in numbers[:-1]):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    if numbers[-1] >= 256 ** (5 - len(numbers)):
        raise ValueError(f"{host!r} is not a valid IPv4 address")
    value = numbers[-1]
    for index, number in enumerate(numbers[:-1]):
        value += number << (8 * (3 - index))
    return IPv4Address(value)


def _is_number_label(label: str) -> bool:
    if label.isascii() and label.isdigit():
        return True
    return label[:2].lower() == "0x" and all(c in string.hexdigits for c in label[2:])


def _ipv4_number(label: str) -> int:
    try:
        if label[:2].lower() == "0x":
            return int(label[2:], 16) if label[2:] else 0
        if len(label) > 1 and label.startswith("0"):
            return int(label[1:], 8)
        return int(label, 10)
    except ValueError:
        raise ValueError(f"{label!r} is not a number") from None


def _split(url: str) -> SplitResult:
    url = url.strip(_C0_AND_SPACE)  # as browsers do; spaces inside are %-encoded later
    if len(url) > MAX_URL_LENGTH:
        raise _invalid(url, f"it is longer than {MAX_URL_LENGTH} characters")
    if any(character in _UNSAFE_CHARACTERS for character in url):
        raise _invalid(url, "it contains backslashes or control characters")
    try:
        return urlsplit(url)
    except ValueError:
        raise _invalid(url, "it cannot be parsed") from None


def _host_of(parts: SplitResult, url: str) -> tuple[str, IPAddress | None]:
    raw = parts.hostname or ""
    if not raw:
        raise _invalid(url, "it names no host")
    if "[" in parts.netloc:
        return _ipv6_literal(raw, url)
    if "%" in raw:
        raise _invalid(url, "its host contains '%'")
    host = _idna(raw, url)
    try:
        address = parse_ipv4_host(host)
    except ValueError:
        raise _invalid(url, f"'{raw}' is neither a host name nor an IP address") from None
    if address is not None:
        return str(address), address
    _check_host_name(host, url)
    return host.rstrip("."), None


def _ipv6_literal(raw: str, url: str) -> tuple[str, IPAddress]:
    if "%" in raw:
        raise _invalid(url, "its IPv6 address carries a zone id")
    try:
        address = IPv6Address(raw)
    except ValueError:
        raise _invalid(url, f"'[{raw}]' is not a valid IPv6 address") from None
    return address.compressed, address


def _idna(host: str, url: str) -> str:
    """The ASCII form of an internationalised host name (`bücher.example` -> `xn--bcher-kva...`).

    The conversion also folds look-alike characters (full-width digits, for example), which is
    why numeric hosts are parsed only after it.
    """
    if host.isascii():
        return host
    try:
        return host.encode("idna").decode("ascii")
    except UnicodeError:
        raise _invalid(url, f"'{host}' is not a valid host name") from None


def _check_host_name(host: str, url: str) -> None:
    labels = host.rstrip(".").split(".")
    if len(host) > 253 or not all(_HOST_LABEL.match(label) for label in labels):
        raise _invalid(url, f"'{host}' is not a valid host name")


def _port_of(
    parts: SplitResult, scheme: str, url: str, allowed_ports: Collection[int] | None
) -> int:
    try:
        port = parts.port
    except ValueError:
        raise _invalid(url, "its port is not a number between 1 and 65535") from None
    if port == 0:
        raise _invalid(url, "its port is not a number between 1 and 65535")
    port = port or DEFAULT_PORTS[scheme]
    if allowed_ports is not None and port not in allowed_ports:
        raise FetchError(
            FetchErrorCode.PORT_NOT_ALLOWED,
            f"Links to port {port} cannot be fetched; allowed ports are"
            f" {', '.join(map(str, sorted(allowed_ports)))}.",
            url=url,
        )
    return port


def _request_target(parts: SplitResult) -> str:
    path = quote(parts.path or "/", safe=_SAFE_IN_PATH)
    return f"{path}?{quote(parts.query, safe=_SAFE_IN_QUERY)}" if parts.query else path


def _invalid(url: str, why: str) -> FetchError:
    shown = url if len(url) <= 100 else f"{url[:97]}..."
    return FetchError(
        FetchErrorCode.URL_INVALID,
        f"The link '{shown}' is not a valid web address: {why}.",
        url=url,
    )
