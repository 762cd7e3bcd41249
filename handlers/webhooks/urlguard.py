"""SSRF guard for webhook URLs: only public http(s) addresses, resolved once, then pinned.

`resolve_target` checks the scheme and user-info, resolves the host once and refuses it
when any address is loopback, private, link-local, multicast, reserved, unspecified or a
cloud-metadata endpoint. The caller then connects to the returned addresses, never to
the name again, so a DNS answer that changes between the check and the connection (DNS
rebinding) cannot redirect the request. Hosts the operator lists in `allow_hosts` (a
name as written in the URL, or an IP address) are exempt.
"""

# The name says what happened at every raise site; an "Error" suffix would add nothing.
# ruff: noqa: N818

import ipaddress
import socket
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Literal
from urllib.parse import SplitResult, urlsplit

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
Resolver = Callable[[str, int], Sequence[str]]
Scheme = Literal["http", "https"]

DEFAULT_PORTS: dict[Scheme, int] = {"http": 80, "https": 443}
# Instance-metadata endpoints; most also fall in a forbidden range, named for a clear reason.
METADATA_ADDRESSES = frozenset(
    ipaddress.ip_address(text)
    for text in (
        "169.254.169.254",  # AWS, GCP, Azure, OpenStack, DigitalOcean, ...
        "169.254.170.2",  # AWS ECS task metadata
        "169.254.169.253",  # AWS VPC DNS
        "fd00:ec2::254",  # AWS IMDS over IPv6
        "fd00:ec2::253",  # AWS VPC DNS over IPv6
        "100.100.100.200",  # Alibaba Cloud
        "192.0.0.192",  # Oracle Cloud
    )
)
_NAT64 = ipaddress.ip_network("64:ff9b::/96")
_ALLOW_HINT = "; the operator can exempt a host with QERS_WEBHOOK_ALLOW_HOSTS"


class UrlRejected(Exception):
    """A webhook URL the service will not send to.

    `reason` is a sentence for the person who gave the URL; `summary` is the short form
    recorded as a delivery attempt's `error` (e.g. "refused address 10.0.0.5 (private)").
    """

    def __init__(self, reason: str, *, summary: str) -> None:
        super().__init__(reason)
        self.reason = reason
        self.summary = summary


@dataclass(frozen=True)
class Target:
    """Where to send a request: the URL's parts plus the vetted addresses to connect to."""

    scheme: Scheme
    host: str  # as written in the URL, lower-case, IPv6 without brackets
    port: int
    addresses: tuple[str, ...]  # every resolved address, all allowed, in resolver order
    path: str  # path and query, at least "/"

    @property
    def address(self) -> str:
        """The address tried first."""
        return self.addresses[0]

    @property
    def host_header(self) -> str:
        """The `Host` header the URL implies (port omitted when it is the default)."""
        host = f"[{self.host}]" if ":" in self.host else self.host
        return host if self.port == DEFAULT_PORTS[self.scheme] else f"{host}:{self.port}"

    def url_for(self, address: str) -> str:
        """The URL with the host replaced by `address`, for connecting without DNS."""
        netloc = f"[{address}]" if ":" in address else address
        return f"{self.scheme}://{netloc}:{self.port}{self.path}"


def resolve_host(host: str, port: int) -> list[str]:
    """The addresses `host` resolves to for a TCP connection, duplicates removed."""
    infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM, proto=socket.IPPROTO_TCP)
    addresses: list[str] = []
    for *_, sockaddr in infos:
        address = str(sockaddr[0]).split("%", 1)[0]  # drop an IPv6 zone id
        if address not in addresses:
            addresses.append(address)
    return addresses


def forbidden_kind(address: IPAddress) -> str | None:
    """Why `address` must not be contacted ("loopback", "private", ...), or None if public."""
    if address in METADATA_ADDRESSES:
        return "cloud metadata"
    if isinstance(address, ipaddress.IPv6Address):
        embedded = _embedded_ipv4(address)
        if embedded is not None:
            kind = forbidden_kind(embedded)
            return f"{kind}, embedded in IPv6" if kind else None
    checks = (
        (address.is_loopback, "loopback"),
        (address.is_unspecified, "unspecified"),
        (address.is_link_local, "link-local"),
        (address.is_multicast, "multicast"),
        (address.is_private, "private"),
        (address.is_reserved, "reserved"),
        (not address.is_global, "not publicly routable"),
    )
    return next((kind for failed, kind in checks if failed), None)


def resolve_target(
    url: str, *, allow_hosts: Sequence[str], resolver: Resolver | None = None
) -> Target:
    """Check `url` and resolve its host once.

    Args:
        url: The webhook URL.
        allow_hosts: Host names or IP addresses exempt from the address rules.
        resolver: Host and port to addresses; `resolve_host` (the system resolver) if None.

    Returns:
        The target, with every address the host resolved to (all allowed).

    Raises:
        UrlRejected: The scheme is not http(s), the URL carries user-info or no host, the
            host does not resolve, or one of its addresses is forbidden.
    """
    try:
        parts = urlsplit(url.strip())
    except ValueError as exc:  # e.g. a bracketed host that is not an IPv6 address
        raise UrlRejected(
            f"Webhook URL is not a valid URL ({exc}).", summary="refused malformed URL"
        ) from exc
    scheme = _scheme(parts.scheme)
    if "@" in parts.netloc:
        raise UrlRejected(
            "Webhook URL must not contain user-info (user:password@); "
            "the signature authenticates the sender.",
            summary="refused URL with user-info",
        )
    host = (parts.hostname or "").rstrip(".")
    if not host:
        raise UrlRejected("Webhook URL has no host.", summary="refused URL without host")
    port = _port(parts, scheme)
    allowed = _normalized(allow_hosts)
    literal = _ip_or_none(host)
    if literal is not None:
        addresses = [str(literal)]
    else:
        try:
            addresses = list((resolver or resolve_host)(host, port))
        except (OSError, UnicodeError) as exc:
            raise UrlRejected(
                f"Webhook host {host!r} could not be resolved ({exc}); check the name.",
                summary=f"cannot resolve {host}",
            ) from exc
        if not addresses:
            raise UrlRejected(
                f"Webhook host {host!r} resolved to no address; check the name.",
                summary=f"cannot resolve {host}",
            )
    if (str(literal) if literal is not None else host) not in allowed:
        for address in addresses:
            _check_address(host, address, allowed)
    return Target(scheme, host, port, tuple(addresses), _path(parts))


def check_url(url: str, *, allow_hosts: Sequence[str]) -> None:
    """Refuse `url` at creation time (raises `UrlRejected`, which the API reports as 422)."""
    resolve_target(url, allow_hosts=allow_hosts)


def _check_address(host: str, text: str, allowed: frozenset[str]) -> None:
    address = _ip_or_none(text)
    if address is None:  # the resolver answered something that is not an address
        raise UrlRejected(
            f"Webhook host {host!r} resolved to {text!r}, which is not an IP address.",
            summary=f"refused address {text}",
        )
    if str(address) in allowed:
        return
    kind = forbidden_kind(address)
    if kind is None:
        return
    # A name's addresses are not told (only logged in `summary`): a client could otherwise
    # map internal host names to addresses through webhook_url.
    where = f"is {address}," if host == str(address) else "resolves to"
    raise UrlRejected(
        f"Webhook host {host!r} {where} a {kind} address; "
        f"webhooks are only sent to public addresses{_ALLOW_HINT}.",
        summary=f"refused address {address} ({kind})",
    )


def _embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address.teredo is not None:
        return address.teredo[1]
    if address in _NAT64:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def _scheme(text: str) -> Scheme:
    for scheme in DEFAULT_PORTS:
        if scheme == text.lower():
            return scheme
    shown = text.lower() or "(none)"
    raise UrlRejected(
        f"Webhook URL scheme {shown!r} is not allowed; use http or https.",
        summary=f"refused scheme {shown}",
    )


def _port(parts: SplitResult, scheme: Scheme) -> int:
    try:
        port = parts.port
    except ValueError as exc:
        raise UrlRejected(
            f"Webhook URL port is invalid ({exc}).", summary="refused invalid port"
        ) from exc
    if port == 0:
        raise UrlRejected("Webhook URL port 0 is not allowed.", summary="refused port 0")
    return DEFAULT_PORTS[scheme] if port is None else port


def _path(parts: SplitResult) -> str:
    path = parts.path or "/"
    return f"{path}?{parts.query}" if parts.query else path


def _ip_or_none(text: str) -> IPAddress | None:
    try:
        return ipaddress.ip_address(text.strip("[]").split("%", 1)[0])
    except ValueError:
        return None


def _normalized(hosts: Sequence[str]) -> frozenset[str]:
    """Allow-list entries as `resolve_target` compares them: lower-case, IPs canonical."""
    entries: set[str] = set()
    for entry in hosts:
        text = entry.strip().lower().rstrip(".")
        address = _ip_or_none(text)
        entries.add(str(address) if address is not None else text.strip("[]"))
    return frozenset(entries)
