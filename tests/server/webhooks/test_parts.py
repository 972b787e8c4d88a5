"""The webhook parts on their own: target checks, the retry schedule, signatures."""

import ipaddress
from datetime import UTC, datetime

import pytest
from standardwebhooks import Webhook

from coursegen.server.webhooks import schedule
from coursegen.server.webhooks.signing import new_secret, signed_headers
from coursegen.server.webhooks.targets import Target, TargetRefused, is_private, parse, resolve
from coursegen.settings import check_secret


@pytest.mark.parametrize(
    ("address", "private"),
    [
        ("127.0.0.1", True),
        ("10.0.0.8", True),
        ("172.16.5.4", True),
        ("192.168.1.1", True),
        ("169.254.169.254", True),
        ("100.64.0.1", True),  # shared (carrier-grade NAT)
        ("0.0.0.0", True),
        ("224.0.0.1", True),
        ("::1", True),
        ("fe80::1", True),
        ("fc00::1", True),
        ("::ffff:10.0.0.1", True),
        # IPv4 inside IPv6: NAT64 (64:ff9b::/96), 6to4 (2002::/16), IPv4-compatible (::/96).
        ("64:ff9b::7f00:1", True),
        ("64:ff9b::a00:1", True),
        ("2002:a00:1::", True),
        ("::127.0.0.1", True),
        ("64:ff9b::5db8:d70e", False),
        ("2002:5db8:d70e::1", False),
        ("93.184.215.14", False),
        ("2606:4700::1111", False),
        ("::ffff:93.184.215.14", False),
    ],
)
def test_private_addresses(address: str, private: bool) -> None:
    assert is_private(ipaddress.ip_address(address)) is private


async def test_the_flag_allows_private_targets_and_plain_http_only_to_them() -> None:
    target = await resolve("http://127.0.0.1:8080/in", allow_private=True)
    assert str(target.address) == "127.0.0.1"
    with pytest.raises(TargetRefused, match="private"):
        await resolve("https://127.0.0.1/in", allow_private=False)
    with pytest.raises(TargetRefused, match="must be https"):
        await resolve("http://93.184.215.14/in", allow_private=True)
    assert (await resolve("https://93.184.215.14/in", allow_private=False)).url.host
    for host in ("no-such-host.invalid", "a" * 300 + ".example.org", "xn--"):
        with pytest.raises(TargetRefused, match=r"not a URL|does not resolve"):
            await resolve(f"https://{host}/in", allow_private=True)


def test_a_request_goes_to_the_checked_address_under_the_host_name() -> None:
    target = Target(parse("https://hooks.example.org:8443/in?x=1"), ipaddress.ip_address("1.2.3.4"))
    request = target.request('{"a":1}', {"webhook-id": "msg_1"})
    assert str(request.url) == "https://1.2.3.4:8443/in?x=1"
    assert request.headers["host"] == "hooks.example.org:8443"
    assert request.extensions["sni_hostname"] == "hooks.example.org"
    assert request.content == b'{"a":1}' and request.headers["webhook-id"] == "msg_1"
    six = Target(parse("http://[::1]:9/in"), ipaddress.ip_address("::1")).request("{}", {})
    assert str(six.url) == "http://[::1]:9/in" and "sni_hostname" not in six.extensions


def test_the_schedule_backs_off_with_jitter_and_stops_after_the_window() -> None:
    low = [schedule.retry_delay(n, 5.0, lambda: 0.0) for n in range(1, 12)]
    high = [schedule.retry_delay(n, 5.0, lambda: 1.0) for n in range(1, 12)]
    assert low[:4] == [3.75, 11.25, 33.75, 101.25] and high[0] == 6.25
    assert low == sorted(low) and max(high) == schedule.CAP_S * 1.25
    assert schedule.retry_delay(10_000, 5.0) <= schedule.CAP_S * 1.25  # no overflow
    assert schedule.next_attempt(1, now=100.0, retry_from=0.0, base_s=5.0, window_s=1000.0)
    assert schedule.next_attempt(9, now=100.0, retry_from=0.0, base_s=5.0, window_s=1000.0) is None
    # The default schedule fills a day with about a dozen attempts.
    at, attempts = 0.0, 1
    while (nxt := schedule.next_attempt(attempts, at, 0.0, 5.0, 86400.0)) is not None:
        at, attempts = nxt, attempts + 1
    assert 9 <= attempts <= 14 and at <= 86400.0


def test_signed_headers_verify_with_the_library() -> None:
    secret = check_secret(new_secret())
    body = '{"type":"course.completed"}'
    headers = signed_headers(secret, "msg_abc", body, datetime.now(UTC))
    assert headers["webhook-id"] == "msg_abc"
    assert headers["webhook-signature"].startswith("v1,")
    assert Webhook(secret).verify(body, headers) == {"type": "course.completed"}
    with pytest.raises(ValueError, match="whsec_"):
        check_secret("not-a-secret")
    with pytest.raises(ValueError, match="base64"):
        check_secret("whsec_%%%")
