"""Secure messages between the client and the firm on the client's matter (issue 5 item 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core import mail

from core.messages import message_send
from core.models import Message, Notification

if TYPE_CHECKING:
    from tests.fixtures_portal import Case

pytest_plugins = ["tests.fixtures_portal"]


def thread_url(case: Case) -> str:
    return f"/portal/matters/{case.matter.pk}/messages/"


def test_the_client_writes_to_the_firm_and_the_paralegal_is_told(case: Case) -> None:
    lucia = case.client_of(case.lucia)

    response = lucia.post(thread_url(case), {"body": "¿Necesitan el acta original?"})

    assert response.status_code == 302
    html = lucia.get(thread_url(case)).content.decode()
    assert "¿Necesitan el acta original?" in html
    assert "Su mensaje fue enviado a su equipo legal." in html
    with case.firm.tenant:
        assert Message.objects.filter(matter=case.matter, sender=case.lucia).count() == 1
        assert Notification.objects.filter(recipient=case.paco, kind="message.received").exists()


def test_a_message_from_the_firm_shows_in_the_thread_and_the_client_is_emailed_in_spanish(case: Case) -> None:
    with case.firm.tenant:
        message_send(matter=case.matter, sender=case.paco, body="Hola Lucía, recibimos su pasaporte.")

    html = case.client_of(case.lucia).get(thread_url(case)).content.decode()

    assert "Hola Lucía, recibimos su pasaporte." in html
    assert "Paco Ruiz" in html
    email = mail.outbox[-1]
    assert email.to == ["lucia@example.test"]
    assert email.subject == f"Nuevo mensaje sobre su caso {case.matter.reference}"


def test_an_empty_message_is_refused_with_a_clear_message(case: Case) -> None:
    response = case.client_of(case.lucia).post(thread_url(case), {"body": "   "})

    assert response.status_code == 400
    assert "Primero escriba un mensaje." in response.content.decode()
    with case.firm.tenant:
        assert not Message.objects.filter(matter=case.matter).exists()


def test_the_client_of_another_matter_can_neither_read_nor_write_the_thread(case: Case) -> None:
    with case.firm.tenant:
        message_send(matter=case.matter, sender=case.lucia, body="Solo para mi equipo")
    dora = case.client_of(case.dora)

    assert dora.get(thread_url(case)).status_code == 404
    assert dora.post(thread_url(case), {"body": "hola"}).status_code == 404
    with case.firm.tenant:
        assert Message.objects.filter(matter=case.matter).count() == 1
