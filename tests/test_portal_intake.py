"""The guided intake in the client portal: only relevant questions, clear errors, saved and resumed (issue 5 item 2)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from django.test import Client

from core.models import Matter

if TYPE_CHECKING:
    from tests.support.cast import Cast


def intake_url(cast: Cast) -> str:
    return f"/portal/matters/{cast.lucia_matter.pk}/intake/"


def answer(client: Client, cast: Cast, key: str, value: str, **extra: str) -> object:
    return client.post(intake_url(cast), {"question": key, "answer": value, **extra})


def page(client: Client, url: str) -> str:
    response = client.get(url, follow=True)
    assert response.status_code == 200
    return response.content.decode()


def test_a_spanish_speaking_client_is_asked_the_first_question_in_spanish(cast: Cast) -> None:
    html = page(cast.client_of(cast.lucia), intake_url(cast))

    assert "¿El peticionario es ciudadano estadounidense o residente permanente?" in html
    assert "Pregunta 1 de 4" in html
    assert "Guardar y continuar" in html
    assert "Is the petitioner" not in html


def test_saying_yes_to_a_prior_marriage_asks_how_many_and_saying_no_does_not(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    answer(lucia, cast, "petitioner_status", "citizen")
    answer(lucia, cast, "marriage_date", "2021-06-12")

    response = answer(lucia, cast, "previously_married", "yes")

    assert response["Location"].endswith("?q=prior_marriages")  # type: ignore[index]
    html = page(lucia, response["Location"])  # type: ignore[index]
    assert "¿Cuántas veces estuvo casado(a) antes?" in html
    assert "Pregunta 4 de 5" in html

    answer(lucia, cast, "previously_married", "no")
    html = page(lucia, intake_url(cast))
    assert "¿Su cónyuge está ahora en los Estados Unidos?" in html
    assert "Pregunta 4 de 4" in html
    assert "Cuántas veces" not in html


def test_an_answer_out_of_range_is_refused_with_a_clear_message_in_spanish(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    answer(lucia, cast, "previously_married", "yes")

    response = answer(lucia, cast, "prior_marriages", "12")

    assert response.status_code == 400  # type: ignore[attr-defined]
    html = response.content.decode()  # type: ignore[attr-defined]
    assert "Escriba un número del 1 al 9." in html
    assert 'aria-invalid="true"' in html
    assert 'role="alert"' in html


def test_a_required_question_left_blank_says_it_needs_an_answer(cast: Cast) -> None:
    response = answer(cast.client_of(cast.lucia), cast, "marriage_date", "")

    assert response.status_code == 400  # type: ignore[attr-defined]
    assert "Esta pregunta necesita una respuesta." in response.content.decode()  # type: ignore[attr-defined]


def test_a_client_who_leaves_resumes_at_the_first_unanswered_question(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    answer(lucia, cast, "petitioner_status", "resident")
    response = answer(lucia, cast, "marriage_date", "2020-02-29", later="1")

    assert response["Location"] == f"/portal/matters/{cast.lucia_matter.pk}/"  # type: ignore[index]
    assert "Sus respuestas están guardadas" in page(lucia, response["Location"])  # type: ignore[index]

    on_another_device = cast.client_of(cast.lucia)
    html = page(on_another_device, f"/portal/matters/{cast.lucia_matter.pk}/")
    assert "Continuar el cuestionario" in html
    assert "¿Estuvo casado(a) anteriormente?" in page(on_another_device, intake_url(cast))


def test_a_finished_questionnaire_shows_the_answers_and_opens_the_prior_marriage_item(cast: Cast) -> None:
    lucia = cast.client_of(cast.lucia)
    for key, value in [
        ("petitioner_status", "citizen"),
        ("marriage_date", "2021-06-12"),
        ("previously_married", "yes"),
        ("prior_marriages", "1"),
        ("beneficiary_in_us", "no"),
    ]:
        assert answer(lucia, cast, key, value).status_code == 302  # type: ignore[attr-defined]

    review = page(lucia, intake_url(cast))
    assert "El cuestionario está completo. ¡Gracias!" in review
    assert "Ciudadano estadounidense" in review
    checklist = page(lucia, f"/portal/matters/{cast.lucia_matter.pk}/")
    assert "Prueba de que terminó el matrimonio anterior" in checklist
    with cast.firm.tenant:
        matter = Matter.objects.get(pk=cast.lucia_matter.pk)
        assert matter.intake_completed_at is not None
        assert matter.intake_answers["prior_marriages"] == 1


def test_the_client_of_another_matter_gets_404_for_the_intake(cast: Cast) -> None:
    dora = cast.client_of(cast.dora)

    assert dora.get(intake_url(cast)).status_code == 404
    assert answer(dora, cast, "petitioner_status", "citizen").status_code == 404  # type: ignore[attr-defined]
    with cast.firm.tenant:
        assert Matter.objects.get(pk=cast.lucia_matter.pk).intake_answers == {}
