"""Whose X-Forwarded-For the gateway believes: only configured proxies', by address or network."""

from __future__ import annotations

import pytest
from pydantic import ValidationError
from starlette.requests import Request

from gateway.proxy import client_address
from gateway.settings import Settings
from gateway.trusted_proxies import TrustedProxies


def request_from(peer: str, forwarded: str | None = None) -> Request:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return Request({"type": "http", "client": (peer, 5000), "headers": headers})


def test_a_peer_inside_a_trusted_network_names_the_client() -> None:
    trusted = TrustedProxies(["10.42.0.0/16", "192.0.2.7"])
    assert client_address(request_from("10.42.3.9", "198.51.100.20"), trusted) == "198.51.100.20"
    assert client_address(request_from("192.0.2.7", "198.51.100.21"), trusted) == "198.51.100.21"


def test_an_untrusted_peer_cannot_spoof_its_address() -> None:
    trusted = TrustedProxies(["10.42.0.0/16"])
    assert client_address(request_from("203.0.113.5", "10.0.0.1"), trusted) == "203.0.113.5"
    assert client_address(request_from("203.0.113.5", "10.0.0.1"), TrustedProxies([])) == (
        "203.0.113.5"
    )


def test_the_first_untrusted_hop_from_the_right_is_the_client() -> None:
    trusted = TrustedProxies(["10.42.0.0/16", "172.16.0.0/12"])
    chain = "6.6.6.6, 198.51.100.30, 172.16.1.1"  # a phone could have sent the first entry
    assert client_address(request_from("10.42.0.2", chain), trusted) == "198.51.100.30"


def test_ipv6_networks_and_garbage_addresses() -> None:
    trusted = TrustedProxies(["fd00::/8"])
    assert "fd00::1" in trusted
    assert "2001:db8::1" not in trusted
    assert "not-an-address" not in trusted


def test_a_malformed_entry_stops_the_gateway_at_start() -> None:
    with pytest.raises(ValidationError, match="trusted_proxies"):
        Settings(trusted_proxies=["10.42.0.0/33"])
