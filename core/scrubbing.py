"""Personal data taken out of text that leaves the process: error reports (``core.sentry``) and logs (``core.logging``).

Scrubbing by key name (Sentry's ``EventScrubber``) misses a passport number inside an
exception message or a log line, so values are matched by their shape wherever they
appear: email addresses, A-numbers, SSNs and ITINs, IBANs, card-like and bank-account-like
digit runs, phone numbers in international form, and passport-like tokens (6 to 9 letters
and digits, at least 5 of them digits). The patterns err on the side of removing too much:
a long number in an error message is replaced even when it was harmless.

``scrub_text`` works on one string, ``scrub_data`` on nested dicts, lists and tuples
(keys named in ``keep_keys`` keep their values: timestamps, ids and stack-frame
locations, which are not personal and which Sentry needs intact).
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any

# Order matters: an email address holds digits that the later patterns would also take.
_PATTERNS: tuple[tuple[str, re.Pattern[str]], ...] = (
    ("email", re.compile(r"[\w.%+-]+@[\w-]+(?:\.[\w-]+)+", re.IGNORECASE)),
    # USCIS A-number: A followed by 7 to 9 digits, often written A-123-456-789.
    ("a-number", re.compile(r"\bA[\s#-]*\d{3}[\s-]?\d{3}[\s-]?\d{1,3}\b", re.IGNORECASE)),
    # SSN and ITIN share the 3-2-4 shape (an ITIN starts with 9).
    ("ssn", re.compile(r"\b\d{3}[\s-]\d{2}[\s-]\d{4}\b")),
    ("iban", re.compile(r"\b[A-Z]{2}\d{2}(?:[ ]?[A-Z0-9]{4}){2,7}(?:[ ]?[A-Z0-9]{1,4})?\b")),
    ("phone", re.compile(r"(?<![\w+])\+\d[\d\s().-]{7,}\d\b")),
    # Card numbers written in groups of four.
    ("account", re.compile(r"\b\d{4}(?:[ -]\d{4}){2,4}\b")),
    # Bank account and routing numbers, nine-digit SSNs and passports written without separators.
    # (Not inside a UUID, a time's fraction of a second or a dotted version: those are not personal.)
    ("account", re.compile(r"(?<![.:-])\b\d{6,19}\b(?![-.]\w)")),
    # Passports: C01X00T47, AB1234567, P1234567A. At least five digits, so that words such as
    # sha256 or utf8mb4 stay readable.
    (
        "passport",
        re.compile(
            r"(?<![.:-])\b(?=[A-Z0-9]{6,9}\b(?![-.]\w))(?=(?:[A-Z]*\d){5})[A-Z0-9]*[A-Z][A-Z0-9]*\b", re.IGNORECASE
        ),
    ),
)

# Key names whose values are personal whatever they look like (for Sentry's EventScrubber too).
SENSITIVE_KEYS = (
    "a_number",
    "anumber",
    "alien_number",
    "passport",
    "passport_number",
    "ssn",
    "itin",
    "tax_id",
    "date_of_birth",
    "dob",
    "account_number",
    "routing_number",
    "iban",
    "bank_account",
    "email",
    "phone",
    "body",
    "message_body",
)


def scrub_text(text: str) -> str:
    """``text`` with every value that looks personal replaced by a marker such as ``[email]``."""
    for marker, pattern in _PATTERNS:
        text = pattern.sub(f"[{marker}]", text)
    return text


def scrub_data(value: Any, *, keep_keys: Collection[str] = ()) -> Any:
    """A copy of ``value`` with every string scrubbed, recursing through dicts, lists and tuples."""
    if isinstance(value, str):
        return scrub_text(value)
    if isinstance(value, dict):
        scrubbed = {}
        for key, item in value.items():
            if isinstance(key, str) and key.lower() in SENSITIVE_KEYS:
                scrubbed[key] = "[Filtered]"
            elif key in keep_keys:
                scrubbed[key] = item
            else:
                scrubbed[key] = scrub_data(item, keep_keys=keep_keys)
        return scrubbed
    if isinstance(value, list | tuple):
        return type(value)(scrub_data(item, keep_keys=keep_keys) for item in value)
    return value
