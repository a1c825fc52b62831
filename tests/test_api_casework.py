"""The case-work API: intake, checklist, uploads through the safety pipeline, review, messages, §9 interchange."""

from __future__ import annotations

from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from core.models import Document, Matter, User
from residency.models import StoredObject
from tests.support.casework import png_bytes, requirement
from tests.support.cast import Cast
from tests.support.firms import PASSWORD, Firm

PAYLOAD: dict[str, Any] = {
    "intakeId": "CMS-2025-7781",
    "client": {
        "firstName": "Lucía",
        "lastName": "Fernández Ruiz",
        "email": "lucia.fernandez@example.test",
        "phone": "+1 305 555 0100",
        "preferredLanguage": "es",
    },
    "matter": {"matterType": "I-130", "filingCategory": "IR1", "priority": "high", "assignedAttorneyId": None},
    "documents": [],
    "payments": [],
}


def _passport_id(cast: Cast) -> int:
    with cast.firm.tenant:
        return requirement(cast.m1, "passport").pk


def test_a_client_answers_uploads_and_follows_her_checklist_through_the_api(cast: Cast) -> None:
    carol = cast.firm.client(cast.carol)

    answered = carol.post(
        f"/api/v1/matters/{cast.m1.pk}/intake",
        {"answers": {"petitioner_status": "citizen", "previously_married": True, "prior_marriages": 1}},
        content_type="application/json",
    )
    uploaded = carol.post(
        f"/api/v1/matters/{cast.m1.pk}/documents",
        {
            "requirement_id": _passport_id(cast),
            "file": SimpleUploadedFile("IMG_0001.PNG", png_bytes(), content_type="image/png"),
            "signer": "Carol Diaz",
        },
    )
    checklist = carol.get(f"/api/v1/matters/{cast.m1.pk}/checklist").json()

    assert answered.status_code == 200
    assert "prior_marriages" in [q["key"] for q in answered.json()["questions"]]
    assert uploaded.status_code == 201, uploaded.content
    assert uploaded.json()["status"] == "received"
    assert uploaded.json()["signer"] == "Carol Diaz"
    lines = {(line["code"], line["slot"]): line for line in checklist}
    assert lines[("passport", 1)]["status"] == "received"
    assert lines[("prior_marriage_ended", 1)]["status"] == "missing"
    download = carol.get(f"/api/v1/documents/{uploaded.json()['id']}/download")
    assert download["Content-Disposition"] == 'attachment; filename="2025-0001-passport-1-v1.png"'


def test_an_upload_that_is_not_what_it_claims_is_refused_and_nothing_is_stored(cast: Cast) -> None:
    with cast.firm.tenant:
        stored_before = StoredObject.objects.count()

    response = cast.firm.client(cast.carol).post(
        f"/api/v1/matters/{cast.m1.pk}/documents",
        {"requirement_id": _passport_id(cast), "file": SimpleUploadedFile("passport.png", b"MZ\x90\x00 not an image")},
    )

    assert response.status_code == 400
    assert response.json()["error"]["fields"]["file"]
    with cast.firm.tenant:
        assert StoredObject.objects.count() == stored_before
        assert not Document.objects.filter(matter=cast.m1).exists()


def test_a_paralegal_rejects_through_the_api_and_the_client_sees_the_reason(cast: Cast) -> None:
    carol, pete = cast.firm.client(cast.carol), cast.firm.client(cast.pete)
    uploaded = carol.post(
        f"/api/v1/matters/{cast.m1.pk}/documents",
        {"requirement_id": _passport_id(cast), "file": SimpleUploadedFile("p.png", png_bytes())},
    ).json()

    refused_to_client = carol.post(
        f"/api/v1/documents/{uploaded['id']}/review", {"decision": "accept"}, content_type="application/json"
    )
    reviewed = pete.post(
        f"/api/v1/documents/{uploaded['id']}/review",
        {"decision": "reject", "reason_code": "expired_document"},
        content_type="application/json",
    )
    again = pete.post(
        f"/api/v1/documents/{uploaded['id']}/review", {"decision": "accept"}, content_type="application/json"
    )
    line = next(
        line for line in carol.get(f"/api/v1/matters/{cast.m1.pk}/checklist").json() if line["code"] == "passport"
    )

    assert refused_to_client.status_code == 403
    assert reviewed.status_code == 200
    assert again.status_code == 400
    assert (line["status"], line["reason_code"]) == ("rejected", "expired_document")
    assert line["reason_text"] == "The document has expired. Please upload a current one."


def test_messages_go_both_ways_through_the_api(cast: Cast) -> None:
    carol, pete = cast.firm.client(cast.carol), cast.firm.client(cast.pete)

    carol.post(
        f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "When is my interview?"}, content_type="application/json"
    )
    pete.post(f"/api/v1/matters/{cast.m1.pk}/messages", {"body": "We will tell you."}, content_type="application/json")
    empty = carol.post(f"/api/v1/matters/{cast.m1.pk}/messages", {"body": " "}, content_type="application/json")

    thread = carol.get(f"/api/v1/matters/{cast.m1.pk}/messages").json()["results"]
    assert [(m["sender"], m["body"]) for m in thread] == [
        ("carol@acme.test", "When is my interview?"),
        ("pete@acme.test", "We will tell you."),
    ]
    assert empty.status_code == 400


def test_an_intake_imported_then_exported_comes_back_the_same(cast: Cast) -> None:
    alice = cast.firm.client(cast.alice)
    payload = {**PAYLOAD, "matter": {**PAYLOAD["matter"], "assignedAttorneyId": cast.arthur.pk}}

    imported = alice.post("/api/v1/intake/import", payload, content_type="application/json")

    assert imported.status_code == 201, imported.content
    assert imported.json() == payload
    with cast.firm.tenant:
        matter = Matter.objects.get(intake_id="CMS-2025-7781")
        assert matter.client.preferred_language == "es"
        assert matter.client.full_name == "Lucía Fernández Ruiz"
        assert matter.stage.code == "intake"  # type: ignore[union-attr]
    exported = alice.get(f"/api/v1/matters/{matter.pk}/intake-export").json()
    assert exported == payload
    again = alice.post("/api/v1/intake/import", payload, content_type="application/json")
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"intakeId": ["This intake was already imported."]}


def test_a_matter_exported_from_one_firm_imports_into_another(cast: Cast, firm_b: Firm) -> None:
    carol = cast.firm.client(cast.carol)
    carol.post(
        f"/api/v1/matters/{cast.m1.pk}/documents",
        {"requirement_id": _passport_id(cast), "file": SimpleUploadedFile("p.png", png_bytes())},
    )
    exported = cast.firm.client(cast.alice).get(f"/api/v1/matters/{cast.m1.pk}/intake-export").json()
    [document] = exported["documents"]
    assert document["type"] == "passport"
    assert document["uploadedBy"] == "carol@acme.test"

    moved = {**exported, "matter": {**exported["matter"], "assignedAttorneyId": None}}
    imported = firm_b.client(firm_b.admin).post("/api/v1/intake/import", moved, content_type="application/json")

    assert imported.status_code == 201
    assert imported["X-Documents-Skipped"] == "1"  # metadata arrives without the files
    assert {k: v for k, v in imported.json().items() if k != "documents"} == {
        k: v for k, v in moved.items() if k != "documents"
    }


def test_the_import_endpoint_refuses_outsiders_clients_and_other_firms_sessions(cast: Cast, firm_b: Firm) -> None:
    anonymous = cast.firm.client().post("/api/v1/intake/import", PAYLOAD, content_type="application/json")
    client = cast.firm.client(cast.dan).post("/api/v1/intake/import", PAYLOAD, content_type="application/json")
    on_b = firm_b.client()
    assert on_b.post("/accounts/login/", {"username": "bob@globex.test", "password": PASSWORD}).status_code == 302
    presented_to_a = cast.firm.client()
    presented_to_a.cookies["sessionid"] = on_b.cookies["sessionid"].value
    cross = presented_to_a.post("/api/v1/intake/import", PAYLOAD, content_type="application/json")

    assert (anonymous.status_code, client.status_code, cross.status_code) == (401, 403, 401)
    with cast.firm.tenant:
        assert not Matter.objects.filter(intake_id=PAYLOAD["intakeId"]).exists()
        assert not User.objects.filter(email="lucia.fernandez@example.test").exists()


def test_another_firms_admin_exports_nothing_of_this_firm(cast: Cast, firm_b: Firm) -> None:
    bob = firm_b.client(firm_b.admin)

    assert bob.get(f"/api/v1/matters/{cast.m1.pk}/intake-export").status_code == 404
    assert cast.firm.client(cast.dan).get(f"/api/v1/matters/{cast.m1.pk}/intake-export").status_code == 404


def test_staff_open_a_matter_through_the_api_and_clients_may_not(cast: Cast) -> None:
    body = {
        "email": "ana@example.test",
        "full_name": "Ana Ruiz",
        "language": "es",
        "matter_type": "N-400",
        "assigned_paralegal": "pete@acme.test",
        "invite": False,
    }

    opened = cast.firm.client(cast.alice).post("/api/v1/matters/open", body, content_type="application/json")
    by_client = cast.firm.client(cast.dan).post("/api/v1/matters/open", body, content_type="application/json")
    unknown_type = cast.firm.client(cast.alice).post(
        "/api/v1/matters/open", {**body, "matter_type": "I-999"}, content_type="application/json"
    )

    assert opened.status_code == 201
    assert (opened.json()["matter_type"], opened.json()["stage"]) == ("N-400", "intake")
    assert opened.json()["assigned_paralegal"] == "pete@acme.test"
    assert by_client.status_code == 403
    assert unknown_type.status_code == 400


def test_the_review_queue_and_matter_types_are_in_the_api_for_staff(cast: Cast) -> None:
    cast.firm.client(cast.carol).post(
        f"/api/v1/matters/{cast.m1.pk}/documents",
        {"requirement_id": _passport_id(cast), "file": SimpleUploadedFile("p.png", png_bytes())},
    )
    pete = cast.firm.client(cast.pete)

    queue = pete.get("/api/v1/review-queue").json()["results"]
    kinds = {kind["code"]: kind for kind in pete.get("/api/v1/matter-types").json()["results"]}

    assert [(d["matter"], d["requirement"], d["status"]) for d in queue] == [(cast.m1.pk, "passport", "received")]
    assert cast.firm.client(cast.anna).get("/api/v1/review-queue").json()["results"] == []
    assert cast.firm.client(cast.carol).get("/api/v1/review-queue").status_code == 403
    repeated = next(r for r in kinds["I-130"]["requirements"] if r["code"] == "prior_marriage_ended")
    assert repeated["repeat_for"] == "prior_marriages"
    assert repeated["condition"] == {"question": "previously_married", "equals": True}
