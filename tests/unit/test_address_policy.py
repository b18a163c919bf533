"""Which callback URLs may be called: a pure function over a resolver the test supplies."""
import pytest

from app.config import Settings
from app.webhooks.address_policy import AddressRefused, check_callback_url


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda host, port: table.get(host, [])


@pytest.mark.parametrize(("url", "addresses", "reason"), [
    ("http://127.0.0.1:9/x", ["127.0.0.1"], "internal"),
    ("http://169.254.169.254/latest", ["169.254.169.254"], "internal"),
    ("http://metadata.google.internal/", ["169.254.169.254"], "metadata"),
    ("http://internal.example/", ["10.0.0.7"], "internal"),
    ("http://mixed.example/", ["93.184.216.34", "192.168.1.5"], "internal"),
    ("http://v6.example/", ["::1"], "internal"),
    ("http://mapped.example/", ["::ffff:127.0.0.1"], "internal"),
    ("ftp://example.com/", ["93.184.216.34"], "http or https"),
    ("http://user:pw@example.com/", ["93.184.216.34"], "user name"),
    ("http://nowhere.example/", [], "does not resolve"),
])
def test_refused(url: str, addresses: list[str], reason: str) -> None:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    with pytest.raises(AddressRefused, match=reason):
        check_callback_url(url, Settings.from_env({}), resolve=resolver({host: addresses}))


def test_public_address_is_allowed() -> None:
    assert check_callback_url("https://hooks.example.com/x", Settings.from_env({}),
                              resolve=resolver({"hooks.example.com": ["93.184.216.34"]})) == ["93.184.216.34"]


@pytest.mark.parametrize("allowed", ["127.0.0.1:8111", "127.0.0.0/8", "127.0.0.1"])
def test_operator_can_allow_an_internal_host(allowed: str) -> None:
    settings = Settings.from_env({"SHARBOARD_WEBHOOK_ALLOWED_HOSTS": allowed})
    check_callback_url("http://127.0.0.1:8111/hook", settings, resolve=resolver({"127.0.0.1": ["127.0.0.1"]}))


def test_allowing_one_port_does_not_allow_another() -> None:
    settings = Settings.from_env({"SHARBOARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:8111"})
    with pytest.raises(AddressRefused):
        check_callback_url("http://127.0.0.1:8112/hook", settings, resolve=resolver({"127.0.0.1": ["127.0.0.1"]}))
