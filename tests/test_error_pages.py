"""The product's own 403/404/500 pages, in the person's language with the firm's name, with DEBUG on as off
(issue 18 items 16 and 6: ``portico up`` runs with DEBUG on and showed Django's yellow debug pages)."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

from tests.support.cast import Cast
from tests.support.firms import Firm

DJANGO_DEBUG_PAGES = (b"DEBUG = True", b"Page not found at", b"Traceback", b"Server Error (500)", b"technical")


@pytest.fixture(params=[True, False], ids=["debug-on", "debug-off"])
def debug(request: pytest.FixtureRequest, settings: Any) -> bool:
    settings.DEBUG = request.param
    return bool(request.param)


def _page(response: Any) -> str:
    assert response["Content-Type"].startswith("text/html")
    for marker in DJANGO_DEBUG_PAGES:
        assert marker not in response.content, marker
    return str(response.content.decode())


def test_another_clients_matter_is_the_firms_404_page_in_spanish(cast: Cast, debug: bool) -> None:
    response = cast.client_of(cast.lucia).get(f"/portal/matters/{cast.dora_matter.pk}/")

    assert response.status_code == 404
    html = _page(response)
    assert "No encontrado" in html
    assert "No hay nada en esta dirección." in html
    assert "Acme Immigration LLP" in html
    assert 'lang="es"' in html


def test_an_unknown_path_is_the_firms_404_page_in_the_browsers_language(firm_a: Firm, debug: bool) -> None:
    response = firm_a.client().get("/no/such/page/", HTTP_ACCEPT_LANGUAGE="es")

    assert response.status_code == 404
    html = _page(response)
    assert "No hay nada en esta dirección." in html
    assert "Acme Immigration LLP" in html


def test_a_path_missing_its_slash_is_still_redirected(firm_a: Firm, debug: bool) -> None:
    response = firm_a.client().get("/portal/matters")

    assert (response.status_code, response["Location"]) == (301, "/portal/matters/")


def test_a_staff_page_is_the_firms_403_page_for_a_client(cast: Cast, debug: bool) -> None:
    response = cast.client_of(cast.lucia).get("/staff/matters/")

    assert response.status_code == 403
    html = _page(response)
    assert "No permitido" in html
    assert "Acme Immigration LLP" in html


def test_a_fault_is_the_firms_500_page_in_the_clients_language(
    cast: Cast, debug: bool, monkeypatch: pytest.MonkeyPatch
) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("a fault injected by the test")  # a real fault cannot be provoked on demand

    monkeypatch.setattr("portal.views.client.checklist_sections", broken)
    lucia = cast.client_of(cast.lucia)
    lucia.raise_request_exception = False

    response = lucia.get(f"/portal/matters/{cast.lucia_matter.pk}/")

    assert response.status_code == 500
    html = _page(response)
    assert "Algo salió mal" in html
    assert "Si vuelve a ocurrir, por favor comuníquese con Acme Immigration LLP." in html
    assert "a fault injected" not in html


def test_a_500_page_that_cannot_render_falls_back_to_a_plain_bilingual_page(
    cast: Cast, monkeypatch: pytest.MonkeyPatch, settings: Any
) -> None:
    settings.DEBUG = True

    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("fault injected by the test")

    monkeypatch.setattr("portal.views.client.checklist_sections", broken)
    monkeypatch.setattr("core.error_pages.render_to_string", broken)
    lucia = cast.client_of(cast.lucia)
    lucia.raise_request_exception = False

    response = lucia.get(f"/portal/matters/{cast.lucia_matter.pk}/")

    assert response.status_code == 500
    assert "Algo salió mal" in _page(response)


def test_api_faults_answer_in_the_api_error_shape(cast: Cast, debug: bool, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(*args: object, **kwargs: object) -> None:
        raise RuntimeError("fault injected by the test")

    lucia = cast.client_of(cast.lucia)
    lucia.raise_request_exception = False
    unknown = lucia.get("/api/v1/no-such-thing")
    monkeypatch.setattr("api.views.matters_for_user", broken)
    fault = lucia.get("/api/v1/matters")

    assert (unknown.status_code, unknown.json()["error"]["code"]) == (404, "not_found")
    assert (fault.status_code, fault.json()["error"]["code"]) == (500, "server_error")
    assert "fault injected" not in fault.content.decode()


def test_an_unknown_host_is_the_plain_404_page_with_debug_on(firm_a: Firm, settings: Any) -> None:
    settings.DEBUG = True

    response = Client(HTTP_HOST="nosuch.localhost").get("/portal/matters/")

    assert response.status_code == 404
    html = _page(response)
    assert "There is nothing at this address." in html
    assert "Acme" not in html
