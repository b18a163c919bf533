"""One callback POST: to the vetted address only, within one total deadline, reading a bounded answer.

- **Pinned address.** The caller resolves the host once and vets every answer
  (address_policy); this module connects only to those addresses and never resolves the
  name again, so a DNS answer that changes between the check and the connection (rebinding)
  cannot redirect the request. The URL keeps its host name, so the `Host` header, TLS SNI
  and certificate verification all use the name, not the IP.
- **One deadline.** Connecting, TLS, sending and reading share one deadline: every socket
  operation waits at most for what is left of it, so a receiver that drips one byte every
  few seconds is cut off when the deadline passes, not when a per-read timeout would fire.
- **Bounded answer.** The body is streamed and at most `keep_bytes` are kept; the rest is
  never read (the connection is closed), so a huge body costs neither memory nor time.
- **No redirects, no proxies.** httpcore follows neither; a 3xx is returned as it is.
"""

from __future__ import annotations

import ssl
import time
import typing
from dataclasses import dataclass, field

import httpcore
import httpx

DEFAULT_KEEP_BYTES = 4096


class DeliveryFailed(Exception):
    """The attempt got no complete HTTP answer; the message says why (short, safe to store)."""


class _DeadlineExceeded(httpcore.TimeoutException):
    pass


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes  # at most keep_bytes
    body_bytes_read: int  # what was read off the connection (kept or not)
    body_complete: bool  # False when the body was cut off at keep_bytes
    peer: str = ""  # the address actually connected to

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


@dataclass
class _Deadline:
    seconds: float
    started: float = field(default_factory=time.monotonic)

    def remaining(self) -> float:
        left = self.started + self.seconds - time.monotonic()
        if left <= 0:
            raise _DeadlineExceeded(f"no complete answer within the {self.seconds:g} s deadline")
        return left

    def clamp(self, timeout: float | None) -> float:
        left = self.remaining()
        return left if timeout is None else min(timeout, left)

    @property
    def expired(self) -> bool:
        return time.monotonic() >= self.started + self.seconds


class _DeadlineStream(httpcore.NetworkStream):
    """A socket stream whose every operation waits at most for what is left of the deadline."""

    def __init__(self, stream: httpcore.NetworkStream, deadline: _Deadline) -> None:
        self._stream = stream
        self._deadline = deadline

    def read(self, max_bytes: int, timeout: float | None = None) -> bytes:
        return self._stream.read(max_bytes, self._deadline.clamp(timeout))

    def write(self, buffer: bytes, timeout: float | None = None) -> None:
        # A receiver that reads slowly must not stretch the deadline either: send in pieces.
        view = memoryview(buffer)
        while view:
            piece, view = view[:65536], view[65536:]
            self._stream.write(bytes(piece), self._deadline.clamp(timeout))

    def close(self) -> None:
        self._stream.close()

    def start_tls(
        self, ssl_context: ssl.SSLContext, server_hostname: str | None = None, timeout: float | None = None
    ) -> httpcore.NetworkStream:
        tls = self._stream.start_tls(ssl_context, server_hostname, self._deadline.clamp(timeout))
        return _DeadlineStream(tls, self._deadline)

    def get_extra_info(self, info: str) -> typing.Any:
        return self._stream.get_extra_info(info)


class _PinnedBackend(httpcore.NetworkBackend):
    """Connects to the vetted addresses of one host, in order, and never resolves a name."""

    def __init__(self, host: str, addresses: list[str], deadline: _Deadline) -> None:
        self._host = host
        self._addresses = list(addresses)
        self._deadline = deadline
        self._inner = httpcore.SyncBackend()
        self.peer = ""

    def connect_tcp(
        self,
        host: str,
        port: int,
        timeout: float | None = None,
        local_address: str | None = None,
        socket_options: typing.Iterable[typing.Any] | None = None,
    ) -> httpcore.NetworkStream:
        if host.strip("[]").lower() != self._host:
            # Only the callback's own host is ever connected to (httpcore follows no redirects).
            raise httpcore.ConnectError(f"refusing to connect to {host}: not the vetted callback host")
        last: Exception | None = None
        for address in self._addresses:
            try:
                stream = self._inner.connect_tcp(
                    address, port, self._deadline.clamp(timeout), local_address, socket_options
                )
            except httpcore.ConnectError as exc:
                last = exc
                continue
            self.peer = address
            return _DeadlineStream(stream, self._deadline)
        raise httpcore.ConnectError(f"could not connect to {self._host} at {', '.join(self._addresses)}: {last}")

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


def post(
    url: str,
    body: bytes,
    headers: dict[str, str],
    *,
    addresses: list[str],
    deadline: float,
    started: float | None = None,
    keep_bytes: int = DEFAULT_KEEP_BYTES,
    ssl_context: ssl.SSLContext | None = None,
) -> Answer:
    """POST `body` to `url`, connecting only to `addresses` (the vetted answers for its host).

    The deadline is `deadline` seconds from `started` (a time.monotonic() value; default: now),
    so a caller can count its own preparation (e.g. the DNS lookup) in it. Returns the answer
    (whatever its status, redirects included, never followed) with at most `keep_bytes` of its
    body; raises DeliveryFailed when no complete answer came in time.
    """
    clock = _Deadline(deadline, time.monotonic() if started is None else started)
    if clock.expired:
        raise DeliveryFailed(f"no complete answer within the {deadline:g} s deadline")
    parsed, target = _parse_url(url)
    if not addresses:
        raise DeliveryFailed("no vetted address to connect to")
    backend = _PinnedBackend(parsed.raw_host.decode("ascii").lower(), addresses, clock)
    try:
        return _exchange(
            parsed, target, body, headers, backend, deadline=deadline, ssl_context=ssl_context, keep_bytes=keep_bytes
        )
    except _TRANSPORT_ERRORS as exc:
        raise _delivery_failure(exc, clock) from None


def _parse_url(url: str) -> tuple[httpx.URL, httpcore.URL]:
    """The callback URL as httpx reads it, and as the request target httpcore sends."""
    try:
        parsed = httpx.URL(url.strip())  # IDNA host names become their ASCII (punycode) form
        target = httpcore.URL(scheme=parsed.raw_scheme, host=parsed.raw_host, port=parsed.port, target=parsed.raw_path)
    except (httpx.InvalidURL, UnicodeError, TypeError, ValueError) as exc:
        raise DeliveryFailed(f"invalid callback URL: {exc}") from None
    return parsed, target


def _exchange(
    parsed: httpx.URL,
    target: httpcore.URL,
    body: bytes,
    headers: dict[str, str],
    backend: _PinnedBackend,
    *,
    deadline: float,
    ssl_context: ssl.SSLContext | None,
    keep_bytes: int,
) -> Answer:
    """Send the POST over a one-connection pool on the pinned backend and read its bounded answer."""
    timeouts = {"connect": deadline, "read": deadline, "write": deadline, "pool": deadline}
    pool = httpcore.ConnectionPool(
        ssl_context=ssl_context, network_backend=backend, max_connections=1, max_keepalive_connections=0, retries=0
    )
    sent = _request_headers(parsed, headers)
    with (
        pool,
        pool.stream("POST", target, headers=sent, content=body, extensions={"timeout": timeouts}) as response,
    ):
        return _read_answer(response, keep_bytes, backend.peer)


def _request_headers(parsed: httpx.URL, headers: dict[str, str]) -> list[tuple[str, str]]:
    # Host as httpx writes it (IPv6 literals in brackets, default ports left out).
    sent = [("Host", parsed.netloc.decode("ascii"))] if not any(k.lower() == "host" for k in headers) else []
    sent += list(headers.items())
    return sent


def _read_answer(response: httpcore.Response, keep_bytes: int, peer: str) -> Answer:
    """At most `keep_bytes` of the streamed body; the rest is never read."""
    kept = bytearray()
    read = 0
    complete = True
    for chunk in response.iter_stream():
        read += len(chunk)
        kept += chunk[: max(keep_bytes - len(kept), 0)]
        if read > keep_bytes:
            complete = False
            break  # leaving the caller's block closes the connection; the rest is never read
    answer_headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in response.headers}
    return Answer(response.status, answer_headers, bytes(kept), read, complete, peer)


# What an attempt that got no complete HTTP answer can raise, each turned into DeliveryFailed.
_TRANSPORT_ERRORS = (
    httpcore.TimeoutException,
    httpcore.ProtocolError,
    httpcore.NetworkError,
    httpcore.UnsupportedProtocol,
    httpcore.LocalProtocolError,
    httpcore.RemoteProtocolError,
    ssl.SSLError,
    OSError,
)


def _delivery_failure(exc: BaseException, clock: _Deadline) -> DeliveryFailed:
    """Why the attempt failed, short and safe to store: the deadline when it passed, else the error."""
    if isinstance(exc, _DeadlineExceeded):
        return DeliveryFailed(str(exc))
    if isinstance(exc, httpcore.TimeoutException) and clock.expired:
        return DeliveryFailed(f"no complete answer within the {clock.seconds:g} s deadline")
    return DeliveryFailed(f"{exc.__class__.__name__}: {exc}")
