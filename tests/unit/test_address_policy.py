"""Which callback URLs may be called: a pure function over a resolver the test supplies."""

import pytest

from app.core.config import Settings
from app.webhooks.address_policy import AddressRefused, check_callback_url


def resolver(table: dict[str, list[str]]):  # type: ignore[no-untyped-def]
    return lambda host, port: table.get(host, [])


@pytest.mark.parametrize(
    ("url", "addresses", "reason"),
    [
        ("http://127.0.0.1:9/x", ["127.0.0.1"], "internal"),
        ("http://169.254.169.254/latest", ["169.254.169.254"], "internal"),
        ("http://metadata.google.internal/", ["169.254.169.254"], "metadata"),
        ("http://internal.example/", ["10.0.0.7"], "internal"),
        ("http://mixed.example/", ["93.184.216.34", "192.168.1.5"], "internal"),
        ("http://v6.example/", ["::1"], "internal"),
        ("http://mapped.example/", ["::ffff:127.0.0.1"], "internal"),
        ("http://mapped10.example/", ["::ffff:10.0.0.1"], "IPv4-mapped address wrapping 10.0.0.1"),
        ("http://compat.example/", ["::127.0.0.1"], "internal"),
        ("http://compat169.example/", ["::169.254.169.254"], "internal"),
        ("http://6to4.example/", ["2002:7f00:1::"], "6to4 address wrapping 127.0.0.1, an internal"),
        ("http://6to4-meta.example/", ["2002:a9fe:a9fe::1"], "6to4 address wrapping 169.254.169.254"),
        ("http://6to4-private.example/", ["2002:c0a8:0101::"], "6to4 address wrapping 192.168.1.1"),
        ("http://teredo.example/", ["2001:0:5db8:d822:0:f227:80ff:fffe"], "Teredo address wrapping 127.0.0.1"),
        ("http://nat64.example/", ["64:ff9b::7f00:1"], "NAT64 address wrapping 127.0.0.1"),
        ("http://nat64-10.example/", ["64:ff9b::a00:1"], "NAT64 address wrapping 10.0.0.1"),
        ("http://mixed6.example/", ["2606:4700::1111", "2002:7f00:1::"], "6to4"),
        ("ftp://example.com/", ["93.184.216.34"], "http or https"),
        ("http://user:pw@example.com/", ["93.184.216.34"], "user name"),
        ("http://nowhere.example/", [], "does not resolve"),
    ],
)
def test_refused(url: str, addresses: list[str], reason: str) -> None:
    from urllib.parse import urlsplit

    host = urlsplit(url).hostname or ""
    with pytest.raises(AddressRefused) as refused:
        check_callback_url(url, Settings.from_env({}), resolve=resolver({host: addresses}))
    assert reason in refused.value.detail
    # The answer never says what the name resolved to: that would map the internal network for anyone.
    assert not any(address in str(refused.value) for address in addresses if address != host)


def test_an_internal_name_and_a_name_that_does_not_resolve_get_the_same_answer() -> None:
    table = resolver({"db.corp.example": ["10.0.0.7"]})
    answers = []
    for host in ("db.corp.example", "nowhere.corp.example"):
        with pytest.raises(AddressRefused) as refused:
            check_callback_url(f"http://{host}/", Settings.from_env({}), resolve=table)
        answers.append(str(refused.value).replace(host, "HOST"))
    assert answers[0] == answers[1]
    assert "SHARBOARD_WEBHOOK_ALLOWED_HOSTS" in answers[0]


@pytest.mark.parametrize("address", ["2002:5db8:d822::1", "64:ff9b::5db8:d822", "2606:4700::1111"])
def test_wrappers_of_public_addresses_are_allowed(address: str) -> None:
    # The wrapper itself is not the problem; what it wraps is.
    assert check_callback_url(
        "https://hooks.example.com/x", Settings.from_env({}), resolve=resolver({"hooks.example.com": [address]})
    ) == [address]


def test_public_address_is_allowed() -> None:
    assert check_callback_url(
        "https://hooks.example.com/x", Settings.from_env({}), resolve=resolver({"hooks.example.com": ["93.184.216.34"]})
    ) == ["93.184.216.34"]


@pytest.mark.parametrize("allowed", ["127.0.0.1:8111", "127.0.0.0/8", "127.0.0.1"])
def test_operator_can_allow_an_internal_host(allowed: str) -> None:
    settings = Settings.from_env({"SHARBOARD_WEBHOOK_ALLOWED_HOSTS": allowed})
    check_callback_url("http://127.0.0.1:8111/hook", settings, resolve=resolver({"127.0.0.1": ["127.0.0.1"]}))


def test_allowing_one_port_does_not_allow_another() -> None:
    settings = Settings.from_env({"SHARBOARD_WEBHOOK_ALLOWED_HOSTS": "127.0.0.1:8111"})
    with pytest.raises(AddressRefused):
        check_callback_url("http://127.0.0.1:8112/hook", settings, resolve=resolver({"127.0.0.1": ["127.0.0.1"]}))


def test_a_slow_lookup_gives_up_within_its_time() -> None:
    import threading
    import time

    from app.webhooks.address_policy import ResolveTimeout, resolver_within

    release = threading.Event()

    def stalled(host: str, port: int) -> list[str]:  # a DNS server that does not answer
        release.wait(5)
        return ["93.184.216.34"]

    started = time.monotonic()
    try:
        with pytest.raises(ResolveTimeout, match="did not resolve within 0.3 s"):
            resolver_within(0.3, stalled)("slow.example", 443)
    finally:
        release.set()
    assert time.monotonic() - started < 2
    assert resolver_within(5)("127.0.0.1", 80) == ["127.0.0.1"]  # the system resolver, bounded


def test_a_slow_name_lookup_is_cut_off_wherever_the_url_is_checked(monkeypatch) -> None:  # type: ignore[no-untyped-def]
    """Accepting a callback URL in a web request uses the same time limit as delivering to it."""
    import time

    from app.webhooks import address_policy

    monkeypatch.setattr(address_policy, "_resolve", lambda host, port: time.sleep(5) or ["93.184.216.34"])
    started = time.monotonic()
    with pytest.raises(address_policy.ResolveTimeout, match="did not resolve within 0.2 s"):
        check_callback_url("https://slow.example.com/x", Settings.from_env({"SHARBOARD_WEBHOOK_TIMEOUT": "0.2"}))
    assert time.monotonic() - started < 2
