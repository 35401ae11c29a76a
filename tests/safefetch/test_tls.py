"""HTTPS: we connect to the checked address, yet the certificate must still match the name."""

from __future__ import annotations

import dataclasses

import pytest

from safefetch import DEFAULT_POLICY, FetchError, FetchPolicy, safe_get
from tests.safefetch.support import LOOPBACK_ONLY, LocalServer, assert_readable, resolver_from

DNS = resolver_from({"images.test": ["127.0.0.1"], "other.test": ["127.0.0.1"]})


def test_https_verifies_the_name_while_connecting_to_the_address(
    tls_server: LocalServer, tls_policy: FetchPolicy
) -> None:
    url = tls_server.serve("/cat.jpg", b"\xff\xd8\xff\xe0")

    resource = safe_get(url, policy=tls_policy, resolver=DNS)

    assert resource.body == b"\xff\xd8\xff\xe0"
    assert resource.peer_ip == "127.0.0.1"
    assert tls_server.requests[0].headers["Host"] == f"images.test:{tls_server.port}"


@pytest.mark.parametrize(
    ("host", "why"),
    [
        ("other.test", "hostname mismatch"),  # the certificate is for images.test
        ("127.0.0.1", "ip address mismatch"),  # nor for the bare address
    ],
)
def test_a_certificate_for_another_name_is_refused(
    tls_server: LocalServer, tls_policy: FetchPolicy, host: str, why: str
) -> None:
    url = tls_server.url("/cat.jpg", host=host)
    with pytest.raises(FetchError) as refused:
        safe_get(url, policy=tls_policy, resolver=DNS)
    assert refused.value.code == "tls_error"
    assert why in refused.value.message.lower()
    assert_readable(refused.value)


def test_a_certificate_from_an_unknown_authority_is_refused(tls_server: LocalServer) -> None:
    system_trust_only = dataclasses.replace(DEFAULT_POLICY, exempt_networks=LOOPBACK_ONLY)
    with pytest.raises(FetchError) as refused:
        safe_get(tls_server.url("/cat.jpg"), policy=system_trust_only, resolver=DNS)
    assert refused.value.code == "tls_error"
    assert "certificate" in refused.value.message
    assert_readable(refused.value)


def test_plain_http_to_a_tls_port_fails_cleanly(
    tls_server: LocalServer, tls_policy: FetchPolicy
) -> None:
    url = tls_server.url("/cat.jpg").replace("https://", "http://")
    with pytest.raises(FetchError) as failure:
        safe_get(url, policy=tls_policy, resolver=DNS)
    assert failure.value.code == "connection_failed"
    assert_readable(failure.value)


def test_https_may_not_redirect_to_plain_http(
    tls_server: LocalServer, local_server: LocalServer, tls_policy: FetchPolicy
) -> None:
    insecure = local_server.serve("/cat.jpg", b"\xff\xd8\xff")
    url = tls_server.redirect("/cat.jpg", insecure)

    with pytest.raises(FetchError) as refused:
        safe_get(url, policy=tls_policy, resolver=DNS)

    assert refused.value.code == "redirect_invalid"
    assert "insecure" in refused.value.message
    assert local_server.requests == []
    allowing = dataclasses.replace(tls_policy, allow_https_downgrade=True)
    assert safe_get(url, policy=allowing, resolver=DNS).url == insecure
