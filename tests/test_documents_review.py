"""Uploads against a requirement, review with templated reasons, history, completeness KPI, downloads."""

from __future__ import annotations

import pytest
from django.core import mail
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import Http404
from django.utils import translation

from core.access import document_for_user
from core.audit.models import AuditEntry
from core.checklist import ChecklistLine, checklist_for
from core.documents import document_open, document_review
from core.models import Document, Matter, MatterEvent, Notification
from core.models.casework import ReasonCode
from core.signals import matter_stage_completed
from residency.storage import client_files
from tests.support.casework import answer_i130, png_bytes, upload, upload_all_required
from tests.support.cast import Cast


def _line(matter: Matter, code: str, slot: int = 1) -> ChecklistLine:
    return next(line for line in checklist_for(matter) if line.requirement.code == code and line.slot == slot)


def test_an_upload_marks_the_item_received_notifies_the_paralegal_and_is_audited(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        mail.outbox.clear()

        document = upload(m1, "passport", cast.carol, document_type="passport", signer="Carol Diaz")

        assert _line(m1, "passport").status == "received"
        assert _line(m1, "passport").latest == document
        assert b"".join(client_files.stream(document.storage_name)) == png_bytes()
        notice = Notification.objects.get(recipient=cast.pete)
        assert "uploaded “Passport (photo page)” on matter 2025-0001" in notice.text
        assert [message.to for message in mail.outbox] == [["pete@acme.test"]]
        assert AuditEntry.objects.filter(action="document.uploaded", target_id=str(document.pk)).exists()
        assert MatterEvent.objects.filter(matter=m1, kind="document.uploaded", document=document).exists()


def test_a_rejection_reaches_the_client_in_her_language_and_a_resubmission_keeps_history(cast: Cast) -> None:
    with cast.firm.tenant:
        cast.carol.preferred_language = "es"
        cast.carol.save()
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        first = upload(m1, "passport", cast.carol)
        mail.outbox.clear()

        document_review(document=first, by=cast.pete, decision="reject", reason_code="blurry_image", note="")

        with translation.override("es"):
            reason = str(ReasonCode.BLURRY_IMAGE.label)
            line = _line(m1, "passport")
            assert (line.status, line.reason_code, line.reason_text) == ("rejected", "blurry_image", reason)
        [email] = mail.outbox
        assert email.to == ["carol@acme.test"]
        assert "Pasaporte (página de la foto)" in email.subject
        assert reason in email.body
        assert reason in Notification.objects.get(recipient=cast.carol, kind="document.rejected").text

        second = upload(m1, "passport", cast.carol)

        line = _line(m1, "passport")
        assert line.status == "received"
        assert [d.version for d in line.history] == [2, 1]
        assert second.version == 2
        assert Document.objects.get(pk=first.pk).status == "rejected"


def test_each_prior_marriage_needs_its_own_proof(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol, prior_marriages=2)

        upload(m1, "prior_marriage_ended", cast.carol, slot=2)

        lines = [line for line in checklist_for(m1) if line.requirement.code == "prior_marriage_ended"]
        assert [(line.slot, line.status) for line in lines] == [(1, "missing"), (2, "received")]
        with pytest.raises(ValidationError):
            upload(m1, "prior_marriage_ended", cast.carol, slot=3)


def test_a_rejection_needs_a_templated_reason_and_other_needs_a_note(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        document = upload(m1, "passport", cast.carol)

        with pytest.raises(ValidationError):
            document_review(document=document, by=cast.pete, decision="reject", reason_code="ugly")
        with pytest.raises(ValidationError):
            document_review(document=document, by=cast.pete, decision="reject", reason_code="other", note=" ")


def test_only_staff_who_may_change_the_matter_review(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        document = upload(m1, "passport", cast.carol)

        for someone in (cast.carol, cast.olga, cast.anna):
            with pytest.raises(PermissionDenied):
                document_review(document=document, by=someone, decision="accept")


def test_accepting_everything_first_time_records_first_submission_completeness(cast: Cast) -> None:
    completed: list[str] = []

    def on_stage(sender: object, matter: Matter, stage: object, **kwargs: object) -> None:
        completed.append(stage.code)  # type: ignore[attr-defined]

    matter_stage_completed.connect(on_stage)
    try:
        with cast.firm.tenant:
            m1 = Matter.objects.get(pk=cast.m1.pk)
            answer_i130(m1, cast.carol)
            for document in upload_all_required(m1, cast.carol):
                document_review(document=document, by=cast.pete, decision="accept")

            saved = Matter.objects.select_related("stage").get(pk=m1.pk)
    finally:
        matter_stage_completed.disconnect(on_stage)

    assert saved.documents_completed_at is not None
    assert saved.complete_on_first_submission is True
    assert saved.stage is not None
    assert saved.stage.code == "drafting"
    assert completed == ["intake", "documents"]


def test_a_rejection_on_the_way_means_not_complete_on_first_submission(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        documents = upload_all_required(m1, cast.carol)
        document_review(document=documents[0], by=cast.pete, decision="reject", reason_code="missing_page")
        again = upload(m1, "passport", cast.carol)
        for document in [again, *documents[1:]]:
            document_review(document=document, by=cast.pete, decision="accept")

        assert Matter.objects.get(pk=m1.pk).complete_on_first_submission is False


def test_a_download_is_an_attachment_with_a_server_chosen_name_and_is_audited(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        document = upload(m1, "passport", cast.carol)
        document.original_filename = '../../etc/passwd".html'
        document.save()

        response = document_open(document=document_for_user(cast.pete, document.pk), user=cast.pete)

        assert response["Content-Disposition"] == 'attachment; filename="2025-0001-passport-1-v1.png"'
        assert b"".join(response.streaming_content) == png_bytes()  # type: ignore[arg-type]
        assert AuditEntry.objects.filter(action="document.downloaded", target_id=str(document.pk)).exists()


def test_a_document_is_404_for_the_client_of_another_matter_and_the_outsider(cast: Cast) -> None:
    with cast.firm.tenant:
        m1 = Matter.objects.get(pk=cast.m1.pk)
        answer_i130(m1, cast.carol)
        document = upload(m1, "passport", cast.carol)

        assert document_for_user(cast.carol, document.pk) == document
        for someone in (cast.dan, cast.oscar, cast.anna):
            with pytest.raises(Http404):
                document_for_user(someone, document.pk)
        with pytest.raises(Http404):
            document_for_user(cast.carol, "nope")
