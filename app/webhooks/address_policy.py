"""Which callback URLs sharboard may call.

Only http and https, and never loopback, private, link-local, multicast, reserved or
cloud-metadata addresses unless the operator allows the host in
SHARBOARD_WEBHOOK_ALLOWED_HOSTS (entries: `host`, `host:port` or a CIDR like 10.0.0.0/8).
The check is made on every address the name resolves to, when the request is accepted
and again just before each delivery, so a DNS change cannot slip past it.
"""
from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from app.config import Settings

Resolver = Callable[[str, int], list[str]]
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


class AddressRefused(ValueError):
    """The URL may not be called; the message says why."""


def check_callback_url(url: str, settings: Settings, *, resolve: Resolver | None = None) -> list[str]:
    """Return the addresses `url` may be delivered to, or raise AddressRefused."""
    parts = urlsplit(url.strip())
    if parts.scheme not in ("http", "https"):
        raise AddressRefused(f"callback URL must use http or https, not {parts.scheme or 'no scheme'!r}")
    host = (parts.hostname or "").rstrip(".").lower()
    if not host:
        raise AddressRefused("callback URL has no host")
    if parts.username or parts.password:
        raise AddressRefused("callback URL must not carry a user name or password")
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
    except ValueError:
        raise AddressRefused("callback URL has an invalid port") from None
    if _allowed(host, port, None, settings.webhook_allowed_hosts):
        return list((resolve or _resolve)(host, port))
    if host in METADATA_HOSTS:
        raise AddressRefused(f"callback host {host} is a cloud metadata service")
    addresses = (resolve or _resolve)(host, port)
    if not addresses:
        raise AddressRefused(f"callback host {host} does not resolve")
    for address in addresses:
        ip = ipaddress.ip_address(address)
        if _is_internal(ip) and not _allowed(host, port, ip, settings.webhook_allowed_hosts):
            raise AddressRefused(
                f"callback host {host} resolves to {address}, an internal address; "
                "allow it in SHARBOARD_WEBHOOK_ALLOWED_HOSTS if that is intended")
    return addresses


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (ip.is_private or ip.is_loopback or ip.is_link_local or ip.is_multicast or ip.is_reserved
            or ip.is_unspecified or not ip.is_global)


def _allowed(host: str, port: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None,
             allowed: Iterable[str]) -> bool:
    for entry in allowed:
        entry = entry.strip().lower()
        if entry in (host, f"{host}:{port}"):
            return True
        if ip is not None and "/" in entry:
            try:
                if ip in ipaddress.ip_network(entry, strict=False):
                    return True
            except ValueError:
                continue
        elif ip is not None and entry in (str(ip), f"{ip}:{port}"):
            return True
    return False


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise AddressRefused(f"callback host {host} does not resolve: {exc}") from None
    return sorted({info[4][0] for info in infos})
