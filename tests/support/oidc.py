"""A real OpenID provider for the single sign-on tests (tests/oidc_provider: panva's oidc-provider on
Debian's Node), a person signing in at it without a browser (its own forms, over HTTP), and a
man in the middle of its token endpoint that changes the ID token on its way to the dashboard."""

from __future__ import annotations

import json
import os
import re
import subprocess
from collections.abc import Callable
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urljoin

import httpx

from tests.support.servers import answers, free_port, serving, wait_until
from tests.support.stack import REPO

PROVIDER_DIR = REPO / "tests" / "oidc_provider"
NAME = "Test IdP"


def _account(email: str, groups: list[str], *, verified: bool = True) -> dict[str, Any]:
    login = email.split("@")[0]
    claims = {"email": email, "email_verified": verified, "name": login.title(), "groups": groups}
    return {"password": f"{login}-pass-1", "claims": claims}


ACCOUNTS = {
    "alice": _account("alice@example.com", ["ops-admins", "staff"]),
    "bob": _account("bob@example.com", ["staff"]),
    "carol": _account("carol@example.com", ["ops-admins"], verified=False),
    "dave": _account("dave@example.com", ["contractors"]),
}


def password(login: str) -> str:
    return ACCOUNTS[login]["password"]


class OidcProvider:
    """oidc-provider on a free port; each test registers its own client (Dynamic Client Registration)."""

    def __init__(self) -> None:
        if not (PROVIDER_DIR / "node_modules" / "oidc-provider").is_dir():
            raise RuntimeError("the test provider is not installed: npm ci --prefix tests/oidc_provider")
        self.port = free_port()
        self.issuer = f"http://127.0.0.1:{self.port}"
        env = {**os.environ, "PORT": str(self.port), "OIDC_ACCOUNTS": json.dumps(ACCOUNTS)}
        self.process = subprocess.Popen(
            ["node", "provider.mjs"],
            cwd=PROVIDER_DIR,
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            start_new_session=True,
        )
        wait_until(lambda: answers(self.discovery_url), timeout=20, what="the OpenID provider to answer")

    @property
    def discovery_url(self) -> str:
        return f"{self.issuer}/.well-known/openid-configuration"

    def register(self, base_url: str) -> dict[str, Any]:
        """A new client for a dashboard at `base_url`: the settings that dashboard signs in with."""
        answer = httpx.post(
            f"{self.issuer}/reg",
            json={
                "redirect_uris": [f"{base_url}/login/sso/callback"],
                "post_logout_redirect_uris": [f"{base_url}/login"],
            },
        )
        answer.raise_for_status()
        client = answer.json()
        return {
            "oidc_discovery_url": self.discovery_url,
            "oidc_client_id": client["client_id"],
            "oidc_client_secret": client["client_secret"],
            "oidc_scopes": "openid email profile groups",
            "oidc_provider_name": NAME,
        }

    def stop(self) -> None:
        self.process.terminate()
        try:
            self.process.wait(10)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()


def sign_in_at_provider(authorize_url: str, login: str, secret: str, back_to: str) -> str:
    """Go through the provider's own pages as a person does (sign in, allow) from the authorization
    request; the URL it sends the browser back to (starting with `back_to`: the callback, with code and state)."""
    url = authorize_url
    with httpx.Client(timeout=10) as http:
        answer = http.get(url)
        for _ in range(12):
            if answer.is_redirect:
                url = urljoin(url, answer.headers["location"])
                if url.startswith(back_to):
                    return url
                answer = http.get(url)
                continue
            action = re.search(r'<form method="post" action="([^"]+)"', answer.text)
            assert answer.status_code == 200 and action, f"unexpected provider page: {answer.text[:500]}"
            url = urljoin(url, action.group(1))
            form = {"login": login, "password": secret} if 'name="password"' in answer.text else {}
            answer = http.post(url, data=form)
    raise AssertionError(f"the provider never sent the browser back; last page: {answer.text[:500]}")


class TamperingProxy:
    """Serves the provider's discovery document with its token endpoint pointed here, and passes token
    requests on, handing back what `tamper` makes of the ID token (None: no ID token at all)."""

    def __init__(self, provider: OidcProvider, tamper: Callable[[str], str | None]) -> None:
        self.provider, self.tamper = provider, tamper
        proxy = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                document = httpx.get(provider.discovery_url).json()
                document["token_endpoint"] = f"{proxy.url}/token"
                self._send(200, document)

            def do_POST(self) -> None:  # noqa: N802
                body = self.rfile.read(int(self.headers.get("Content-Length", 0)))
                headers = {k: v for k, v in self.headers.items() if k.lower() in ("authorization", "content-type")}
                real = httpx.post(
                    httpx.get(provider.discovery_url).json()["token_endpoint"], content=body, headers=headers
                )
                answer = real.json()
                if "id_token" in answer:
                    changed = proxy.tamper(answer["id_token"])
                    if changed is None:
                        del answer["id_token"]
                    else:
                        answer["id_token"] = changed
                self._send(real.status_code, answer)

            def _send(self, status: int, document: dict[str, Any]) -> None:
                data = json.dumps(document).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = serving(self.server)

    @property
    def discovery_url(self) -> str:
        return f"{self.url}/.well-known/openid-configuration"

    def stop(self) -> None:
        self.server.shutdown()
        self.server.server_close()
