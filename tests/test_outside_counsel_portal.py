"""Outside counsel do not see the client's portal (issue 18 item 9): no message thread, no client-only page, no
upload or change-answer button; they reach only the matters their grant names, read-only."""

from __future__ import annotations

from typing import Any

from core.models import Message
from tests.support.cast import Cast

THREAD_PROMISE = "only you and the firm can read it"


def _html(response: Any) -> str:
    return str(response.content.decode())


def test_counsel_cannot_read_or_write_the_client_firm_thread_on_the_portal(cast: Cast) -> None:
    olga = cast.firm.client(cast.olga)
    thread = f"/portal/matters/{cast.m1.pk}/messages/"

    read = olga.get(thread)
    written = olga.post(thread, {"body": "Hello from counsel"})

    assert (read.status_code, written.status_code) == (403, 403)
    with cast.firm.tenant:
        assert not Message.objects.filter(matter=cast.m1).exists()


def test_counsel_cannot_read_or_write_the_thread_through_the_api(cast: Cast) -> None:
    olga = cast.firm.client(cast.olga)
    thread = f"/api/v1/matters/{cast.m1.pk}/messages"

    read = olga.get(thread)
    written = olga.post(thread, {"body": "Hello from counsel"}, content_type="application/json")

    assert (read.status_code, written.status_code) == (403, 403)
    with cast.firm.tenant:
        assert not Message.objects.filter(matter=cast.m1).exists()


def test_the_client_only_pages_are_refused_to_counsel(cast: Cast) -> None:
    olga = cast.firm.client(cast.olga)
    with cast.firm.tenant:
        from core.checklist import checklist_for

        item = checklist_for(cast.m1)[0].key

    pages = [
        f"/portal/matters/{cast.m1.pk}/upload/?item={item}",
        f"/portal/matters/{cast.m1.pk}/intake/",
        f"/portal/matters/{cast.m1.pk}/intake/?review=1",
    ]

    assert [olga.get(page).status_code for page in pages] == [403, 403, 403]


def test_counsels_matter_page_is_read_only_without_thread_or_dead_buttons(cast: Cast) -> None:
    html = _html(cast.firm.client(cast.olga).get(f"/portal/matters/{cast.m1.pk}/"))

    assert "2025-0001" in html  # the granted matter itself is there
    assert "Your access to this matter ends on" in html
    assert THREAD_PROMISE not in html
    for link in ("/messages/", "/upload/", "/intake/"):
        assert f"/portal/matters/{cast.m1.pk}{link}" not in html, link


def test_the_client_still_has_every_part_of_her_portal(cast: Cast) -> None:
    carol = cast.firm.client(cast.carol)

    html = _html(carol.get(f"/portal/matters/{cast.m1.pk}/"))

    assert THREAD_PROMISE in html
    for link in ("/messages/", "/upload/", "/intake/"):
        assert f"/portal/matters/{cast.m1.pk}{link}" in html, link
    assert carol.get(f"/portal/matters/{cast.m1.pk}/messages/").status_code == 200


def test_counsel_reach_only_the_granted_matter(cast: Cast) -> None:
    olga = cast.firm.client(cast.olga)

    listed = _html(olga.get("/portal/matters/"))

    assert "2025-0001" in listed
    assert "2025-0002" not in listed
    assert olga.get(f"/portal/matters/{cast.m2.pk}/").status_code == 404
    assert [m["reference"] for m in olga.get("/api/v1/matters").json()["results"]] == ["2025-0001"]
