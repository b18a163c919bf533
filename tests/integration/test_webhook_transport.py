"""One callback POST against real servers: pinned address, one total deadline, bounded answers, no redirects."""

from __future__ import annotations

import shutil
import ssl
import subprocess
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from app.webhooks.transport import DEFAULT_KEEP_BYTES, DeliveryFailed, post
from tests.support.servers import WebhookReceiver, serving, wait_until

# A name that never resolves (RFC 6761): a request that arrives proves no lookup was made.
UNRESOLVABLE = "hook.invalid"


def test_connects_to_the_vetted_address_and_keeps_the_host_name(receiver: WebhookReceiver) -> None:
    answer = post(
        f"http://{UNRESOLVABLE}:{receiver.port}/pinned",
        b"{}",
        {"Content-Type": "application/json"},
        addresses=["127.0.0.1"],
        deadline=5,
    )
    assert answer.status == 200 and answer.peer == "127.0.0.1"
    assert receiver.requests[0].headers["Host"] == f"{UNRESOLVABLE}:{receiver.port}"
    assert receiver.requests[0].path == "/pinned"


def test_tries_the_next_vetted_address_and_never_any_other(receiver: WebhookReceiver) -> None:
    # 127.0.0.2 refuses the port (nothing listens there), 127.0.0.1 answers.
    answer = post(
        f"http://{UNRESOLVABLE}:{receiver.port}/x", b"{}", {}, addresses=["127.0.0.2", "127.0.0.1"], deadline=5
    )
    assert answer.status == 200 and answer.peer == "127.0.0.1"
    with pytest.raises(DeliveryFailed, match="could not connect"):
        post(f"http://{UNRESOLVABLE}:{receiver.port}/x", b"{}", {}, addresses=["127.0.0.2"], deadline=5)


@pytest.mark.timeout(30)
@pytest.mark.parametrize("mode", ["drip_headers", "drip_body"])
def test_a_dripping_receiver_is_cut_off_at_the_total_deadline(receiver: WebhookReceiver, mode: str) -> None:
    # One byte every 0.3 s: no single read ever waits 2 s, so only a total deadline stops it.
    receiver.mode, receiver.drip_interval = mode, 0.3
    started = time.monotonic()
    with pytest.raises(DeliveryFailed, match="within the 2 s deadline"):
        post(receiver.url(), b"{}", {}, addresses=["127.0.0.1"], deadline=2)
    elapsed = time.monotonic() - started
    assert 1.9 <= elapsed < 3.0


def test_a_huge_answer_is_read_only_up_to_the_kept_bytes(receiver: WebhookReceiver) -> None:
    receiver.mode, receiver.huge_bytes = "huge", 1 << 30  # 1 GiB, generated as it is sent
    answer = post(receiver.url(), b"{}", {}, addresses=["127.0.0.1"], deadline=10)
    assert answer.status == 200
    assert answer.body == b"E" * DEFAULT_KEEP_BYTES and not answer.body_complete
    assert answer.body_bytes_read <= DEFAULT_KEEP_BYTES + 65536  # at most one socket read more than kept
    # The connection was closed on the receiver, which could only push what the socket buffers hold.
    wait_until(lambda: receiver.answers_cut_off == 1, timeout=10, what="the receiver to be cut off")
    assert receiver.body_bytes_sent < 64 * 1024 * 1024


def test_a_redirect_is_returned_not_followed(receiver: WebhookReceiver) -> None:
    target = WebhookReceiver()
    try:
        receiver.mode, receiver.redirect_location = "redirect", target.url("/internal")
        answer = post(receiver.url(), b"{}", {}, addresses=["127.0.0.1"], deadline=5)
        assert answer.status == 302 and answer.headers["location"] == target.url("/internal")
        assert target.requests == []
    finally:
        target.stop()


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is needed to make a test certificate")
    folder = tmp_path_factory.mktemp("tls")
    cert, key = folder / "cert.pem", folder / "key.pem"
    subprocess.run(
        [
            "openssl",
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-keyout",
            str(key),
            "-out",
            str(cert),
            "-days",
            "1",
            "-subj",
            f"/CN={UNRESOLVABLE}",
            "-addext",
            f"subjectAltName=DNS:{UNRESOLVABLE}",
        ],
        check=True,
        capture_output=True,
    )
    return cert, key


@pytest.fixture
def tls_server(certificate: tuple[Path, Path]) -> Iterator[dict[str, Any]]:
    """An HTTPS server for hook.invalid that records the SNI name and Host header it got."""
    seen: dict[str, Any] = {"sni": [], "hosts": []}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            seen["hosts"].append(self.headers["Host"])
            self.send_response(200)
            self.send_header("Content-Length", "2")
            self.end_headers()
            self.wfile.write(b"ok")

        def log_message(self, *args: Any) -> None:
            pass

    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(*certificate)
    context.sni_callback = lambda sock, name, ctx: seen["sni"].append(name)
    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.socket = context.wrap_socket(server.socket, server_side=True)
    serving(server)
    seen["port"] = server.server_address[1]
    yield seen
    server.shutdown()
    server.server_close()


def test_https_to_a_pinned_address_uses_the_name_for_sni_and_certificate(tls_server, certificate) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    answer = post(
        f"https://{UNRESOLVABLE}:{tls_server['port']}/x",
        b"{}",
        {},
        addresses=["127.0.0.1"],
        deadline=5,
        ssl_context=trust,
    )
    assert answer.status == 200 and answer.body == b"ok"
    assert tls_server["sni"] == [UNRESOLVABLE]
    assert tls_server["hosts"] == [f"{UNRESOLVABLE}:{tls_server['port']}"]


def test_https_certificate_is_checked_against_the_name_not_the_address(tls_server, certificate) -> None:
    trust = ssl.create_default_context(cafile=str(certificate[0]))
    # The same server reached by its IP: the certificate names hook.invalid, so this must fail.
    with pytest.raises(DeliveryFailed, match="CERTIFICATE_VERIFY_FAILED|match"):
        post(
            f"https://127.0.0.1:{tls_server['port']}/x",
            b"{}",
            {},
            addresses=["127.0.0.1"],
            deadline=5,
            ssl_context=trust,
        )


def test_an_ipv6_literal_is_sent_with_a_bracketed_host() -> None:
    import socket

    class Server6(ThreadingHTTPServer):
        address_family = socket.AF_INET6

    hosts: list[str] = []

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:  # noqa: N802
            self.rfile.read(int(self.headers.get("Content-Length", 0)))
            hosts.append(self.headers["Host"])
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args: Any) -> None:
            pass

    try:
        server = Server6(("::1", 0), Handler)
    except OSError:
        pytest.skip("no IPv6 loopback here")
    serving(server)
    try:
        port = server.server_address[1]
        answer = post(f"http://[::1]:{port}/x", b"{}", {}, addresses=["::1"], deadline=5)
        assert answer.status == 204 and answer.peer == "::1"
        assert hosts == [f"[::1]:{port}"]
    finally:
        server.shutdown()
        server.server_close()
