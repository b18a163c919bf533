"""Small real servers the tests talk to over real sockets."""

from __future__ import annotations

import json
import socket
import threading
import time
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import httpx


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


# How often a served socket looks for a stop: shutdown() waits up to this long (the standard
# library's 0.5 s was half a second of every test that stops a server).
STOP_POLL = 0.05


def serving(server: Any, name: str | None = None) -> threading.Thread:
    """Serve `server` (socketserver or werkzeug) on a started daemon thread; `server.shutdown()` stops it."""
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": STOP_POLL}, daemon=True, name=name)
    thread.start()
    return thread


def answers(url: str, timeout: float = 1.0) -> bool:
    """Whether a server answers GET `url` with 200 (a health check); not listening is False."""
    try:
        return httpx.get(url, timeout=timeout).status_code == 200
    except httpx.HTTPError:
        return False


@dataclass
class ReceivedRequest:
    path: str
    headers: dict[str, str]
    body: bytes
    at: float
    # With `standard_secret` set: True when the `standardwebhooks` package verified the
    # request, else that package's error message.
    standard_verified: bool | str | None = None

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class WebhookReceiver:
    """An HTTP server that records every POST and answers as the test chooses.

    `mode`: "normal" (status from `status_codes`, then 200), "drip_headers" / "drip_body"
    (one byte every `drip_interval` seconds, for ever), "huge" (a 200 whose body is
    `huge_bytes` long, generated as it is sent), "redirect" (302 to `redirect_location`),
    "hold" (answer only once `release` is set). `body_bytes_sent` counts what the receiver
    managed to send of its answers' bodies.
    """

    status_codes: list[int] = field(default_factory=list)  # answered in turn, then 200
    requests: list[ReceivedRequest] = field(default_factory=list)
    mode: str = "normal"
    drip_interval: float = 1.0
    huge_bytes: int = 1 << 30
    redirect_location: str = ""
    answer_body: bytes | None = None  # "normal" mode's body (default {"received": true})
    standard_secret: str | bytes | None = None
    body_bytes_sent: int = 0
    answers_cut_off: int = 0
    release: threading.Event = field(default_factory=threading.Event)
    holding: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def do_POST(self) -> None:  # noqa: N802
                length = int(self.headers.get("Content-Length", 0))
                body = self.rfile.read(length)
                request = ReceivedRequest(self.path, dict(self.headers), body, time.time())
                if receiver.standard_secret is not None:
                    request.standard_verified = _standard_verify(receiver.standard_secret, body, dict(self.headers))
                receiver.requests.append(request)
                try:
                    self._answer()
                except (BrokenPipeError, ConnectionResetError):
                    receiver.answers_cut_off += 1
                self.close_connection = True

            def _answer(self) -> None:
                mode = receiver.mode
                if mode == "drip_headers":
                    for byte in b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n" * 1000:
                        self.wfile.write(bytes([byte]))
                        self.wfile.flush()
                        time.sleep(receiver.drip_interval)  # the slow receiver itself, not a wait
                    return
                if mode == "hold":
                    receiver.holding.set()
                    receiver.release.wait(120)
                if mode == "redirect":
                    self.send_response(302)
                    self.send_header("Location", receiver.redirect_location)
                    self.send_header("Content-Length", "0")
                    self.end_headers()
                    return
                status = receiver.status_codes.pop(0) if receiver.status_codes else 200
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                if mode == "drip_body":
                    self.send_header("Content-Length", "1000000")
                    self.end_headers()
                    for _ in range(1000000):
                        self.wfile.write(b"x")
                        self.wfile.flush()
                        receiver.body_bytes_sent += 1
                        time.sleep(receiver.drip_interval)
                    return
                if mode == "huge":
                    self.send_header("Content-Length", str(receiver.huge_bytes))
                    self.end_headers()
                    chunk = b"E" * 65536
                    left = receiver.huge_bytes
                    while left > 0:
                        piece = chunk[:left]
                        self.wfile.write(piece)
                        receiver.body_bytes_sent += len(piece)
                        left -= len(piece)
                    return
                answer = receiver.answer_body if receiver.answer_body is not None else b'{"received": true}'
                self.send_header("Content-Length", str(len(answer)))
                self.end_headers()
                self.wfile.write(answer)
                receiver.body_bytes_sent += len(answer)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.server.daemon_threads = True
        self.thread = serving(self.server)

    @property
    def port(self) -> int:
        return self.server.server_address[1]

    def url(self, path: str = "/hook") -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def stop(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


def _standard_verify(secret: str | bytes, body: bytes, headers: dict[str, str]) -> bool | str:
    """Verify with the `standardwebhooks` package from PyPI (not with sharboard's own code)."""
    from standardwebhooks.webhooks import Webhook, WebhookVerificationError

    try:
        Webhook(secret).verify(body, headers)
    except WebhookVerificationError as exc:
        return str(exc)
    return True


class SmtpSink:
    """A real SMTP server (aiosmtpd) that keeps every message it receives."""

    def __init__(self, port: int | None = None) -> None:
        from aiosmtpd.controller import Controller

        self.messages: list[Any] = []
        sink = self

        class Handler:
            async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
                from email import message_from_bytes, policy

                sink.messages.append(message_from_bytes(envelope.content, policy=policy.default))
                return "250 OK"

        self.port = port or free_port()
        self.controller = Controller(Handler(), hostname="127.0.0.1", port=self.port)
        self.controller.start()

    def stop(self) -> None:
        self.controller.stop()


def wait_until(predicate: Any, *, timeout: float = 20.0, interval: float = 0.1, what: str = "condition") -> Any:
    """Poll `predicate` until it returns something truthy, and return that; fail the test (or the
    benchmark) with `what` otherwise. The one polling loop of the tests and benchmarks."""
    deadline = time.monotonic() + timeout
    while True:
        value = predicate()
        if value:
            return value
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out after {timeout:.0f} s waiting for {what}")
        time.sleep(interval)
