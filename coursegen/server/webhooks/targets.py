"""Check a webhook URL and pin it to the checked address (no private targets, no rebinding)."""

import asyncio
import ipaddress
import socket
from dataclasses import dataclass

import httpx

ALLOW_FLAG = "COURSEGEN_WEBHOOK_ALLOW_PRIVATE=true"
RESOLVE_TIMEOUT_S = 5.0
IP = ipaddress.IPv4Address | ipaddress.IPv6Address


class TargetRefused(ValueError):
    """The webhook URL may not be called (its message says why, for a 422 or an attempt log)."""


@dataclass(frozen=True, slots=True)
class Target:
    """A checked webhook URL and the address its request must go to."""

    url: httpx.URL
    address: IP

    def request(self, body: str, headers: dict[str, str]) -> httpx.Request:
        """A POST to the checked address, named by the URL's host (Host header and TLS SNI).

        Connecting to the address that was checked, rather than resolving the name again,
        is what stops a name that rebinds to 127.0.0.1 between the check and the call.
        """
        pinned = self.url.copy_with(host=str(self.address))
        extensions = {"sni_hostname": self.url.host} if self.url.scheme == "https" else {}
        headers = {**headers, "Host": self.url.netloc.decode("ascii")}
        return httpx.Request("POST", pinned, content=body, headers=headers, extensions=extensions)


NAT64 = ipaddress.IPv6Network("64:ff9b::/96")
IPV4_COMPATIBLE = ipaddress.IPv6Network("::/96")


def embedded_ipv4(address: ipaddress.IPv6Address) -> ipaddress.IPv4Address | None:
    """The IPv4 address an IPv6 one carries (mapped, NAT64, 6to4, IPv4-compatible), if any:
    a NAT64 gateway or 6to4 relay would forward to it, so it is what gets checked."""
    if address.ipv4_mapped is not None:
        return address.ipv4_mapped
    if address.sixtofour is not None:
        return address.sixtofour
    if address in NAT64 or address in IPV4_COMPATIBLE:
        return ipaddress.IPv4Address(int(address) & 0xFFFFFFFF)
    return None


def is_private(address: IP) -> bool:
    """Loopback, private, link-local, shared, reserved or multicast: not a public host."""
    if isinstance(address, ipaddress.IPv6Address):
        address = embedded_ipv4(address) or address
    return not address.is_global or address.is_multicast


def parse(url: str) -> httpx.URL:
    """The URL, if it is an absolute http(s) URL without credentials in it."""
    try:
        parsed = httpx.URL(url)
        host = parsed.host  # decoded lazily: a bad IDNA label fails here
    except (httpx.InvalidURL, ValueError, TypeError) as exc:
        raise TargetRefused(f"webhook_url is not a URL: {exc}") from exc
    if parsed.scheme not in ("http", "https") or not host:
        raise TargetRefused("webhook_url must be an absolute https:// URL")
    if parsed.userinfo:
        raise TargetRefused("webhook_url must not carry a user name or password")
    return parsed


async def addresses(host: str, port: int) -> list[IP]:
    """The addresses a host name stands for now (an address stands for itself)."""
    try:
        return [ipaddress.ip_address(host)]
    except ValueError:
        pass
    try:
        async with asyncio.timeout(RESOLVE_TIMEOUT_S):
            loop = asyncio.get_running_loop()
            found = await loop.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except TimeoutError as exc:
        raise TargetRefused(f"webhook host {host!r} did not resolve in time") from exc
    except (OSError, UnicodeError) as exc:  # UnicodeError: not a host name (label too long…)
        raise TargetRefused(f"webhook host {host!r} does not resolve: {exc}") from exc
    return list(dict.fromkeys(ipaddress.ip_address(info[4][0]) for info in found))


async def resolve(url: str, allow_private: bool) -> Target:
    """Check `url` against the addresses it resolves to now; raise TargetRefused if refused.

    https only, except plain http to a private target where private targets are allowed.
    """
    parsed = parse(url)
    port = parsed.port or (443 if parsed.scheme == "https" else 80)
    found = await addresses(parsed.host, port)
    private = [str(a) for a in found if is_private(a)]
    if private and not allow_private:
        raise TargetRefused(
            f"webhook_url {parsed.host!r} is a private, loopback or link-local address "
            f"({', '.join(private)}); set {ALLOW_FLAG} to call receivers on internal networks"
        )
    if parsed.scheme == "http" and not private:
        raise TargetRefused("webhook_url must be https:// (plain http only for internal targets)")
    return Target(parsed, found[0])
