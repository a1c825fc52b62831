"""Every API error in one shape, ``{"error": {"code", "message", "fields"}}`` (issue 10 item 5)."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from django.utils import timezone

from tests.support.cast import Cast
from tests.test_url_access import all_routes, path_of


def _error(response: Any) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    assert body["error"]["message"], body
    return body["error"]  # type: ignore[no-any-return]


def test_not_yours_not_signed_in_and_not_allowed_each_say_so_in_the_one_shape(cast: Cast) -> None:
    dan, pete = cast.firm.client(cast.dan), cast.firm.client(cast.pete)

    assert _error(dan.get(f"/api/v1/matters/{cast.m1.pk}")) == {
        "code": "not_found",
        "message": "No such matter.",
        "fields": {},
    }
    assert _error(cast.firm.client().get("/api/v1/matters"))["code"] == "not_authenticated"
    assert _error(pete.get(f"/api/v1/matters/{cast.m1.pk}/grants")) == {
        "code": "permission_denied",
        "message": "Your role does not allow this.",
        "fields": {},
    }
    assert _error(dan.delete("/api/v1/matters"))["code"] == "method_not_allowed"


def test_invalid_fields_are_listed_by_name_nested_ones_with_dots(cast: Cast) -> None:
    alice = cast.firm.client(cast.alice)

    bad_review = alice.post("/api/v1/review-queue", {}, content_type="application/json")
    bad_import = alice.post(
        "/api/v1/intake/import",
        {"intakeId": "x", "client": {"email": "not an email"}, "matter": {"matterType": "I-130"}},
        content_type="application/json",
    )
    bad_json = alice.post("/api/v1/intake/import", "{not json", content_type="application/json")

    assert bad_review.status_code == 405
    error = _error(bad_import)
    assert (bad_import.status_code, error["code"]) == (400, "invalid")
    assert error["fields"]["client.email"] == ["Enter a valid email address."]
    assert "client.firstName" in error["fields"]
    assert _error(bad_json)["code"] == "parse_error"


def test_a_services_refusal_is_a_400_with_its_message(cast: Cast) -> None:
    partner = cast.firm.client(cast.paula)
    past = (timezone.now() - timedelta(days=1)).isoformat()

    response = partner.post(
        f"/api/v1/matters/{cast.m2.pk}/grants",
        {"grantee": "olga@acme.test", "expires_at": past, "reason": "late"},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert _error(response) == {"code": "invalid", "message": "The expiry must be in the future.", "fields": {}}


def test_an_invalid_intake_answer_names_its_question_and_the_valid_ones_are_kept(cast: Cast) -> None:
    carol = cast.firm.client(cast.carol)

    response = carol.post(
        f"/api/v1/matters/{cast.m1.pk}/intake",
        {"answers": {"petitioner_status": "citizen", "marriage_date": "someday"}},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert _error(response)["fields"] == {"answers.marriage_date": ["Enter a date like 2024-03-31."]}
    assert carol.get(f"/api/v1/matters/{cast.m1.pk}/intake").json()["answers"]["petitioner_status"] == "citizen"


def test_every_api_error_an_outsider_meets_has_the_one_shape(cast: Cast) -> None:
    from tests.test_url_access import _victim_ids

    ids = _victim_ids(cast)
    problems = []
    for client in (cast.firm.client(), cast.firm.client(cast.dan)):
        for route in all_routes():
            if not route.is_api:
                continue
            path = path_of(route, ids)
            for response in (client.get(path), client.post(path, {}), client.put(path, {})):
                if response.status_code < 400:
                    continue
                try:
                    _error(response)
                except (AssertionError, ValueError) as problem:
                    problems.append(f"{route.name} {response.status_code}: {problem}")

    assert problems == []
