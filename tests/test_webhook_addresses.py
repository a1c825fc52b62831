"""Where a webhook may go (SSRF): checked after DNS resolution, the connection pinned to the address checked.

Names are resolved by the system resolver. A name resolving to a private
address needs a DNS answer this machine does not give, so those tests replace
``socket.getaddrinfo`` (the resolver) with one that answers for the test's
name only, and say so; everything after the resolver is real.
"""

from __future__ import annotations

import socket
from collections.abc import Callable
from typing import Any

import pytest
from pytest_django import Settings
from standardwebhooks.webhooks import Webhook

from core.matters import matter_create
from core.models import WebhookDelivery, WebhookEndpoint
from core.webhooks import delivery_attempt, endpoint_create, endpoint_secret_new
from core.webhooks.addresses import AddressRefused, target_resolve
from tests.support.cast import Cast
from tests.support.webhooks import Receiver

REFUSED = [
    ("http://10.0.0.8/hook", "private"),
    ("http://172.16.4.1/hook", "private"),
    ("http://192.168.1.20/hook", "private"),
    ("http://169.254.169.254/latest/meta-data/", "link-local"),  # the cloud's metadata service
    ("http://100.64.0.1/hook", "not a public address"),  # shared (carrier-grade NAT) space
    ("http://0.0.0.0/hook", "unspecified"),
    ("http://224.0.0.1/hook", "multicast"),
    ("http://240.0.0.1/hook", "reserved"),
    ("http://[::]/hook", "unspecified"),
    ("http://[fe80::1]/hook", "link-local"),
    ("http://[fc00::1]/hook", "private"),
    ("http://[ff02::1]/hook", "multicast"),
    ("http://[::ffff:10.0.0.8]/hook", "private"),  # IPv4-mapped: judged by its IPv4 address
    ("http://[::ffff:169.254.169.254]/hook", "link-local"),
    ("http://[2002:a00:8::]/hook", "private"),  # 6to4 of 10.0.0.8
]
LOOPBACK = ["http://127.0.0.1:8080/hook", "http://127.8.9.10/hook", "http://[::1]/hook", "http://[::ffff:127.0.0.1]/"]


def _resolver_answering(name: str, address: str) -> Callable[..., Any]:
    """The system resolver, except that ``name`` resolves to ``address`` (no DNS server here gives such answers)."""
    real = socket.getaddrinfo
    family = socket.AF_INET6 if ":" in address else socket.AF_INET

    def resolve(host: Any, port: Any, *args: Any, **kwargs: Any) -> Any:
        if host == name:
            resolve.asked.append(host)  # type: ignore[attr-defined]
            return [(family, socket.SOCK_STREAM, 6, "", (address, port))]
        return real(host, port, *args, **kwargs)

    resolve.asked = []  # type: ignore[attr-defined]
    return resolve


@pytest.mark.parametrize(("url", "kind"), REFUSED)
def test_private_link_local_and_other_non_public_addresses_are_refused(url: str, kind: str) -> None:
    with pytest.raises(AddressRefused, match=kind):
        target_resolve(url)


@pytest.mark.parametrize("url", LOOPBACK)
def test_loopback_is_refused_unless_the_test_setting_allows_it(url: str, settings: Settings) -> None:
    with pytest.raises(AddressRefused, match="loopback"):
        target_resolve(url)

    settings.PORTICO_WEBHOOKS_ALLOW_LOOPBACK = True
    assert target_resolve(url).address in {"127.0.0.1", "127.8.9.10", "::1", "::ffff:127.0.0.1"}


def test_the_setting_allows_loopback_only_never_private_ranges(settings: Settings) -> None:
    settings.PORTICO_WEBHOOKS_ALLOW_LOOPBACK = True

    with pytest.raises(AddressRefused, match="private"):
        target_resolve("http://10.1.2.3/hook")


def test_a_name_is_judged_by_what_it_resolves_to(monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(AddressRefused, match=r"localhost resolves to .*loopback"):
        target_resolve("http://localhost:9/hook")  # the real resolver
    monkeypatch.setattr(socket, "getaddrinfo", _resolver_answering("hooks.partner.test", "10.20.30.40"))

    with pytest.raises(AddressRefused, match=r"hooks.partner.test resolves to 10.20.30.40, a private address"):
        target_resolve("https://hooks.partner.test/portico")


def test_a_public_address_passes(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(socket, "getaddrinfo", _resolver_answering("hooks.partner.test", "93.184.215.14"))

    target = target_resolve("https://hooks.partner.test/portico?firm=acme")

    assert (target.host, target.port, target.path, target.address) == (
        "hooks.partner.test",
        443,
        "/portico?firm=acme",
        "93.184.215.14",
    )


def test_plain_http_is_refused_in_production(settings: Settings, cast: Cast) -> None:
    settings.PRODUCTION = True

    with pytest.raises(AddressRefused, match="https"):
        target_resolve("http://93.184.215.14/hook")
    with cast.firm.tenant, pytest.raises(Exception, match="https"):
        endpoint_create(url="http://hooks.acme.test/x", events=[], by=cast.alice)


def test_the_connection_goes_to_the_address_checked_not_a_second_lookup(
    cast: Cast, receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """DNS rebinding: the name is resolved once; connecting uses the checked address, the name stays the Host."""
    port = receiver.url.split(":")[2].split("/")[0]
    resolver = _resolver_answering("hooks.partner.test", "127.0.0.1")
    monkeypatch.setattr(socket, "getaddrinfo", resolver)
    with cast.firm.tenant:
        endpoint = WebhookEndpoint.objects.create(
            url=f"http://hooks.partner.test:{port}/hooks/portico", secret=endpoint_secret_new()
        )
        matter_create(reference="2026-0950", title="x", matter_type="I-130", client=cast.carol, by=cast.alice)
        attempt = delivery_attempt(delivery=WebhookDelivery.objects.select_related("event", "endpoint").get())

    assert attempt.delivered
    [(headers, body)] = receiver.received
    assert headers["host"] == f"hooks.partner.test:{port}"
    assert Webhook(endpoint.secret).verify(body, headers)["type"] == "matter.opened"
    assert resolver.asked == ["hooks.partner.test"]  # type: ignore[attr-defined]  # once: no second answer to trust


def test_a_refused_address_is_shown_in_the_delivery_log_and_nothing_is_sent(cast: Cast, receiver: Receiver) -> None:
    with cast.firm.tenant:
        WebhookEndpoint.objects.create(url="http://169.254.169.254/latest/meta-data/", secret=endpoint_secret_new())
        matter_create(reference="2026-0951", title="x", matter_type="I-130", client=cast.carol, by=cast.alice)
        attempt = delivery_attempt(delivery=WebhookDelivery.objects.select_related("event", "endpoint").get())
        delivery = WebhookDelivery.objects.get()

    assert not attempt.delivered
    assert delivery.last_status_code is None
    assert delivery.last_response == "Refused: 169.254.169.254 resolves to 169.254.169.254, a link-local address."
    page = cast.firm.client(cast.alice).get(f"/staff/webhooks/{delivery.endpoint_id}/").content.decode()
    assert "a link-local address" in page
    assert receiver.received == []
