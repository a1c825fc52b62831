"""Emails come from the firm and carry links that can be clicked (issue 18 item 14): an absolute link to the
firm's own subdomain, and the firm's name as the sender: ``"Acme Immigration LLP" <no-reply@…>`` (issue 11 item 6)."""

from __future__ import annotations

from django.core import mail

from core.messages import message_send
from core.services import user_invite
from tests.support.casework import upload
from tests.support.cast import Cast

SENDER = "Acme Immigration LLP <no-reply@localhost>"
SITE = "http://acme.localhost:8000"


def test_a_paralegal_is_told_of_an_upload_with_a_link_to_the_matter_on_the_firms_site(cast: Cast) -> None:
    with cast.firm.tenant:
        mail.outbox.clear()
        upload(cast.lucia_matter, "passport", cast.lucia)

    [email] = mail.outbox
    assert email.from_email == SENDER
    assert f"{SITE}/staff/matters/{cast.lucia_matter.pk}/" in email.body.split()


def test_a_client_is_told_of_a_message_in_spanish_with_a_link_to_her_case(cast: Cast) -> None:
    with cast.firm.tenant:
        mail.outbox.clear()
        message_send(matter=cast.lucia_matter, sender=cast.paco, body="Necesitamos su acta de matrimonio.")

    [email] = mail.outbox
    assert email.from_email == SENDER
    assert email.to == ["lucia@example.test"]
    assert f"{SITE}/portal/matters/{cast.lucia_matter.pk}/" in email.body.split()
    assert "Su equipo legal" in email.body


def test_the_invitation_comes_from_the_firm_too(cast: Cast) -> None:
    with cast.firm.tenant:
        mail.outbox.clear()
        user_invite(user=cast.dora)

    [email] = mail.outbox
    assert email.from_email == SENDER


def test_a_firm_name_with_commas_and_accents_is_quoted_in_the_sender(cast: Cast) -> None:
    from email.utils import parseaddr

    from core.mail import firm_sender

    tenant = cast.firm.tenant
    real_name = tenant.name
    try:
        tenant.name = "Martínez, Ruiz & Asociados"  # in memory only: the session's firm keeps its name
        with tenant:
            sender = firm_sender()
    finally:
        tenant.name = real_name

    assert parseaddr(sender) == ("Martínez, Ruiz & Asociados", "no-reply@localhost")


def test_an_accented_firm_name_reaches_the_from_header_intact(cast: Cast) -> None:
    from email import message_from_bytes, policy

    tenant = cast.firm.tenant
    real_name = tenant.name
    try:
        tenant.name = "Martínez, Ruiz & Asociados"
        with tenant:
            mail.outbox.clear()
            user_invite(user=cast.dora)
    finally:
        tenant.name = real_name

    [email] = mail.outbox
    [sender] = message_from_bytes(email.message().as_bytes(), policy=policy.default)["From"].addresses
    assert (sender.display_name, sender.addr_spec) == ("Martínez, Ruiz & Asociados", "no-reply@localhost")
