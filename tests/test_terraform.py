"""Portico's own invariants of terraform/ (issue 15 item 7), read from the .tf files with python-hcl2.

checkov (in CI, .ci/run) checks general AWS practice; these check what Portico needs: every
bucket versioned, encrypted with a KMS key, TLS-only and closed to the public; no replication;
KMS keys rotated; the region always from a variable, and one of the app's regions; bucket and
key names as the app expects them; no wildcard action in any grant. Each check is also shown
failing on a bad snippet. `terraform validate` cannot run here (no provider can be downloaded).
"""

from __future__ import annotations

import io
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import hcl2
import pytest

from kms.aws import PLATFORM_ALIAS
from residency.regions import DEFAULT_BUCKET_PATTERN, DEFAULT_REGIONS

ROOT = Path(__file__).resolve().parent.parent / "terraform"
MODULE = ROOT / "modules" / "portico-region"
REGION_CODE = re.compile(r"\b[a-z]{2}-(?:central|east|west|north|south|southeast|northeast)-\d\b")


def _clean(value: Any) -> Any:
    """python-hcl2's output without its markers: strings unquoted, blocks as plain dicts."""
    if isinstance(value, str):
        return value[1:-1] if len(value) >= 2 and value[0] == value[-1] == '"' else value
    if isinstance(value, list):
        return [_clean(item) for item in value]
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items() if k not in ("__is_block__", "__comments__")}
    return value


def parse(text: str) -> dict[str, Any]:
    return _clean(hcl2.load(io.StringIO(text)))  # type: ignore[no-any-return]


def load(directory: Path) -> dict[str, list[Any]]:
    merged: dict[str, list[Any]] = {}
    for path in sorted(directory.glob("*.tf")):
        for key, blocks in parse(path.read_text()).items():
            merged.setdefault(key, []).extend(blocks)
    return merged


def blocks(tf: dict[str, list[Any]], kind: str, type_: str) -> Iterator[tuple[str, dict[str, Any]]]:
    for block in tf.get(kind, []):
        for found_type, named in block.items():
            if found_type == type_:
                yield from named.items()


def _targets(config: dict[str, Any]) -> set[str]:
    """The aws_s3_bucket names a bucket-level resource applies to (directly or through for_each)."""
    text = f"{config.get('for_each', '')} {config.get('bucket', '')}"
    return set(re.findall(r"aws_s3_bucket\.(\w+)", text))


def bucket_violations(tf: dict[str, list[Any]]) -> list[str]:
    buckets = dict(blocks(tf, "resource", "aws_s3_bucket"))
    locals_text = str(tf.get("locals", []))
    problems = []

    def companions(type_: str, name: str) -> list[dict[str, Any]]:
        return [config for _, config in blocks(tf, "resource", type_) if name in _targets(config)]

    for name in buckets:
        versioning = companions("aws_s3_bucket_versioning", name)
        if not any(v["versioning_configuration"][0]["status"] == "Enabled" for v in versioning):
            problems.append(f"aws_s3_bucket.{name}: not versioned")
        encryption = [
            rule["apply_server_side_encryption_by_default"][0]
            for config in companions("aws_s3_bucket_server_side_encryption_configuration", name)
            for rule in config["rule"]
        ]
        kms = [e for e in encryption if e["sse_algorithm"] == "aws:kms" and _kms_key(e, locals_text)]
        if not kms and name not in SSE_S3_BY_AWS_RULE:
            problems.append(f"aws_s3_bucket.{name}: not encrypted with a KMS key")
        if not encryption:
            problems.append(f"aws_s3_bucket.{name}: not encrypted")
        blocked = companions("aws_s3_bucket_public_access_block", name)
        flags = ("block_public_acls", "block_public_policy", "ignore_public_acls", "restrict_public_buckets")
        if not any(all(b.get(flag) is True for flag in flags) for b in blocked):
            problems.append(f"aws_s3_bucket.{name}: public access not blocked")
        policies = companions("aws_s3_bucket_policy", name)
        documents = [str(p.get("policy", "")) for p in policies]
        if not any(_denies_plain_http(tf, document) for document in documents):
            problems.append(f"aws_s3_bucket.{name}: not TLS-only")
    for kind in ("aws_s3_bucket_replication_configuration",):
        for name, _ in blocks(tf, "resource", kind):
            problems.append(f"{kind}.{name}: replication out of the region")
    return problems


# The one bucket AWS itself requires to use SSE-S3: the target of S3 server access logs.
SSE_S3_BY_AWS_RULE = {"access_logs"}


def _kms_key(encryption: dict[str, Any], locals_text: str) -> bool:
    key = str(encryption.get("kms_master_key_id", ""))
    if "aws_kms_key." in key:
        return True
    if "local.data_buckets" in key:  # every entry of the map names an aws_kms_key
        definition = re.search(r"'data_buckets': '(.*?)'}", locals_text)
        entries = re.findall(r"\bkey = ([^,}]+)", definition.group(1)) if definition else []
        return bool(entries) and all(entry.strip().startswith("aws_kms_key.") for entry in entries)
    return False


def _denies_plain_http(tf: dict[str, list[Any]], policy: str) -> bool:
    match = re.search(r"data\.aws_iam_policy_document\.(\w+)", policy)
    if not match:
        return False
    document = dict(blocks(tf, "data", "aws_iam_policy_document")).get(match.group(1), {})
    return any(
        statement.get("effect") == "Deny"
        and any(
            c["variable"] == "aws:SecureTransport" and c["values"] == ["false"] for c in statement.get("condition", [])
        )
        for statement in document.get("statement", [])
    )


def grant_violations(tf: dict[str, list[Any]]) -> list[str]:
    problems = []
    for name, document in blocks(tf, "data", "aws_iam_policy_document"):
        for statement in document.get("statement", []):
            if statement.get("effect", "Allow") != "Allow":
                continue  # a Deny may and should cover every action
            wild = [action for action in statement.get("actions", []) if "*" in action]
            if wild:
                problems.append(f"aws_iam_policy_document.{name} ({statement.get('sid', '?')}): wildcard {wild}")
    return problems


def key_violations(tf: dict[str, list[Any]]) -> list[str]:
    return [
        f"aws_kms_key.{name}: {missing}"
        for name, key in blocks(tf, "resource", "aws_kms_key")
        for missing, ok in (
            ("rotation off", key.get("enable_key_rotation") is True),
            ("no key policy", "policy" in key),
        )
        if not ok
    ]


# --- The module ----------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def module() -> dict[str, list[Any]]:
    return load(MODULE)


def test_every_bucket_is_versioned_kms_encrypted_tls_only_and_closed(module: dict[str, list[Any]]) -> None:
    assert {name for name, _ in blocks(module, "resource", "aws_s3_bucket")} == {"data", "access_logs"}
    assert bucket_violations(module) == []


def test_no_grant_uses_a_wildcard_action(module: dict[str, list[Any]]) -> None:
    assert len(list(blocks(module, "data", "aws_iam_policy_document"))) >= 6
    assert grant_violations(module) == []


def test_every_kms_key_rotates_and_has_its_own_policy(module: dict[str, list[Any]]) -> None:
    assert {name for name, _ in blocks(module, "resource", "aws_kms_key")} == {"storage", "backups", "platform"}
    assert key_violations(module) == []


def test_the_region_comes_from_a_variable_that_only_accepts_portico_regions(module: dict[str, list[Any]]) -> None:
    [(_, region)] = [
        (n, v) for n, v in ((k, v) for block in module["variable"] for k, v in block.items()) if n == "region"
    ]
    validation = str(region["validation"][0]["condition"])
    source = "\n".join(path.read_text() for path in MODULE.glob("*.tf") if path.name != "variables.tf")

    assert set(re.findall(r'"([a-z]{2}-[a-z]+-\d)"', validation)) == set(DEFAULT_REGIONS)
    assert REGION_CODE.findall(source) == []  # no region written into any resource
    assert "data.aws_region.current.name == var.region" in source


def test_names_are_the_ones_the_app_uses(module: dict[str, list[Any]]) -> None:
    source = "\n".join(path.read_text() for path in MODULE.glob("*.tf"))

    assert DEFAULT_BUCKET_PATTERN == "portico-{region}-{slug}"
    assert 'prefix    = "portico-${var.region}"' in source
    assert 'slug => "${local.prefix}-${slug}"' in source
    assert f'name          = "{PLATFORM_ALIAS}"' in source
    assert '"alias/portico/*"' in source or "alias/portico/*" in source  # firms' aliases: alias/portico/<firm>/<class>


# --- The roots ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("region", sorted(DEFAULT_REGIONS))
def test_each_region_has_a_root_that_applies_the_module_there(region: str) -> None:
    root = load(ROOT / "regions" / region)
    [(_, variable)] = [(n, v) for block in root["variable"] for n, v in block.items() if n == "region"]
    [provider] = [block["aws"] for block in root["provider"]]
    [(_, call)] = [(n, v) for block in root["module"] for n, v in block.items()]

    assert variable["default"] == region
    assert provider["region"] == "${var.region}"
    assert call["source"] == "../../modules/portico-region"
    assert call["region"] == "${var.region}"
    assert bucket_violations(root) == grant_violations(root) == []


# --- The checks can fail --------------------------------------------------------------------------------

BAD = """
resource "aws_s3_bucket" "open" { bucket = "portico-x" }
resource "aws_s3_bucket_versioning" "open" {
  bucket = aws_s3_bucket.open.id
  versioning_configuration { status = "Suspended" }
}
resource "aws_s3_bucket_server_side_encryption_configuration" "open" {
  bucket = aws_s3_bucket.open.id
  rule { apply_server_side_encryption_by_default { sse_algorithm = "AES256" } }
}
resource "aws_s3_bucket_replication_configuration" "abroad" { bucket = aws_s3_bucket.open.id }
resource "aws_kms_key" "lazy" { description = "no rotation" }
data "aws_iam_policy_document" "greedy" {
  statement {
    actions   = ["s3:*"]
    resources = ["*"]
  }
}
"""


def test_the_checks_find_a_bucket_a_key_and_a_grant_that_break_the_rules() -> None:
    bad = parse(BAD)

    assert bucket_violations(bad) == [
        "aws_s3_bucket.open: not versioned",
        "aws_s3_bucket.open: not encrypted with a KMS key",
        "aws_s3_bucket.open: public access not blocked",
        "aws_s3_bucket.open: not TLS-only",
        "aws_s3_bucket_replication_configuration.abroad: replication out of the region",
    ]
    assert grant_violations(bad) == ["aws_iam_policy_document.greedy (?): wildcard ['s3:*']"]
    assert key_violations(bad) == ["aws_kms_key.lazy: rotation off", "aws_kms_key.lazy: no key policy"]
