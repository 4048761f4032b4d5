"""Finding the edge on the shop LAN: mDNS / DNS-SD advertisement of ``_fnbpos._tcp.local.``.

While serving, the edge registers one service whose TXT record carries the outlet id, the
outlet name and the edge version; devices (and ``pos-edge discover``) browse for that type.
It announces only where the server listens: on every interface for 0.0.0.0, on the listen
address alone otherwise (a demo on 127.0.0.1 sends no multicast beyond the machine).
Interfaces can also be pinned (``advertise_interfaces``; tests use ["127.0.0.1"]).
"""

from __future__ import annotations

import asyncio
import socket
from typing import TYPE_CHECKING, Any

from msgspec import Struct

if TYPE_CHECKING:
    from zeroconf import ServiceStateChange
    from zeroconf.asyncio import AsyncZeroconf

# zeroconf is loaded by the functions that announce or browse: an edge that does not advertise
# (advertise = false, every test edge) does not pay for it at start.

__all__ = ["SERVICE_TYPE", "Advertiser", "FoundEdge", "announce_on", "discover"]

SERVICE_TYPE = "_fnbpos._tcp.local."


class FoundEdge(Struct, kw_only=True):
    name: str
    outlet_id: str
    outlet_name: str
    version: str
    host: str
    port: int
    addresses: list[str]

    @property
    def url(self) -> str:
        address = self.addresses[0] if self.addresses else self.host.rstrip(".")
        return f"http://{address}:{self.port}"


_ANY_HOST = ("0.0.0.0", "", "::")


def _interfaces(pinned: list[str]) -> Any:
    from zeroconf import InterfaceChoice

    return pinned if pinned else InterfaceChoice.All


def _ipv4_of(host: str) -> list[str]:
    """The IPv4 addresses a listen host stands for (a name such as localhost is resolved)."""
    if _is_ipv4(host):
        return [host]
    try:
        found = socket.getaddrinfo(host, None, socket.AF_INET)
    except OSError:
        return []
    return sorted({str(info[4][0]) for info in found})


def announce_on(host: str, pinned: list[str]) -> list[str] | None:
    """The IPv4 interface addresses to announce on; None means every interface."""
    if pinned:
        return [a for a in pinned if _is_ipv4(a)]
    if host in _ANY_HOST:
        return None
    return _ipv4_of(host)


def _addresses(host: str, interfaces: list[str] | None) -> list[bytes]:
    if interfaces is not None:
        return [socket.inet_aton(a) for a in interfaces]
    found = {info[4][0] for info in socket.getaddrinfo(socket.gethostname(), None, socket.AF_INET)}
    return [socket.inet_aton(a) for a in sorted(found)] or [socket.inet_aton("127.0.0.1")]


def _is_ipv4(value: str) -> bool:
    try:
        socket.inet_aton(value)
    except OSError:
        return False
    return value.count(".") == 3


class Advertiser:
    """Registers the edge's service for as long as it runs."""

    def __init__(self, *, outlet_id: str, outlet_name: str, version: str, host: str, port: int,
                 interfaces: list[str]) -> None:
        from zeroconf.asyncio import AsyncServiceInfo

        label = "".join(ch for ch in outlet_name if ch.isalnum() or ch in " -")[:40].strip() or "edge"
        self.host = host
        self.interfaces = announce_on(host, interfaces)
        self.info = AsyncServiceInfo(
            SERVICE_TYPE, f"{label} {outlet_id[-8:]}.{SERVICE_TYPE}",
            port=port, addresses=_addresses(host, self.interfaces),
            properties={"outlet_id": outlet_id, "name": outlet_name, "version": version},
            server=f"fnbpos-{outlet_id[-8:]}.local.")
        self._zc: AsyncZeroconf | None = None

    async def start(self) -> None:
        if self.interfaces == []:  # e.g. an IPv6-only listen address: never fall back to all
            raise OSError(f"no IPv4 address to announce on for listen host {self.host!r}")
        from zeroconf import IPVersion
        from zeroconf.asyncio import AsyncZeroconf

        self._zc = AsyncZeroconf(interfaces=_interfaces(self.interfaces or []),
                                 ip_version=IPVersion.V4Only)
        await self._zc.async_register_service(self.info, allow_name_change=True)

    async def stop(self) -> None:
        if self._zc is not None:
            await self._zc.async_unregister_all_services()
            await self._zc.async_close()
            self._zc = None


async def discover(timeout: float = 3.0, interfaces: list[str] | None = None) -> list[FoundEdge]:
    """Browse for edges for ``timeout`` seconds; return what answered."""
    from zeroconf import IPVersion, ServiceStateChange
    from zeroconf.asyncio import AsyncServiceBrowser, AsyncServiceInfo, AsyncZeroconf

    zc = AsyncZeroconf(interfaces=_interfaces(interfaces or []), ip_version=IPVersion.V4Only)
    names: set[str] = set()

    def on_change(zeroconf: Any, service_type: str, name: str, state_change: ServiceStateChange) -> None:
        if state_change in (ServiceStateChange.Added, ServiceStateChange.Updated):
            names.add(name)

    browser = AsyncServiceBrowser(zc.zeroconf, SERVICE_TYPE, handlers=[on_change])
    try:
        await asyncio.sleep(timeout)
        found = []
        for name in sorted(names):
            info = AsyncServiceInfo(SERVICE_TYPE, name)
            if not await info.async_request(zc.zeroconf, 1500):
                continue
            props = {k.decode(): (v.decode() if v is not None else "") for k, v in info.properties.items()}
            found.append(FoundEdge(name=name, outlet_id=props.get("outlet_id", ""),
                                   outlet_name=props.get("name", ""), version=props.get("version", ""),
                                   host=info.server or "", port=info.port or 0,
                                   addresses=info.parsed_addresses()))
        return found
    finally:
        await browser.async_cancel()
        await zc.async_close()
