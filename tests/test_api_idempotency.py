"""Idempotency keys on the API's POSTs (issue 14 item 2): a retry acts once.

Real parts: the firm's PostgreSQL schema (the key rows and their unique
constraint), the full middleware and DRF stack through Django's test client,
real access tokens. The concurrency test commits, in a firm of its own, two
threads on their own database connections released together by a barrier.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from core.api_tokens import token_issue
from core.models import IdempotencyKey, Message, User, WebhookEndpoint
from tenants.models import Tenant
from tests.support.cast import Cast
from tests.test_money_concurrency import SLUG, _run_together, rush  # noqa: F401 - the committed firm's fixture


def _token(cast: Cast, user: User, *scopes: str) -> Client:
    with cast.firm.tenant:
        issued = token_issue(user=user, label="Sync", scopes=scopes, days=30, by=cast.alice)
    return Client(HTTP_HOST=cast.firm.host, HTTP_AUTHORIZATION=f"Bearer {issued.text}")


def _send(client: Client, url: str, body: dict[str, Any], key: str | None = "k-1") -> Any:
    headers = {"Idempotency-Key": key} if key is not None else {}
    return client.post(url, body, content_type="application/json", headers=headers)


def test_a_retried_post_with_the_same_key_gets_the_first_answer_and_acts_once(cast: Cast) -> None:
    api = _token(cast, cast.alice, "matters:write", "matters:read")
    url = f"/api/v1/matters/{cast.m1.pk}/messages"
    with cast.firm.tenant:
        before = Message.objects.filter(matter=cast.m1).count()

    first = _send(api, url, {"body": "Your interview is on Monday."})
    retry = _send(api, url, {"body": "Your interview is on Monday."})

    assert first.status_code == 201, first.content
    assert (retry.status_code, retry.json()) == (201, first.json())
    assert retry["Idempotent-Replayed"] == "true"
    assert "Idempotent-Replayed" not in first
    with cast.firm.tenant:
        assert Message.objects.filter(matter=cast.m1).count() == before + 1


def test_without_a_key_or_with_another_key_each_post_acts(cast: Cast) -> None:
    api = _token(cast, cast.alice, "matters:write")
    url = f"/api/v1/matters/{cast.m1.pk}/messages"
    with cast.firm.tenant:
        before = Message.objects.filter(matter=cast.m1).count()

    statuses = [
        _send(api, url, {"body": "Hello"}, key=None).status_code,
        _send(api, url, {"body": "Hello"}, key=None).status_code,
        _send(api, url, {"body": "Hello"}, key="a").status_code,
        _send(api, url, {"body": "Hello"}, key="b").status_code,
    ]

    assert statuses == [201, 201, 201, 201]
    with cast.firm.tenant:
        assert Message.objects.filter(matter=cast.m1).count() == before + 4


def test_the_same_key_with_another_body_is_422_and_acts_not(cast: Cast) -> None:
    api = _token(cast, cast.alice, "matters:write")
    url = f"/api/v1/matters/{cast.m1.pk}/messages"
    _send(api, url, {"body": "First"})
    with cast.firm.tenant:
        before = Message.objects.filter(matter=cast.m1).count()

    other = _send(api, url, {"body": "Second"})

    assert other.status_code == 422
    assert other.json()["error"]["code"] == "idempotency_key_reused"
    assert set(other.json()["error"]) == {"code", "message", "fields"}
    with cast.firm.tenant:
        assert Message.objects.filter(matter=cast.m1).count() == before


def test_a_key_is_the_callers_own_and_the_endpoints_own(cast: Cast) -> None:
    alice, paula = _token(cast, cast.alice, "matters:write"), _token(cast, cast.paula, "matters:write")
    with cast.firm.tenant:
        before = Message.objects.filter(matter__in=[cast.m1, cast.m2]).count()

    statuses = [
        _send(alice, f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "Hi"}).status_code,
        _send(paula, f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "Hi"}).status_code,
        _send(alice, f"/api/v1/matters/{cast.m2.pk}/messages", {"body": "Hi"}).status_code,
    ]

    assert statuses == [201, 201, 201]
    with cast.firm.tenant:
        assert Message.objects.filter(matter__in=[cast.m1, cast.m2]).count() == before + 3


def test_a_refusal_is_replayed_too(cast: Cast) -> None:
    api = _token(cast, cast.alice, "matters:write")
    url = f"/api/v1/matters/{cast.m1.pk}/messages"

    refused = _send(api, url, {"body": ""}, key="empty")
    again = _send(api, url, {"body": ""}, key="empty")

    assert refused.status_code == 400
    assert (again.status_code, again.json(), again["Idempotent-Replayed"]) == (400, refused.json(), "true")
    with cast.firm.tenant:
        row = IdempotencyKey.objects.get(key="empty")
        assert (row.status, row.endpoint) == (400, url)


def test_a_post_that_fails_with_a_server_error_releases_its_key(cast: Cast, monkeypatch: pytest.MonkeyPatch) -> None:
    api = _token(cast, cast.alice, "matters:write")
    api.raise_request_exception = False
    url = f"/api/v1/matters/{cast.m1.pk}/messages"

    def crash(**_kwargs: object) -> None:
        raise RuntimeError("the database went away")  # a crash cannot be caused for real in-process

    with monkeypatch.context() as patched:
        patched.setattr("api.casework.message_send", crash)
        failed = _send(api, url, {"body": "Retry me"}, key="crash")
    retried = _send(api, url, {"body": "Retry me"}, key="crash")

    assert failed.status_code == 500
    assert retried.status_code == 201
    assert "Idempotent-Replayed" not in retried


def test_a_key_still_being_handled_is_409(cast: Cast) -> None:
    api = _token(cast, cast.alice, "matters:write")
    url = f"/api/v1/matters/{cast.m1.pk}/messages"
    first = _send(api, url, {"body": "Hold"}, key="held")
    with cast.firm.tenant:  # as while the first request is still being handled
        IdempotencyKey.objects.filter(key="held").update(status=None, body=None)

    busy = _send(api, url, {"body": "Hold"}, key="held")

    assert first.status_code == 201
    assert busy.status_code == 409
    assert busy.json()["error"]["code"] == "idempotency_key_in_use"


def test_a_key_older_than_a_day_is_forgotten(cast: Cast) -> None:
    from datetime import timedelta

    from django.utils import timezone

    api = _token(cast, cast.alice, "matters:write")
    url = f"/api/v1/matters/{cast.m1.pk}/messages"
    _send(api, url, {"body": "Old"}, key="old")
    with cast.firm.tenant:
        IdempotencyKey.objects.filter(key="old").update(created=timezone.now() - timedelta(hours=25))
        before = Message.objects.filter(matter=cast.m1).count()

    later = _send(api, url, {"body": "Old"}, key="old")

    assert later.status_code == 201
    assert "Idempotent-Replayed" not in later
    with cast.firm.tenant:
        assert Message.objects.filter(matter=cast.m1).count() == before + 1


def test_a_bad_key_is_a_400(cast: Cast) -> None:
    api = _token(cast, cast.alice, "matters:write")

    long = _send(api, f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "x"}, key="k" * 256)

    assert long.status_code == 400
    assert list(long.json()["error"]["fields"]) == ["Idempotency-Key"]


def test_two_posts_with_one_key_at_the_same_moment_act_once(rush: Tenant) -> None:  # noqa: F811
    with rush:
        admin = User.objects.get(email="a@mrush.test")
        issued = token_issue(user=admin, label="Hooks", scopes=["webhooks:manage"], days=1, by=admin)
    body = {"url": "https://hooks.mrush.test/in", "events": ["matter.opened"]}

    def post() -> str:
        client = Client(HTTP_HOST=f"{SLUG}.localhost", HTTP_AUTHORIZATION=f"Bearer {issued.text}")
        response = _send(client, "/api/v1/webhooks/endpoints", body, key="same-moment")
        return f"{response.status_code}{'r' if response.has_header('Idempotent-Replayed') else ''}"

    statuses, errors = _run_together([post, post])

    assert not errors, errors
    assert sorted(statuses) in (["201", "409"], ["201", "201r"]), statuses
    with rush:
        assert WebhookEndpoint.objects.count() == 1


def test_an_upload_retried_with_its_key_is_stored_once_and_another_file_is_422(cast: Cast) -> None:
    from django.core.files.uploadedfile import SimpleUploadedFile

    from core.models import Document
    from tests.support.casework import png_bytes, requirement

    carol = cast.firm.client(cast.carol)
    url = f"/api/v1/matters/{cast.m1.pk}/documents"
    with cast.firm.tenant:
        passport = requirement(cast.m1, "passport").pk
        before = Document.objects.filter(matter=cast.m1).count()

    def upload(content: bytes) -> Any:
        file = SimpleUploadedFile("IMG_0001.PNG", content, content_type="image/png")
        body = {"requirement_id": passport, "file": file, "signer": "Carol Diaz"}
        return carol.post(url, body, headers={"Idempotency-Key": "passport-scan"})

    first, retry, other = upload(png_bytes()), upload(png_bytes()), upload(png_bytes() + b"\0")

    assert first.status_code == 201, first.content
    assert (retry.status_code, retry.json(), retry["Idempotent-Replayed"]) == (201, first.json(), "true")
    assert other.status_code == 422
    with cast.firm.tenant:
        assert Document.objects.filter(matter=cast.m1).count() == before + 1
