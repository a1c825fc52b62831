"""The matter types every firm starts with (SPEC §6), as plain data, and the function that seeds them.

Frozen with migration 0004, its only user (the leading underscore keeps Django
from taking it for a migration): later changes to the defaults go in a new
migration, never here. ``seed_default_matter_types`` runs in that data migration, so the template schema
(and with it every firm cloned from it) holds these; firms then edit their own
copies in the staff workspace. Seeding skips a type whose code already exists.
"""

from __future__ import annotations

from typing import Any

PDF_OR_IMAGE = ["application/pdf", "image/jpeg", "image/png"]
YES = {"en": "Yes", "es": "Sí"}

STAGES = [
    ("intake", "Intake", "Admisión", False),
    ("documents", "Documents", "Documentos", False),
    ("drafting", "Drafting", "Redacción", False),
    ("attorney_review", "Attorney review", "Revisión del abogado", False),
    ("payment", "Payment", "Pago", False),
    ("filed", "Filed", "Presentado", False),
    ("rfe", "Request for evidence", "Solicitud de evidencia", True),
    ("decision", "Decision", "Decisión", False),
]
CONSULTATION_STAGES = [STAGES[0], ("attorney_review", "Consultation", "Consulta", False), STAGES[-1]]


def q(key: str, en: str, es: str, kind: str = "text", **extra: Any) -> dict[str, Any]:
    return {"key": key, "label_en": en, "label_es": es, "kind": kind, **extra}


def r(code: str, en: str, es: str, **extra: Any) -> dict[str, Any]:
    return {"code": code, "name_en": en, "name_es": es, "acceptable_types": PDF_OR_IMAGE, **extra}


PASSPORT = r(
    "passport",
    "Passport (photo page)",
    "Pasaporte (página de la foto)",
    instructions_en="A clear photo or scan of the page with your photo. All four corners visible.",
    instructions_es="Una foto o escaneo claro de la página con su foto. Las cuatro esquinas visibles.",
    acceptable_types=["image/jpeg", "image/png", "application/pdf"],
    max_size_mb=10,
    due_offset_days=7,
)
EVER_ARRESTED = q(
    "ever_arrested", "Have you ever been arrested or charged?", "¿Alguna vez fue arrestado o acusado?", "yes_no"
)
COURT_RECORDS = r(
    "court_records",
    "Court records for each arrest or charge",
    "Registros judiciales de cada arresto o acusación",
    condition={"question": "ever_arrested", "equals": True},
)

DEFAULT_MATTER_TYPES: list[dict[str, Any]] = [
    {
        "code": "I-130",
        "name_en": "Petition for alien relative (spouse)",
        "name_es": "Petición de familiar extranjero (cónyuge)",
        "questions": [
            q(
                "petitioner_status",
                "Is the petitioner a U.S. citizen or a permanent resident?",
                "¿El peticionario es ciudadano estadounidense o residente permanente?",
                "choice",
                choices=[
                    {"value": "citizen", "en": "U.S. citizen", "es": "Ciudadano estadounidense"},
                    {"value": "resident", "en": "Permanent resident", "es": "Residente permanente"},
                ],
            ),
            q("marriage_date", "Date of your current marriage", "Fecha de su matrimonio actual", "date"),
            q("previously_married", "Were you married before?", "¿Estuvo casado(a) anteriormente?", "yes_no"),
            q(
                "prior_marriages",
                "How many times were you married before?",
                "¿Cuántas veces estuvo casado(a) antes?",
                "number",
                condition={"question": "previously_married", "equals": True},
                min_value=1,
                max_value=9,
            ),
            q(
                "beneficiary_in_us",
                "Is your spouse in the United States now?",
                "¿Su cónyuge está ahora en los Estados Unidos?",
                "yes_no",
            ),
        ],
        "requirements": [
            PASSPORT,
            r("marriage_certificate", "Marriage certificate", "Acta de matrimonio"),
            r(
                "petitioner_status_proof",
                "Proof of the petitioner's citizenship or permanent residence",
                "Prueba de la ciudadanía o residencia permanente del peticionario",
            ),
            r(
                "prior_marriage_ended",
                "Proof that prior marriage ended (divorce decree, annulment or death certificate)",
                "Prueba de que terminó el matrimonio anterior (sentencia de divorcio, anulación o acta de defunción)",
                condition={"question": "previously_married", "equals": True},
                repeat_for="prior_marriages",
            ),
            r("g28", "Signed notice of appearance (G-28)", "Aviso de comparecencia firmado (G-28)", responsible="firm"),
        ],
    },
    {
        "code": "I-485",
        "name_en": "Adjustment of status",
        "name_es": "Ajuste de estatus",
        "questions": [
            q("entry_date", "Date of your last entry to the U.S.", "Fecha de su última entrada a EE. UU.", "date"),
            q(
                "inspected_at_entry",
                "Were you inspected by an officer when you entered?",
                "¿Fue inspeccionado por un oficial al entrar?",
                "yes_no",
            ),
            EVER_ARRESTED,
        ],
        "requirements": [
            PASSPORT,
            r("birth_certificate", "Birth certificate", "Acta de nacimiento"),
            r(
                "i94",
                "I-94 arrival record",
                "Registro de llegada I-94",
                condition={"question": "inspected_at_entry", "equals": True},
            ),
            r("medical_exam", "Medical examination (I-693)", "Examen médico (I-693)", due_offset_days=30),
            COURT_RECORDS,
        ],
    },
    {
        "code": "H-1B",
        "name_en": "Specialty occupation worker",
        "name_es": "Trabajador en ocupación especializada",
        "questions": [
            q("employer_name", "Employer's name", "Nombre del empleador"),
            q("job_title", "Job title", "Puesto de trabajo"),
            q(
                "degree_level",
                "Highest degree",
                "Título más alto",
                "choice",
                choices=[
                    {"value": "bachelor", "en": "Bachelor's", "es": "Licenciatura"},
                    {"value": "master", "en": "Master's", "es": "Maestría"},
                    {"value": "doctorate", "en": "Doctorate", "es": "Doctorado"},
                ],
            ),
            q(
                "foreign_degree",
                "Was the degree earned outside the U.S.?",
                "¿Obtuvo el título fuera de EE. UU.?",
                "yes_no",
            ),
        ],
        "requirements": [
            PASSPORT,
            r("degree", "Degree diploma", "Diploma del título"),
            r("transcripts", "Academic transcripts", "Certificado de notas"),
            r(
                "credential_evaluation",
                "Credential evaluation",
                "Evaluación de credenciales",
                condition={"question": "foreign_degree", "equals": True},
            ),
            r("resume", "Résumé", "Currículum"),
            r(
                "lca",
                "Certified labor condition application",
                "Solicitud de condición laboral certificada",
                responsible="firm",
            ),
        ],
    },
    {
        "code": "N-400",
        "name_en": "Naturalization",
        "name_es": "Naturalización",
        "questions": [
            q("resident_since", "Permanent resident since", "Residente permanente desde", "date"),
            q(
                "married_to_citizen",
                "Are you married to a U.S. citizen?",
                "¿Está casado(a) con un ciudadano estadounidense?",
                "yes_no",
            ),
            q(
                "long_trips",
                "Any trip abroad longer than six months in the last five years?",
                "¿Algún viaje al extranjero de más de seis meses en los últimos cinco años?",
                "yes_no",
            ),
            EVER_ARRESTED,
        ],
        "requirements": [
            r("green_card", "Permanent resident card (both sides)", "Tarjeta de residente permanente (ambos lados)"),
            PASSPORT,
            r(
                "marriage_certificate",
                "Marriage certificate",
                "Acta de matrimonio",
                condition={"question": "married_to_citizen", "equals": True},
            ),
            r(
                "travel_evidence",
                "Evidence about each long trip",
                "Evidencia de cada viaje largo",
                condition={"question": "long_trips", "equals": True},
            ),
            COURT_RECORDS,
        ],
    },
    {
        "code": "I-589",
        "name_en": "Asylum",
        "name_es": "Asilo",
        "questions": [
            q("nationality", "Country of nationality", "País de nacionalidad"),
            q("entry_date", "Date of your last entry to the U.S.", "Fecha de su última entrada a EE. UU.", "date"),
            q("has_passport", "Do you have a passport?", "¿Tiene pasaporte?", "yes_no"),
            q(
                "family_in_us",
                "How many family members are applying with you?",
                "¿Cuántos familiares solicitan con usted?",
                "number",
                min_value=0,
                max_value=20,
            ),
        ],
        "requirements": [
            {**PASSPORT, "condition": {"question": "has_passport", "equals": True}},
            r("identity_document", "Any other identity document", "Cualquier otro documento de identidad"),
            r("personal_statement", "Your written statement", "Su declaración escrita", due_offset_days=30),
            r(
                "country_conditions",
                "Country conditions evidence",
                "Evidencia sobre las condiciones del país",
                responsible="firm",
            ),
        ],
    },
    {
        "code": "consultation",
        "name_en": "Consultation",
        "name_es": "Consulta",
        "stages": CONSULTATION_STAGES,
        "questions": [
            q(
                "topic",
                "What would you like to talk about?",
                "¿De qué le gustaría hablar?",
                "choice",
                choices=[
                    {"value": "family", "en": "Family immigration", "es": "Inmigración familiar"},
                    {"value": "work", "en": "Work visa", "es": "Visa de trabajo"},
                    {"value": "citizenship", "en": "Citizenship", "es": "Ciudadanía"},
                    {"value": "asylum", "en": "Asylum", "es": "Asilo"},
                    {"value": "other", "en": "Something else", "es": "Otro tema"},
                ],
            ),
            q("details", "Tell us briefly about your situation", "Cuéntenos brevemente su situación", required=False),
        ],
        "requirements": [
            r("any_documents", "Any documents you want us to see", "Documentos que quiera mostrarnos", required=False),
        ],
    },
]


def seed_default_matter_types(models: dict[str, Any]) -> int:
    """Create the default types in the current schema; ``models`` maps model names to classes
    (``apps.get_model`` in a migration). Returns how many types were created."""
    matter_type, question, requirement, stage = (
        models[name] for name in ("MatterType", "IntakeQuestion", "DocumentRequirement", "WorkflowStage")
    )
    created = 0
    for spec in DEFAULT_MATTER_TYPES:
        if matter_type.objects.filter(code=spec["code"]).exists():
            continue
        kind = matter_type.objects.create(code=spec["code"], name_en=spec["name_en"], name_es=spec["name_es"])
        created += 1
        for position, fields in enumerate(spec["questions"]):
            question.objects.create(matter_type=kind, position=position, **fields)
        for position, fields in enumerate(spec["requirements"]):
            requirement.objects.create(matter_type=kind, position=position, **fields)
        for position, (code, en, es, optional) in enumerate(spec.get("stages", STAGES)):
            stage.objects.create(
                matter_type=kind, position=position, code=code, name_en=en, name_es=es, optional=optional
            )
    return created
