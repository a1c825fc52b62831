"""One value of each kind of personal data that error reports and logs must never carry (test_error_reports)."""

from __future__ import annotations

A_NUMBER = "A-204-381-927"
PASSPORT = "C03005988"
SSN = "219-09-9999"
ITIN = "912-74-3456"
EMAIL = "maria.gonzalez@example.org"
BANK_ACCOUNT = "000123456789"
IBAN = "DE89370400440532013000"

ALL = {"A-number": A_NUMBER, "passport": PASSPORT, "SSN": SSN, "ITIN": ITIN, "email": EMAIL}
ALL |= {"bank account": BANK_ACCOUNT, "IBAN": IBAN}


def sentence() -> str:
    """An error message that carries every kind, as a careless ``raise`` would."""
    return (
        f"could not file for {EMAIL}: A-number {A_NUMBER}, passport {PASSPORT}, SSN {SSN}, ITIN {ITIN}, "
        f"refund to account {BANK_ACCOUNT} / {IBAN}"
    )


def leaked(text: str) -> list[str]:
    """The kinds whose value appears in ``text`` (also without its dashes, as a scrubber might miss it)."""
    found = []
    for kind, value in ALL.items():
        if value in text or (value.replace("-", "") in text and "-" in value):
            found.append(kind)
    return found
