"""The SSRF guard: which webhook URLs are refused, and what a vetted target looks like."""

from collections.abc import Sequence

import pytest

from handlers.webhooks.urlguard import Target, UrlRejected, check_url, resolve_target

PUBLIC_V4 = "93.184.215.14"
PUBLIC_V6 = "2606:2800:21f:cb07:6820:80da:af6b:8b2c"


def fixed(*addresses: str) -> "FakeResolver":
    return FakeResolver(addresses)


class FakeResolver:
    """Answers every name with the same addresses, and remembers what was asked."""

    def __init__(self, addresses: Sequence[str]) -> None:
        self.addresses = list(addresses)
        self.asked: list[tuple[str, int]] = []

    def __call__(self, host: str, port: int) -> list[str]:
        self.asked.append((host, port))
        return self.addresses


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("http://127.0.0.1:8080/hook", "loopback"),
        ("http://127.9.9.9/hook", "loopback"),
        ("http://10.0.0.5/hook", "private"),
        ("http://192.168.1.20/hook", "private"),
        ("http://172.16.0.1/hook", "private"),
        ("http://172.31.255.254/hook", "private"),
        ("http://169.254.10.1/hook", "link-local"),
        ("http://169.254.169.254/latest/meta-data/", "cloud metadata"),
        ("http://[fd00:ec2::254]/latest/meta-data/", "cloud metadata"),
        ("http://224.0.0.1/hook", "multicast"),
        ("http://[ff02::1]/hook", "multicast"),
        ("http://0.0.0.0/hook", "unspecified"),
        ("http://[::]/hook", "unspecified"),
        ("http://[::1]:9000/hook", "loopback"),
        ("http://[::ffff:127.0.0.1]/hook", "loopback, embedded in IPv6"),
        ("http://[::ffff:10.1.2.3]/hook", "private, embedded in IPv6"),
        ("http://[2002:7f00:1::]/hook", "loopback, embedded in IPv6"),
        ("http://[fe80::1]/hook", "link-local"),
        ("http://[fc00::1]/hook", "private"),
        ("http://100.64.0.1/hook", "not publicly routable"),
        ("http://240.0.0.1/hook", "private"),
        ("https://localhost/hook", "loopback"),
        ("http://2130706433/hook", "loopback"),  # 127.0.0.1 as one decimal number
    ],
)
def test_forbidden_addresses_are_refused(url: str, kind: str) -> None:
    with pytest.raises(UrlRejected) as caught:
        resolve_target(url, allow_hosts=[])
    assert f"({kind})" in caught.value.summary
    assert "public addresses" in caught.value.reason
    assert caught.value.summary.startswith("refused address ")


def test_reason_names_the_host_but_not_what_it_resolves_to() -> None:
    with pytest.raises(UrlRejected) as caught:
        resolve_target("https://hooks.internal/x", allow_hosts=[], resolver=fixed("10.0.0.5"))
    assert caught.value.summary == "refused address 10.0.0.5 (private)"  # logged, not told
    assert "'hooks.internal' resolves to a private address" in caught.value.reason
    assert "10.0.0.5" not in caught.value.reason
    assert "QERS_WEBHOOK_ALLOW_HOSTS" in caught.value.reason


def test_every_resolved_address_must_be_allowed() -> None:
    resolver = fixed(PUBLIC_V4, "10.0.0.5")
    with pytest.raises(UrlRejected, match="resolves to a private address") as caught:
        resolve_target("https://hooks.example.com/x", allow_hosts=[], resolver=resolver)
    assert caught.value.summary == "refused address 10.0.0.5 (private)"


@pytest.mark.parametrize(
    ("url", "summary"),
    [
        ("ftp://hooks.example.com/x", "refused scheme ftp"),
        ("file:///etc/passwd", "refused scheme file"),
        ("hooks.example.com/x", "refused scheme (none)"),
        ("https://user:pw@hooks.example.com/x", "refused URL with user-info"),
        ("https://token@hooks.example.com/x", "refused URL with user-info"),
        ("https:///x", "refused URL without host"),
        ("https://hooks.example.com:99999/x", "refused invalid port"),
        ("https://hooks.example.com:0/x", "refused port 0"),
        ("http://[28cB]:98806", "refused malformed URL"),  # found by schemathesis
        ("http://[zz]/x", "refused malformed URL"),
    ],
)
def test_malformed_urls_are_refused(url: str, summary: str) -> None:
    resolver = fixed(PUBLIC_V4)
    with pytest.raises(UrlRejected) as caught:
        resolve_target(url, allow_hosts=["hooks.example.com"], resolver=resolver)
    assert caught.value.summary == summary
    assert resolver.asked == []
    assert "pw" not in caught.value.reason


def test_unresolvable_host_is_refused() -> None:
    def fail(host: str, port: int) -> list[str]:
        raise OSError("Name or service not known")

    with pytest.raises(UrlRejected, match=r"'nowhere\.invalid' could not be resolved"):
        resolve_target("https://nowhere.invalid/x", allow_hosts=[], resolver=fail)


def test_public_name_resolves_to_a_pinned_target() -> None:
    resolver = fixed(PUBLIC_V4, PUBLIC_V6)
    target = resolve_target(
        "HTTPS://Hooks.Example.com/qers/hook?run=1#frag", allow_hosts=[], resolver=resolver
    )
    assert target == Target(
        scheme="https",
        host="hooks.example.com",
        port=443,
        addresses=(PUBLIC_V4, PUBLIC_V6),
        path="/qers/hook?run=1",
    )
    assert resolver.asked == [("hooks.example.com", 443)]
    assert target.address == PUBLIC_V4
    assert target.host_header == "hooks.example.com"
    assert target.url_for(PUBLIC_V4) == f"https://{PUBLIC_V4}:443/qers/hook?run=1"
    assert target.url_for(PUBLIC_V6) == f"https://[{PUBLIC_V6}]:443/qers/hook?run=1"


def test_literal_public_ip_needs_no_resolver() -> None:
    resolver = fixed()
    target = resolve_target(f"http://[{PUBLIC_V6}]:8080", allow_hosts=[], resolver=resolver)
    assert target.addresses == (PUBLIC_V6,)
    assert target.path == "/"
    assert target.host_header == f"[{PUBLIC_V6}]:8080"
    assert resolver.asked == []


def test_allow_list_by_literal_ip() -> None:
    target = resolve_target("http://127.0.0.1:8123/hook", allow_hosts=["127.0.0.1"])
    assert target.addresses == ("127.0.0.1",)
    assert target.host_header == "127.0.0.1:8123"
    assert resolve_target("http://[::1]/", allow_hosts=["[0:0::1]"]).addresses == ("::1",)


def test_allow_list_by_host_name() -> None:
    target = resolve_target("http://LocalHost:8123/hook", allow_hosts=["localhost"])
    assert "127.0.0.1" in target.addresses
    with pytest.raises(UrlRejected):
        resolve_target("http://localhost:8123/hook", allow_hosts=["other.example"])


def test_allow_listed_ip_allows_names_resolving_to_it() -> None:
    resolver = fixed("10.0.0.5")
    target = resolve_target("http://ci.internal/x", allow_hosts=["10.0.0.5"], resolver=resolver)
    assert target.addresses == ("10.0.0.5",)
    with pytest.raises(UrlRejected) as caught:
        resolve_target(
            "http://ci.internal/x", allow_hosts=["10.0.0.5"], resolver=fixed("10.0.0.5", "10.0.0.6")
        )
    assert caught.value.summary == "refused address 10.0.0.6 (private)"


def test_check_url_uses_the_same_rules() -> None:
    check_url("http://127.0.0.1:1/x", allow_hosts=["127.0.0.1"])
    with pytest.raises(UrlRejected):
        check_url("http://127.0.0.1:1/x", allow_hosts=[])
