"""The staff workspace: matters list (search, filters, pinned query count), matter page, review queue."""

from __future__ import annotations

from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.audit.models import AuditEntry
from core.matters import matter_create
from core.models import Document, Matter, Message
from tests.support.casework import answer_i130, upload
from tests.support.cast import Cast


def _queries_for_list(cast: Cast) -> int:
    client = cast.firm.client(cast.alice)
    client.get("/staff/matters/")  # the first request of a session also loads the session's own rows
    with CaptureQueriesContext(connection) as queries:
        response = client.get("/staff/matters/")
    assert response.status_code == 200
    return len(queries)


def test_the_matters_list_costs_the_same_queries_for_3_or_23_matters(cast: Cast) -> None:
    few = _queries_for_list(cast)
    with cast.firm.tenant:
        for n in range(20):
            matter_create(
                reference=f"2030-{n:04d}",
                title=f"Bulk {n}",
                matter_type="N-400" if n % 2 else "H-1B",
                client=cast.dan,
                assigned_paralegal=cast.pete,
                by=cast.alice,
            )

    assert _queries_for_list(cast) == few
    assert few <= 16


def test_search_finds_by_client_name_and_filters_by_type_and_stage(cast: Cast) -> None:
    client = cast.firm.client(cast.alice)

    by_name = client.get("/staff/matters/", {"text": "carol"}).content.decode()
    by_type = client.get("/staff/matters/", {"matter_type": "N-400"}).content.decode()
    by_stage = client.get("/staff/matters/", {"stage": "documents"}).content.decode()

    assert "2025-0001" in by_name and "2025-0002" not in by_name  # noqa: PT018
    assert "2025-0002" in by_type and "2025-0001" not in by_type  # noqa: PT018
    assert "No matters match." in by_stage  # every matter is still at intake


def test_a_paralegal_sees_only_his_matters_in_the_list(cast: Cast) -> None:
    page = cast.firm.client(cast.pete).get("/staff/matters/").content.decode()

    assert "2025-0001" in page
    assert "2025-0002" not in page


def test_the_review_queue_shows_a_thumbnail_and_metadata_and_a_rejection_reaches_the_client(cast: Cast) -> None:
    with cast.firm.tenant:
        answer_i130(Matter.objects.get(pk=cast.m1.pk), cast.carol)
        document = upload(cast.m1, "passport", cast.carol, signer="Carol Diaz", document_type="Passport")
    pete = cast.firm.client(cast.pete)

    queue = pete.get("/staff/review/").content.decode()
    thumbnail = pete.get(f"/staff/documents/{document.pk}/thumbnail.jpg")
    mail.outbox.clear()
    decided = pete.post(
        f"/staff/documents/{document.pk}/review/",
        {"decision": "reject", "reason_code": "blurry_image", "note": "Too dark", "next": "queue"},
    )

    assert "Passport (photo page)" in queue
    assert "uploaded “Passport (photo page)” on matter 2025-0001" in queue  # the in-app notification
    assert "Carol Diaz" in queue
    assert f"/staff/documents/{document.pk}/thumbnail.jpg" in queue
    assert thumbnail["Content-Type"] == "image/jpeg"
    assert thumbnail.content[:3] == b"\xff\xd8\xff"
    assert decided.status_code == 302
    assert decided["Location"] == "/staff/review/"
    with cast.firm.tenant:
        assert AuditEntry.objects.filter(action="document.viewed", target_id=str(document.pk)).exists()
        saved = Document.objects.get(pk=document.pk)
        assert (saved.status, saved.reason_code, saved.review_note) == ("rejected", "blurry_image", "Too dark")
    assert [m.to for m in mail.outbox] == [["carol@acme.test"]]
    assert pete.post("/staff/notifications/read/").status_code == 302
    after = pete.get("/staff/review/").content.decode()
    assert "Nothing is waiting for review." in after
    assert "New for you" not in after


def test_a_rejection_without_a_reason_is_refused_with_a_message(cast: Cast) -> None:
    with cast.firm.tenant:
        document = upload(cast.m1, "passport", cast.carol)
    pete = cast.firm.client(cast.pete)

    response = pete.post(f"/staff/documents/{document.pk}/review/", {"decision": "reject"}, follow=True)

    assert "Choose a reason for the rejection." in response.content.decode()
    with cast.firm.tenant:
        assert Document.objects.get(pk=document.pk).status == "received"


def test_the_matter_page_shows_checklist_history_answers_and_timeline(cast: Cast) -> None:
    with cast.firm.tenant:
        answer_i130(Matter.objects.get(pk=cast.m1.pk), cast.carol, prior_marriages=2)
        first = upload(cast.m1, "passport", cast.carol)
        from core.documents import document_review

        document_review(document=first, by=cast.pete, decision="reject", reason_code="missing_page")
        upload(cast.m1, "passport", cast.carol)

    page = cast.firm.client(cast.pete).get(f"/staff/matters/{cast.m1.pk}/").content.decode()

    assert "Proof that prior marriage ended (divorce decree, annulment or death certificate) (2)" in page
    assert "v2 · Received" in page
    assert "v1 · Needs a new upload (missing_page)" in page
    assert "How many times were you married before?" in page
    assert "intake.completed" in page
    assert "document.rejected" in page


def test_staff_advance_the_stage_and_write_to_the_client(cast: Cast) -> None:
    pete = cast.firm.client(cast.pete)

    advanced = pete.post(f"/staff/matters/{cast.m1.pk}/stage/", {"stage": ""}, follow=True).content.decode()
    pete.post(f"/staff/matters/{cast.m1.pk}/messages/", {"body": "Please bring your passport."})

    assert "The matter is now at “Documents”." in advanced
    with cast.firm.tenant:
        assert Matter.objects.get(pk=cast.m1.pk).stage.code == "documents"  # type: ignore[union-attr]
        assert Message.objects.get(matter=cast.m1).body == "Please bring your passport."
    assert mail.outbox[-1].to == ["carol@acme.test"]


def test_an_attorney_who_only_sees_a_matter_cannot_advance_it(cast: Cast) -> None:
    response = cast.firm.client(cast.olga).post(f"/staff/matters/{cast.m1.pk}/stage/", {"stage": ""})

    assert response.status_code == 403


def test_opening_a_matter_for_a_new_client_invites_her_in_her_language(cast: Cast) -> None:
    from core.models import MatterType, User

    with cast.firm.tenant:
        i130 = MatterType.objects.get(code="I-130")
    mail.outbox.clear()

    response = cast.firm.client(cast.alice).post(
        "/staff/matters/new/",
        {
            "email": "Lucia.Fernandez@Example.test",
            "full_name": "Lucía Fernández",
            "language": "es",
            "matter_type": i130.pk,
            "assigned_paralegal": cast.pete.pk,
            "responsible_attorney": cast.arthur.pk,
            "invite": "on",
        },
    )

    assert response.status_code == 302
    with cast.firm.tenant:
        matter = Matter.objects.select_related("client", "stage").get(client__email="lucia.fernandez@example.test")
        assert matter.client.invited_at is not None
        assert matter.stage is not None
        assert matter.stage.code == "intake"
        assert User.objects.get(pk=cast.pete.pk).has_perm("core.change_matter", matter)
    [invitation] = mail.outbox
    assert invitation.to == ["lucia.fernandez@example.test"]
    assert "/accounts/set-password/" in invitation.body
    assert matter.reference in cast.firm.client(cast.pete).get("/staff/matters/").content.decode()


def test_a_matter_cannot_be_opened_for_a_staff_members_email(cast: Cast) -> None:
    from core.models import MatterType

    with cast.firm.tenant:
        i130 = MatterType.objects.get(code="I-130")

    response = cast.firm.client(cast.alice).post(
        "/staff/matters/new/",
        {"email": "pete@acme.test", "full_name": "Pete", "language": "en", "matter_type": i130.pk},
    )

    assert response.status_code == 400
    assert "pete@acme.test is not a client of the firm." in response.content.decode()


def test_the_matter_page_costs_the_same_queries_with_one_or_many_documents(cast: Cast) -> None:
    def queries() -> int:
        client = cast.firm.client(cast.pete)
        client.get(f"/staff/matters/{cast.m1.pk}/")
        with CaptureQueriesContext(connection) as captured:
            assert client.get(f"/staff/matters/{cast.m1.pk}/").status_code == 200
        return len(captured)

    with cast.firm.tenant:
        answer_i130(Matter.objects.get(pk=cast.m1.pk), cast.carol, prior_marriages=1)
        upload(cast.m1, "passport", cast.carol)
    one = queries()
    with cast.firm.tenant:
        for code in ("marriage_certificate", "petitioner_status_proof", "prior_marriage_ended", "g28"):
            upload(cast.m1, code, cast.carol)
        upload(cast.m1, "passport", cast.carol)

    assert queries() == one
