"""Writes on fee templates and time: the defaults every firm starts with, recording time."""

from __future__ import annotations

from datetime import date
from typing import Any

from django.core.exceptions import ValidationError
from django.db import router, transaction

from billing.fees.models import FeeTemplate, TimeEntry
from billing.locks import money_transaction
from core.audit.actions import AuditAction
from core.audit.services import audit_record
from core.models import Matter, User

F = FeeTemplate

# code, service, kind, description, Spanish description, amount (minor units, USD), stage that bills it.
DEFAULT_TEMPLATES: list[tuple[str, str, str, str, str, int, str]] = [
    ("CONS-FLAT", F.Service.CONSULTATION, F.Kind.FLAT, "Initial consultation", "Consulta inicial", 150_00, ""),
    ("CONS-HOUR", F.Service.CONSULTATION, F.Kind.HOURLY, "Consultation time", "Tiempo de consulta", 250_00, ""),
    (
        "PET-FLAT",
        F.Service.PETITION_FILING,
        F.Kind.FLAT,
        "Petition preparation and filing",
        "Preparación y presentación de la petición",
        2_500_00,
        "filed",
    ),
    (
        "USCIS-FEE",
        F.Service.PETITION_FILING,
        F.Kind.DISBURSEMENT,
        "USCIS filing fee",
        "Tasa de presentación de USCIS",
        675_00,
        "filed",
    ),
    (
        "RFE-FLAT",
        F.Service.RFE_RESPONSE,
        F.Kind.FLAT,
        "Response to request for evidence",
        "Respuesta a solicitud de evidencia",
        1_000_00,
        "rfe",
    ),
    (
        "RFE-HOUR",
        F.Service.RFE_RESPONSE,
        F.Kind.HOURLY,
        "RFE research and drafting",
        "Investigación y redacción de la respuesta",
        300_00,
        "",
    ),
    ("APP-FLAT", F.Service.APPEAL, F.Kind.FLAT, "Appeal preparation", "Preparación de la apelación", 3_500_00, ""),
    (
        "AAO-FEE",
        F.Service.APPEAL,
        F.Kind.DISBURSEMENT,
        "Form I-290B filing fee",
        "Tasa de presentación del formulario I-290B",
        800_00,
        "",
    ),
]


def fee_templates_seed() -> int:
    """Create any default template the firm lacks (by code); edits the firm made are kept. Returns how many."""
    created = 0
    for code, service, kind, description, description_es, amount, stage in DEFAULT_TEMPLATES:
        _, made = FeeTemplate.objects.get_or_create(
            code=code,
            defaults={
                "service": service,
                "kind": kind,
                "description": description,
                "description_es": description_es,
                "amount_minor": amount,
                "bill_on_stage": stage,
            },
        )
        created += made
    return created


def seed_after_migrate(sender: Any, using: str = "default", **kwargs: Any) -> None:
    """post_migrate receiver: every firm schema (and the template new firms are stamped from) gets the defaults."""
    if router.allow_migrate_model(using, FeeTemplate):
        with transaction.atomic(using=using):
            fee_templates_seed()


@money_transaction
def time_entry_record(
    *,
    matter: Matter,
    timekeeper: User,
    worked_on: date,
    minutes: int,
    description: str,
    by: User,
    template: FeeTemplate | None = None,
    rate_minor: int | None = None,
) -> TimeEntry:
    """Minutes worked on a matter, at the template's hourly rate unless a rate is given."""
    if minutes <= 0:
        raise ValidationError("minutes worked must be above zero")
    if template is not None and template.kind != FeeTemplate.Kind.HOURLY:
        raise ValidationError(f"{template.code} is not an hourly fee")
    rate = rate_minor if rate_minor is not None else (template.amount_minor if template else None)
    if rate is None or rate < 0:
        raise ValidationError("time needs an hourly rate (from an hourly fee template or given)")
    entry = TimeEntry.objects.create(
        matter=matter,
        timekeeper=timekeeper,
        fee_template=template,
        worked_on=worked_on,
        minutes=minutes,
        rate_minor=rate,
        currency=template.currency if template else "USD",
        description=description,
    )
    audit_record(
        AuditAction.TIME_ENTRY_RECORD, actor=by, target=entry, data={"matter": matter.reference, "minutes": minutes}
    )
    return entry
