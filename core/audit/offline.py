"""Checking an export with nothing but the export: no database, no Django.

``check_export`` recomputes the hash chain of a CSV or JSON-lines export, checks
that it ends at the head named by ``<file>.anchor.json`` and that the anchor's
Ed25519 signature verifies under the public key given there (whose key id is the
first 16 hex digits of its SHA-256: compare it with the platform's published key).
"""

from __future__ import annotations

import base64
import csv
import hashlib
import json
from collections.abc import Iterator
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey

from core.audit.chain import HASHED_COLUMNS, row_hash


def anchor_path_for(path: Path) -> Path:
    return path.with_name(path.name + ".anchor.json")


def read_export(path: Path, fmt: str) -> Iterator[dict[str, object]]:
    """The entries of an export file, typed as hashed (``sequence`` and ``actor_id`` integers)."""
    with path.open(newline="", encoding="utf-8") as handle:
        if fmt == "csv":
            for record in csv.DictReader(handle):
                entry: dict[str, object] = dict(record)
                entry["sequence"] = int(record["sequence"])
                entry["actor_id"] = int(record["actor_id"]) if record["actor_id"] else None
                yield entry
        else:
            for line in handle:
                yield json.loads(line)


def check_export(path: Path) -> list[str]:
    """Problems with an export and its ``.anchor.json``, found without the database (empty: intact)."""
    meta = json.loads(anchor_path_for(path).read_text(encoding="utf-8"))
    anchor = meta["anchor"]
    problems = [f"anchor: {problem}" for problem in _signature_problems(anchor)]
    prev, expected = meta["continues_from"]["hash"], meta["continues_from"]["sequence"] + 1
    for entry in read_export(path, meta["format"]):
        sequence = entry["sequence"]
        if sequence != expected or entry["prev_hash"] != prev:
            problems.append(f"entry #{sequence}: not the successor of #{expected - 1} (deleted, inserted or reordered)")
            break
        if row_hash(tuple(entry[column] for column in HASHED_COLUMNS)) != entry["hash"]:
            problems.append(f"entry #{sequence}: hash mismatch, the entry was edited")
            break
        prev, expected = entry["hash"], expected + 1
    else:
        if expected - 1 != anchor["sequence"] or prev != anchor["head_hash"]:
            problems.append(f"the export ends at #{expected - 1}, not at the anchored head #{anchor['sequence']}")
    return problems


def _signature_problems(anchor: dict[str, object]) -> list[str]:
    message = str(anchor["signed_message"]).encode()
    signed = json.loads(message)
    if (signed["sequence"], signed["head_hash"]) != (anchor["sequence"], anchor["head_hash"]):
        return ["the signed message does not name this head"]
    public = base64.b64decode(str(anchor["public_key"]))
    if "ed25519:" + hashlib.sha256(public).hexdigest()[:16] != anchor["key_id"]:
        return ["the public key does not match the key id"]
    try:
        Ed25519PublicKey.from_public_bytes(public).verify(base64.b64decode(str(anchor["signature"])), message)
    except InvalidSignature:
        return ["invalid signature"]
    return []
