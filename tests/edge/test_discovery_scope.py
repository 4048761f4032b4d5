"""The edge announces itself on mDNS only where it listens.

``./dev demo`` serves on 127.0.0.1; it used to announce on every interface anyway, sending
multicast beyond the machine. The test starts the real Advertiser and reads, from each of
zeroconf's sending sockets, the interface its multicast leaves by (IP_MULTICAST_IF).
"""

from __future__ import annotations

import socket

import ifaddr
import pytest

from edge.discovery import Advertiser, announce_on


def _outgoing_interfaces(advertiser: Advertiser) -> set[str]:
    assert advertiser._zc is not None
    senders = advertiser._zc.zeroconf.engine.senders
    assert senders
    return {socket.inet_ntoa(s.sock.getsockopt(socket.IPPROTO_IP, socket.IP_MULTICAST_IF, 4))
            for s in senders}


async def _sending_from(host: str, pinned: list[str] | None = None) -> set[str]:
    advertiser = Advertiser(outlet_id="0190aaaa-bbbb-7ccc-8ddd-eeeeffff0001", outlet_name="Scope",
                            version="test", host=host, port=8080, interfaces=pinned or [])
    await advertiser.start()
    try:
        return _outgoing_interfaces(advertiser)
    finally:
        await advertiser.stop()


async def test_an_edge_on_loopback_announces_on_loopback_only() -> None:
    assert await _sending_from("127.0.0.1") == {"127.0.0.1"}
    assert await _sending_from("localhost") == {"127.0.0.1"}


async def test_an_edge_on_every_address_announces_on_every_interface() -> None:
    # The control: the measurement above does see the machine's other interfaces.
    others = {ip.ip for adapter in ifaddr.get_adapters() for ip in adapter.ips
              if isinstance(ip.ip, str) and not ip.ip.startswith("127.")}
    if not others:
        pytest.skip("this machine has no IPv4 interface besides loopback")
    assert others <= await _sending_from("0.0.0.0")


def test_where_to_announce() -> None:
    assert announce_on("0.0.0.0", []) is None  # every interface
    assert announce_on("192.0.2.7", []) == ["192.0.2.7"]
    assert announce_on("0.0.0.0", ["127.0.0.1"]) == ["127.0.0.1"]  # pinned wins
    assert announce_on("::1", []) == []  # IPv6 only: nowhere, never everywhere
