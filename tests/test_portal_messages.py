"""Secure messages between the client and the firm on the client's matter (issue 5 item 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.core import mail

from core.messages import message_send
from core.models import Message, Notification

if TYPE_CHECKING:
    from tests.support.cast import Cast


def thread_url(cast: Cast) -> str:
    return f"/portal/matters/{cast.lucia_matter.pk}/messages/"


def test_the_client_writes_to_the_firm_and_the_paralegal_is_told(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)

    response = lucia.post(thread_url(cast), {"body": "¿Necesitan el acta original?"})

    assert response.status_code == 302
    html = lucia.get(thread_url(cast)).content.decode()
    assert "¿Necesitan el acta original?" in html
    assert "Su mensaje fue enviado a su equipo legal." in html
    with cast.firm.tenant:
        assert Message.objects.filter(matter=cast.lucia_matter, sender=cast.lucia).count() == 1
        assert Notification.objects.filter(recipient=cast.paco, kind="message.received").exists()


def test_a_message_from_the_firm_shows_in_the_thread_and_the_client_is_emailed_in_spanish(cast: Cast) -> None:
    with cast.firm.tenant:
        message_send(matter=cast.lucia_matter, sender=cast.paco, body="Hola Lucía, recibimos su pasaporte.")

    html = cast.client_of(cast.lucia).get(thread_url(cast)).content.decode()

    assert "Hola Lucía, recibimos su pasaporte." in html
    assert "Paco Ruiz" in html
    email = mail.outbox[-1]
    assert email.to == ["lucia@example.test"]
    assert email.subject == f"Nuevo mensaje sobre su caso {cast.lucia_matter.reference}"


def test_an_empty_message_is_refused_with_a_clear_message(cast: Cast) -> None:
    response = cast.client_of(cast.lucia).post(thread_url(cast), {"body": "   "})

    assert response.status_code == 400
    assert "Primero escriba un mensaje." in response.content.decode()
    with cast.firm.tenant:
        assert not Message.objects.filter(matter=cast.lucia_matter).exists()


def test_the_client_of_another_matter_can_neither_read_nor_write_the_thread(cast: Cast) -> None:
    with cast.firm.tenant:
        message_send(matter=cast.lucia_matter, sender=cast.lucia, body="Solo para mi equipo")
    dora = cast.client_of(cast.dora)

    assert dora.get(thread_url(cast)).status_code == 404
    assert dora.post(thread_url(cast), {"body": "hola"}).status_code == 404
    with cast.firm.tenant:
        assert Message.objects.filter(matter=cast.lucia_matter).count() == 1
