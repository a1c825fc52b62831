"""The client's billing page (/portal/billing/) is reachable, fits a phone and speaks Spanish (issue 18 item 15).

A Spanish-speaking client with invoices, a wire payment and a retainer wired
into trust: the portal's navigation links to the page; on a 375 px phone in
real Chromium the page scrolls no wider than the screen (it was a 654 px
table); the Spanish page shows no English method name ("Wire").

The browser test serves the app with Django's threaded WSGI server in this
process for a firm of its own (committed, removed afterwards), as the browser
journey does; Debian's ``/usr/bin/chromium`` is driven by Playwright.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from axe_playwright_python.sync_playwright import Axe
from django.core.servers.basehttp import ThreadedWSGIServer, WSGIRequestHandler
from django.core.wsgi import get_wsgi_application
from django.db import connection, connections
from django.test import Client
from django.utils import timezone
from playwright.sync_api import sync_playwright

from billing.fees.models import FeeTemplate
from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue, payment_record
from billing.money import Money
from billing.trust.services import trust_deposit
from core.matters import matter_create
from core.models import User
from core.roles import Role
from core.services import user_create
from kms import signing
from tenants.db import tenant_connection
from tenants.models import Tenant
from tests.support.servers import free_port

SLUG = "billphone"
ENGLISH_ON_THE_SPANISH_PAGE = ["Wire", "Check", "Cash", "Issued", "Paid", "Balance due", "Download PDF"]


class QuietHandler(WSGIRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


@dataclass
class Site:
    base_url: str
    tenant: Tenant
    client: User


def _remove_firm() -> None:
    tenant_connection().set_schema_to_public()
    Tenant.objects.filter(slug=SLUG).delete()
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{SLUG}" CASCADE')


def _books(admin: User, client: User) -> None:
    """Two matters, three issued invoices (one paid by wire), and a retainer wired into trust."""
    fee = FeeTemplate.objects.get(code="PET-FLAT")
    for number in range(2):
        matter = matter_create(
            reference=f"2026-10{number}", title="Petición de residencia permanente", matter_type="I-130",
            client=client, by=admin,
        )  # fmt: skip
        trust_deposit(client=client, matter=matter, amount=Money(2_500_00), method="wire", reference="TRF-88", by=admin)
        for _ in range(2 - number):
            invoice = invoice_create(matter=matter, by=admin)
            invoice_add_fee(invoice=invoice, template=fee)
            invoice_add_fee(invoice=invoice, template=FeeTemplate.objects.get(code="USCIS-FEE"))
            invoice = invoice_issue(invoice=invoice, by=admin)
    issued = client.invoices.exclude(status="paid").first()
    if issued is not None and issued.balance_due_minor > 0:
        payment_record(invoice=issued, method="wire", amount=Money(100_00), by=admin, received_on=timezone.localdate())


@pytest.fixture
def site(django_db_setup: object, django_db_blocker: Any) -> Iterator[Site]:
    from tenants.services import tenant_create

    port = free_port()
    server = ThreadedWSGIServer(("127.0.0.1", port), QuietHandler, allow_reuse_address=False)
    server.set_app(get_wsgi_application())
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()  # before anything can fail: shutdown() waits for a loop that never ran otherwise
    with django_db_blocker.unblock():
        _remove_firm()
        signing.forget_cached_key()
        tenant = tenant_create(slug=SLUG, name="Bufete Móvil", region="eu-central-1", admin_email="a@phone.test").tenant
        try:
            with tenant:
                admin = User.objects.get(email="a@phone.test")
                lucia = user_create(
                    email="lucia.fernandez-de-la-garza@phone.test",
                    role=Role.CLIENT,
                    full_name="Lucía Fernández de la Garza",
                    language="es",
                )
                _books(admin, lucia)
            yield Site(f"http://{SLUG}.localhost:{port}", tenant, lucia)
        finally:
            server.shutdown()
            server.server_close()
            connections.close_all()
            signing.forget_cached_key()
            _remove_firm()


def _session_cookie(site: Site) -> str:
    client = Client(HTTP_HOST=f"{SLUG}.localhost")
    with site.tenant:
        client.force_login(site.client)
    return client.cookies["sessionid"].value


def test_the_billing_page_is_linked_fits_a_phone_and_has_no_english_in_spanish(site: Site) -> None:
    session = _session_cookie(site)  # before Playwright's event loop: Django refuses DB calls inside it
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path="/usr/bin/chromium", headless=True, args=["--no-sandbox"])
        try:
            context = browser.new_context(
                viewport={"width": 375, "height": 812}, device_scale_factor=2, is_mobile=True, has_touch=True
            )
            host = f"{SLUG}.localhost"
            context.add_cookies([{"name": "sessionid", "value": session, "domain": host, "path": "/"}])
            page = context.new_page()

            page.goto(f"{site.base_url}/portal/matters/")
            page.get_by_role("navigation").get_by_role("link", name="Facturación").click()
            page.wait_for_url(f"{site.base_url}/portal/billing/")

            assert page.evaluate("document.documentElement.scrollWidth") <= 375
            text = page.inner_text("main")
            assert "Transferencia bancaria" in text
            for english in ENGLISH_ON_THE_SPANISH_PAGE:
                assert english not in text, english
            assert page.get_by_role("link", name="Descargar PDF").count() == 3
            serious = [
                violation["id"]
                for violation in Axe().run(page).response["violations"]
                if violation["impact"] in ("serious", "critical")
            ]
            assert serious == []
        finally:
            browser.close()
