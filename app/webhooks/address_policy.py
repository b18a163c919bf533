"""Which callback URLs sharboard may call.

Only http and https, and never loopback, private, link-local, multicast, reserved or
cloud-metadata addresses unless the operator allows the host in
SHARBOARD_WEBHOOK_ALLOWED_HOSTS (entries: `host`, `host:port` or a CIDR like 10.0.0.0/8).
IPv6 addresses that wrap an IPv4 address (IPv4-mapped ::ffff:0:0/96, IPv4-compatible ::/96,
6to4 2002::/16, Teredo 2001::/32, NAT64 64:ff9b::/96) are judged by the address they wrap
as well, so 2002:7f00:1:: (127.0.0.1 in 6to4) is internal.

The check is made on every address the name resolves to, when the request is accepted
and again just before each delivery; the delivery then connects only to the addresses
this check returned (transport.py pins them), so a DNS change cannot slip past it.
"""

from __future__ import annotations

import ipaddress
import socket
from collections.abc import Callable, Iterable
from urllib.parse import urlsplit

from app.core.config import Settings

Resolver = Callable[[str, int], list[str]]
METADATA_HOSTS = frozenset({"metadata.google.internal", "metadata", "instance-data"})


class AddressRefused(ValueError):
    """The URL may not be called; the message says why. Where the why would tell the caller what an
    internal name resolves to, the message says only that the host is not allowed, and `detail`
    (for the server's log, never an answer) says what it resolved to."""

    def __init__(self, message: str, *, detail: str | None = None) -> None:
        super().__init__(message)
        self.detail = detail or message


def _not_public(host: str, detail: str) -> AddressRefused:
    # One answer whether the name does not resolve or resolves inside: anyone who may set a callback
    # must not learn the internal network's names and addresses from the refusals.
    return AddressRefused(
        f"callback host {host} is not allowed: it does not resolve to a public address "
        "(an admin can allow an internal host in SHARBOARD_WEBHOOK_ALLOWED_HOSTS)",
        detail=detail,
    )


class ResolveTimeout(AddressRefused):
    """The name did not resolve in time: not a verdict on the address, worth another try later."""


def check_callback_url(url: str, settings: Settings, *, resolve: Resolver | None = None) -> list[str]:
    """Return the addresses `url` may be delivered to, or raise AddressRefused.

    The name is looked up within SHARBOARD_WEBHOOK_TIMEOUT (ResolveTimeout past it), whether a
    web request is accepting the URL or a worker is about to deliver to it.
    """
    resolve = resolve or resolver_within(settings.webhook_timeout)
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
        return list(resolve(host, port))
    if host in METADATA_HOSTS:
        raise AddressRefused(f"callback host {host} is a cloud metadata service")
    addresses = resolve(host, port)
    if not addresses:
        raise _not_public(host, f"callback host {host} does not resolve")
    for address in addresses:
        try:
            ip = ipaddress.ip_address(address.split("%", 1)[0])
        except ValueError:
            raise _not_public(host, f"callback host {host} resolves to {address!r}, not an IP address") from None
        wrapped = _wrapped_ipv4(ip)
        # A wrapper is judged by what it wraps (NAT64 of a public address is how IPv6-only
        # networks reach IPv4 hosts); anything else by itself.
        internal = any(_is_internal(inner) for _, inner in wrapped) if wrapped else _is_internal(ip)
        if internal:
            if _allowed(host, port, ip, settings.webhook_allowed_hosts):
                continue
            what = "".join(f", a {kind} address wrapping {inner}" for kind, inner in wrapped)
            raise _not_public(host, f"callback host {host} resolves to {address}{what}, an internal address")
    return addresses


IPV4_COMPATIBLE = ipaddress.ip_network("::/96")
NAT64 = ipaddress.ip_network("64:ff9b::/96")
NAT64_LOCAL = ipaddress.ip_network("64:ff9b:1::/48")


def _wrapped_ipv4(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> list[tuple[str, ipaddress.IPv4Address]]:
    """The IPv4 addresses an IPv6 address carries inside it, with the kind of wrapper."""
    if not isinstance(ip, ipaddress.IPv6Address):
        return []
    found: list[tuple[str, ipaddress.IPv4Address]] = []
    low32 = ipaddress.IPv4Address(int(ip) & 0xFFFFFFFF)
    if ip.ipv4_mapped is not None:
        found.append(("IPv4-mapped", ip.ipv4_mapped))
    elif ip in IPV4_COMPATIBLE and int(ip) > 1:  # :: and ::1 are themselves internal
        found.append(("IPv4-compatible", low32))
    if ip.sixtofour is not None:
        found.append(("6to4", ip.sixtofour))
    if ip.teredo is not None:
        server, client = ip.teredo
        found += [("Teredo", server), ("Teredo", client)]
    if ip in NAT64 or ip in NAT64_LOCAL:
        found.append(("NAT64", low32))
    return found


def _is_internal(ip: ipaddress.IPv4Address | ipaddress.IPv6Address) -> bool:
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped
    return (
        ip.is_private
        or ip.is_loopback
        or ip.is_link_local
        or ip.is_multicast
        or ip.is_reserved
        or ip.is_unspecified
        or not ip.is_global
    )


def _allowed(
    host: str, port: int, ip: ipaddress.IPv4Address | ipaddress.IPv6Address | None, allowed: Iterable[str]
) -> bool:
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


def resolver_within(seconds: float, resolve: Resolver | None = None) -> Resolver:
    """A resolver (default: the system's) that gives up after `seconds`: a slow DNS server must not hold a worker."""
    lookup = resolve or _resolve
    import concurrent.futures

    def resolve(host: str, port: int) -> list[str]:
        pool = concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="callback-dns")
        try:
            return pool.submit(lookup, host, port).result(timeout=seconds)
        except concurrent.futures.TimeoutError:
            raise ResolveTimeout(f"callback host {host} did not resolve within {seconds:g} s") from None
        finally:
            pool.shutdown(wait=False)  # a lookup still running ends on its own; nobody waits for it

    return resolve


def _resolve(host: str, port: int) -> list[str]:
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise _not_public(host, f"callback host {host} does not resolve: {exc}") from None
    return sorted({info[4][0] for info in infos})
