"""The client's journey in real Chromium (issue 5 item 7), with axe-core on every portal page it passes.

Lucía prefers Spanish and uses a phone (375 x 812, touch). She follows the
invitation email, chooses a password, answers the I-130 questionnaire taking
the prior-marriage branch, and uploads her passport photo, her marriage
certificate, proof of her husband's citizenship and her divorce decree (a PDF,
dropped onto the upload box), then sees them received. Paco, the paralegal, on a desktop browser, rejects
the passport as blurry and accepts the rest; Lucía reads the reason in
Spanish, sends a sharper photo; Paco accepts it; her checklist is complete.
Then Paco, on another computer, has forgotten his password and resets it by email.

The app is served by Django's threaded WSGI server in this process, for a firm
of its own created (committed) for the test and removed after it, at
``http://journey.localhost:<port>/`` (Chromium resolves ``*.localhost`` to the
loopback address). Debian's ``/usr/bin/chromium`` is driven by Playwright;
nothing is downloaded. Screenshots of each step go to
``test-artifacts/browser-journey/`` (git-ignored); the path and the journey's
duration are printed (and the duration written to ``duration.txt`` there).
"""

from __future__ import annotations

import base64
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.conf import settings
from django.core import mail
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection, connections
from playwright.sync_api import Browser, FilePayload, Page, expect, sync_playwright

from core.checklist import checklist_is_complete
from core.matters import matter_create
from core.models import Document, Matter, User
from core.roles import Role
from core.services import user_create, user_invite
from kms import signing
from tenants.db import tenant_connection
from tenants.models import Tenant
from tests.support import uploads as upload_samples
from tests.support.firms import PASSWORD
from tests.support.servers import free_port

pytestmark = pytest.mark.slow

SLUG = "journey"
ARTIFACTS = Path(settings.BASE_DIR) / "test-artifacts" / "browser-journey"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
LUCIA_PASSWORD = "Montaña-azul-2026!"
PACO_NEW_PASSWORD = "Paco's brand new passphrase 7"


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Journey:
    base_url: str
    tenant: Tenant
    invitation_link: str
    matter: Matter
    paco: User


def _remove_firm() -> None:
    tenant_connection().set_schema_to_public()
    Tenant.objects.filter(slug=SLUG).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')


@pytest.fixture
def journey(django_db_setup: object, django_db_blocker: Any, settings: Any) -> Iterator[Journey]:
    """A committed firm with Lucía (invited, Spanish) and an I-130 matter, served on a free port."""
    from tenants.services import tenant_create

    port = free_port()
    settings.PORTICO_PUBLIC_PORT = port  # so the emailed invitation link points at this server
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    with django_db_blocker.unblock():
        _remove_firm()
        signing.forget_cached_key()
        tenant = tenant_create(
            slug=SLUG, name="Journey Immigration", region="eu-central-1", admin_email="admin@journey.test"
        ).tenant
        try:
            with tenant:
                admin = User.objects.get(email="admin@journey.test")
                lucia = user_create(
                    email="lucia@journey.test", role=Role.CLIENT, full_name="Lucía Gómez", language="es"
                )
                paco = user_create(
                    email="paco@journey.test", role=Role.PARALEGAL, full_name="Paco Ruiz", password=PASSWORD
                )
                matter = matter_create(
                    reference="2026-0777",
                    title="Gómez spousal petition",
                    matter_type="I-130",
                    client=lucia,
                    assigned_paralegal=paco,
                    by=admin,
                )
                user_invite(user=lucia)
            invitation = mail.outbox[-1]
            link = next(word for word in invitation.body.split() if "/accounts/set-password/" in word)
            thread.start()
            yield Journey(f"http://{SLUG}.localhost:{port}", tenant, link, matter, paco)
        finally:
            server.shutdown()
            server.server_close()
            connections.close_all()
            signing.forget_cached_key()
            _remove_firm()


class Recorder:
    """Screenshots and axe-core results for each page of the journey."""

    def __init__(self) -> None:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        for old in ARTIFACTS.glob("*.png"):
            old.unlink()
        self.axe = Axe()
        self.count = 0
        self.violations: dict[str, list[str]] = {}
        self.checked: list[str] = []

    def shot(self, page: Page, name: str, *, audit: bool = True) -> None:
        self.count += 1
        page.screenshot(path=str(ARTIFACTS / f"{self.count:02d}-{name}.png"), full_page=True)
        if not audit:
            return
        results = self.axe.run(page)
        self.checked.append(name)
        serious = [
            f"{violation['id']} ({violation['impact']}): {violation['help']} at "
            + ", ".join(str(node["target"]) for node in violation["nodes"][:3])
            for violation in results.response["violations"]
            if violation["impact"] in ("serious", "critical")
        ]
        if serious:
            self.violations[name] = serious


def _phone(browser: Browser) -> Page:
    context = browser.new_context(
        viewport={"width": 375, "height": 812},
        device_scale_factor=2,
        is_mobile=True,
        has_touch=True,
        locale="es-ES",
    )
    context.set_default_timeout(15_000)
    return context.new_page()


def _desktop(browser: Browser) -> Page:
    context = browser.new_context(viewport={"width": 1280, "height": 900}, locale="en-US")
    context.set_default_timeout(15_000)
    return context.new_page()


def _fits_the_phone(page: Page) -> None:
    """Nothing wider than the 375 px screen: no sideways scrolling."""
    assert page.evaluate("document.documentElement.scrollWidth") <= 375


def _answer_intake(page: Page, rec: Recorder) -> None:
    expect(page.get_by_text("Pregunta 1 de 4")).to_be_visible()
    rec.shot(page, "intake-first-question")
    page.get_by_label("Ciudadano estadounidense").check()
    page.get_by_role("button", name="Guardar y continuar").click()
    page.get_by_label("Fecha de su matrimonio actual").fill("2021-06-12")
    page.get_by_role("button", name="Guardar y continuar").click()
    page.get_by_label("Sí").check()  # previously married: the branch
    page.get_by_role("button", name="Guardar y continuar").click()
    expect(page.get_by_text("Pregunta 4 de 5")).to_be_visible()
    # A wrong answer first: the message is clear and in Spanish.
    page.get_by_label("¿Cuántas veces estuvo casado(a) antes?").fill("12")
    page.get_by_role("button", name="Guardar y continuar").click()
    expect(page.get_by_role("alert")).to_have_text("Escriba un número del 1 al 9.")
    rec.shot(page, "intake-branch-question-with-error")
    page.get_by_label("¿Cuántas veces estuvo casado(a) antes?").fill("1")
    page.get_by_role("button", name="Guardar y continuar").click()
    page.get_by_label("No").check()
    page.get_by_role("button", name="Guardar y continuar").click()
    expect(page.get_by_text("El cuestionario está completo. ¡Gracias!")).to_be_visible()
    rec.shot(page, "intake-review")


def _upload(page: Page, rec: Recorder, item: str, name: str, mime: str, data: bytes, *, shot: str = "") -> None:
    page.locator(f'li[data-item="{item}"] a.button').click()
    expect(page.get_by_text("Se aceptan:")).to_be_visible()
    if shot:
        rec.shot(page, shot)
    page.set_input_files("#id_file", files=[FilePayload(name=name, mimeType=mime, buffer=data)])
    page.get_by_label("Fecha del documento").fill("2019-03-04")
    page.get_by_label("Firmado o emitido por").fill("Registro Civil")
    page.get_by_role("button", name="Enviar documento").click()
    expect(page.get_by_text("Gracias. Recibimos")).to_be_visible()


def _drop(page: Page, item: str, name: str, mime: str, data: bytes) -> None:
    """Upload by dragging the file onto the drop zone (upload.js), as on a desktop."""
    page.locator(f'li[data-item="{item}"] a.button').click()
    page.evaluate(
        """([name, mime, b64]) => {
            const bytes = Uint8Array.from(atob(b64), (c) => c.charCodeAt(0));
            const transfer = new DataTransfer();
            transfer.items.add(new File([bytes], name, {type: mime}));
            const zone = document.querySelector("[data-dropzone]");
            zone.dispatchEvent(new DragEvent("drop", {dataTransfer: transfer, bubbles: true, cancelable: true}));
        }""",
        [name, mime, base64.b64encode(data).decode()],
    )
    expect(page.locator("[data-chosen]")).to_contain_text(name)  # the script took the dropped file
    page.get_by_role("button", name="Enviar documento").click()
    expect(page.get_by_text("Gracias. Recibimos")).to_be_visible()


def _review(page: Page, base_url: str, requirement: str, *, reject_as: str = "") -> None:
    page.goto(f"{base_url}/staff/review/")
    section = page.locator("section.review", has_text=requirement)
    expect(section).to_have_count(1)
    if reject_as:
        section.get_by_label("Reason to reject").select_option(reject_as)
        section.get_by_role("button", name="Reject").click()
    else:
        section.get_by_role("button", name="Accept").click()
    expect(page.locator("section.review", has_text=requirement)).to_have_count(0)


def _paco_forgets_his_password(browser: Browser, rec: Recorder, journey: Journey, django_db_blocker: Any) -> None:
    """On another computer: the sign-in page's link, the emailed reset link, a new password (issue 11 item 6).

    The server runs the reset task in its own thread (Celery eager, set by the test); signing in from
    this new browser is emailed to him too."""
    from django.core.cache import cache

    from core.auth.reset import throttle_keys

    with django_db_blocker.unblock(), journey.tenant:  # the reset limits count per firm and hour, across runs
        cache.delete_many(throttle_keys(email="paco@journey.test", address="127.0.0.1"))
    other = _desktop(browser)
    other.goto(f"{journey.base_url}/accounts/login/")
    other.get_by_role("link", name="Forgot your password?").click()
    rec.shot(other, "password-reset-form")
    other.get_by_label("Email").fill("paco@journey.test")
    other.get_by_role("button", name="Email me a link").click()
    expect(other.get_by_role("heading", name="Check your email")).to_be_visible()
    rec.shot(other, "password-reset-sent")
    reset = mail.outbox[-1]
    assert reset.subject == "Reset your password at Journey Immigration"
    other.goto(next(word for word in str(reset.body).split() if "/accounts/password-reset/" in word))
    expect(other.get_by_role("heading", name="Choose a new password")).to_be_visible()
    rec.shot(other, "password-reset-choose")
    other.locator("#id_new_password1").fill(PACO_NEW_PASSWORD)
    other.locator("#id_new_password2").fill(PACO_NEW_PASSWORD)
    other.get_by_role("button", name="Set password").click()
    expect(other.get_by_text("Your password is changed.")).to_be_visible()
    other.get_by_label("Email").fill("paco@journey.test")
    other.get_by_label("Password").fill(PACO_NEW_PASSWORD)
    other.get_by_role("button", name="Sign in").click()
    other.goto(f"{journey.base_url}/staff/review/")
    expect(other).to_have_url(f"{journey.base_url}/staff/review/")
    assert mail.outbox[-1].subject == "New sign-in to your account at Journey Immigration"


def test_a_spanish_speaking_client_on_a_phone_completes_her_i130_with_a_rejected_and_resent_passport(
    journey: Journey, django_db_blocker: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    from core.celery import app as celery_app

    monkeypatch.setitem(celery_app.conf, "task_always_eager", True)
    rec = Recorder()
    started = time.monotonic()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=CHROMIUM_ARGS)
        try:
            phone = _phone(browser)
            # Invitation -> password, in Spanish before she has signed in.
            phone.goto(journey.invitation_link)
            expect(phone.get_by_role("heading", name="Elija su contraseña")).to_be_visible()
            rec.shot(phone, "set-password")
            phone.locator("#id_new_password1").fill(LUCIA_PASSWORD)
            phone.locator("#id_new_password2").fill(LUCIA_PASSWORD)
            phone.get_by_role("button", name="Guardar contraseña").click()
            expect(phone.get_by_text("Su contraseña quedó guardada.")).to_be_visible()
            rec.shot(phone, "sign-in")
            phone.get_by_label("Correo electrónico").fill("lucia@journey.test")
            phone.get_by_label("Contraseña").fill(LUCIA_PASSWORD)
            phone.get_by_role("button", name="Iniciar sesión").click()

            expect(phone.get_by_role("heading", name="Mis casos")).to_be_visible()
            rec.shot(phone, "my-cases")
            phone.get_by_role("link", name="Petición de familiar extranjero (cónyuge)").click()
            rec.shot(phone, "checklist-before-intake")
            _fits_the_phone(phone)
            phone.get_by_role("link", name="Comenzar el cuestionario").click()
            _answer_intake(phone, rec)
            _fits_the_phone(phone)
            phone.get_by_role("link", name="Ir a su lista de documentos").click()
            expect(phone.locator('li[data-item="prior_marriage_ended-1"]')).to_be_visible()  # the branch's item

            passport = upload_samples.photo((1200, 800), text="PASAPORTE")
            _upload(phone, rec, "passport-1", "pasaporte.jpg", "image/jpeg", passport, shot="upload-passport")
            _fits_the_phone(phone)
            pdf = "application/pdf"
            decree = upload_samples.scanned_pdf("Sentencia de divorcio", pages=2)
            _upload(phone, rec, "marriage_certificate-1", "acta.pdf", pdf, upload_samples.scanned_pdf("Acta"))
            _upload(phone, rec, "petitioner_status_proof-1", "ciudadania.pdf", pdf, upload_samples.scanned_pdf("N-560"))
            _drop(phone, "prior_marriage_ended-1", "divorcio.pdf", pdf, decree)
            waiting = phone.get_by_role("heading", name="Recibidos, en espera de revisión")
            expect(waiting).to_be_visible()
            for item in ("passport-1", "prior_marriage_ended-1"):
                expect(phone.locator(f'li[data-item="{item}"] .status-received')).to_have_text("Recibido")
            rec.shot(phone, "checklist-received")

            # The paralegal, on a desktop, rejects the passport as blurry and accepts the rest.
            desk = _desktop(browser)
            desk.goto(f"{journey.base_url}/accounts/login/")
            desk.get_by_label("Email").fill("paco@journey.test")
            desk.get_by_label("Password").fill(PASSWORD)
            desk.get_by_role("button", name="Sign in").click()
            desk.goto(f"{journey.base_url}/staff/review/")
            rec.shot(desk, "staff-review-queue", audit=False)
            _review(desk, journey.base_url, "Passport (photo page)", reject_as="blurry_image")
            for requirement in ("Marriage certificate", "Proof of the petitioner", "Proof that prior marriage ended"):
                _review(desk, journey.base_url, requirement)

            # Lucía sees why, in Spanish, and sends a sharper photo.
            phone.reload()
            reason = phone.locator('li[data-item="passport-1"] [data-testid="rejection-reason"]')
            expect(reason).to_contain_text("La imagen está borrosa. Por favor, tome una foto o un escaneo más nítido.")
            rec.shot(phone, "checklist-passport-rejected")
            sharper = upload_samples.photo((1200, 800), text="PASAPORTE (nitido)")
            _upload(phone, rec, "passport-1", "pasaporte-2.jpg", "image/jpeg", sharper, shot="upload-passport-again")

            _review(desk, journey.base_url, "Passport (photo page)")
            phone.reload()
            expect(phone.get_by_test_id("checklist-complete")).to_have_text(
                "Ya tenemos todo lo que necesitamos de usted. ¡Gracias!"
            )
            rec.shot(phone, "checklist-complete")
            _fits_the_phone(phone)
            phone.get_by_role("link", name="Mensajes").first.click()
            rec.shot(phone, "messages")

            _paco_forgets_his_password(browser, rec, journey, django_db_blocker)
        finally:
            browser.close()
    duration = time.monotonic() - started
    (ARTIFACTS / "duration.txt").write_text(f"{duration:.1f}\n")
    print(f"\nbrowser journey: {duration:.1f} s; screenshots in {ARTIFACTS}; axe-core checked {', '.join(rec.checked)}")

    assert rec.violations == {}
    with django_db_blocker.unblock(), journey.tenant:
        matter = Matter.objects.get(pk=journey.matter.pk)
        passports = Document.objects.filter(matter=matter, requirement__code="passport").order_by("version")
        assert [(d.version, d.status, d.reason_code) for d in passports] == [
            (1, "rejected", "blurry_image"),
            (2, "accepted", ""),
        ]
        assert checklist_is_complete(matter) is False  # the firm's own G-28 is still to do
        assert matter.intake_answers["prior_marriages"] == 1


def test_the_journey_leaves_no_firm_behind(db: None) -> None:
    # Also makes pytest-django create the test database when this module runs alone:
    # the journey itself works on committed data, outside any test transaction.
    assert not Tenant.objects.filter(slug=SLUG).exists()
