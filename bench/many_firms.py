"""Many firms with realistic rows, kept between runs (issue 17 item 1): ``uv run python -m bench.many_firms``.

The shared harness of the many-firm benchmarks (``bench.routing``, ``bench.migrate_firms``).
``--firms`` firms (1,000 by default), slugs ``f0000``, ``f0001``..., are onboarded the
product's way (``tenants.services.tenant_create``: stamped from the template, keys,
storage, domain, roles, an invited admin), and each gets the same realistic rows:

- the first firm (the *seed*) through the product's services: an attorney and a
  paralegal, four clients (``user_create`` with the client role), six matters across
  the matter types (``matter_create``: workflow stage, per-matter permissions, audit),
  three documents' metadata per matter (no file bodies), a message per matter, and an
  invoice per matter: five issued (``invoice_issue``: posted, Dr receivable / Cr
  revenue), three of them paid in whole or in part (``payment_record``), one left a draft;
- every other firm by copying the seed's rows in one statement batch (``rows_copy``),
  in one transaction with its marker: the same primary keys (every firm starts from
  the same template and onboarding, so the ids line up), clients' emails moved to the
  firm's own domain, sequences moved past the copied rows. Foreign keys and the
  ledger's triggers are checked as for any insert (the entries balance, each entry's
  lines in one INSERT), and the monthly totals are built by the ledger's own trigger.
  The firm's audit log is its own: it holds its onboarding, not the copied rows.

Reuse: the database (``portico_bench_firms`` by default, ``--database``) and its local
state (master key, storage; ``var/bench/<database>/``) are kept. Each finished firm's
schema carries a marker (a schema comment naming the set and the rows' recipe); a later
run finds the firms by it, checks the count and that every firm has its rows, and skips
the onboarding (firms missing are onboarded, unfinished ones removed and onboarded again,
another recipe's set rebuilt; a set larger than asked for is an error, not shrunk).
``--drop`` removes the database and its local state; ``--fresh`` starts over.
"""

from __future__ import annotations

import argparse
import hashlib
import multiprocessing
import os
import re
import resource
import shutil
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import psycopg

from bench import database

DATABASE = "portico_bench_firms"
PREFIX = "f"
MARKER = "portico-bench-harness"
RECIPE_VERSION = 1  # bump when seed_populate changes: a kept set of another recipe is rebuilt
ROOT = Path(__file__).resolve().parent.parent
PROGRESS_EVERY = 50  # firms between progress lines while onboarding

# Rows not copied from the seed: the firm's own audit chain, sessions, stored objects (under the seed's keys),
# and what the ledger's triggers keep (the monthly totals are built again from the copied lines).
NOT_COPIED = frozenset(
    {
        "audit_auditentry",
        "audit_auditchainhead",
        "billing_accountmonth",
        "django_session",
        "residency_storedobject",
        "core_idempotencykey",
    }
)


@dataclass(frozen=True)
class Recipe:
    """The rows every firm has (beyond onboarding's)."""

    clients: int = 4
    matters: int = 6
    documents: int = 3  # per matter
    drafts: int = 1  # the last matters' invoices stay drafts; the others are issued
    paid_every: int = 2  # every second issued invoice has a payment (whole or half)

    @property
    def marker(self) -> str:
        digest = hashlib.sha256(f"{RECIPE_VERSION}:{self!r}".encode()).hexdigest()[:12]
        return f"recipe={digest}"


RECIPE = Recipe()


def slug_of(prefix: str, index: int) -> str:
    return f"{prefix}{index:04d}"


def _marker(prefix: str, recipe: Recipe) -> str:
    return f"{MARKER} set={prefix} {recipe.marker}"


# ---------------------------------------------------------------------------------------------------------------
# The seed's rows, through the product's services


def seed_populate(recipe: Recipe = RECIPE) -> None:
    """The recipe's rows in the current firm (call inside ``with tenant:``), through the product's services."""
    from datetime import timedelta

    from django.utils import timezone

    from billing.fees.models import FeeTemplate
    from billing.invoices.services import invoice_add_fee, invoice_create, invoice_issue, payment_record
    from billing.ledger.accounts import default_currency
    from billing.money import Money
    from core.matters import matter_create
    from core.models import Document, MatterEvent, MatterType, Message, User
    from core.roles import Role
    from core.services import user_create
    from tenants.db import tenant_connection

    slug = tenant_connection().tenant.slug
    admin = User.objects.filter(is_staff=True).order_by("pk").first()
    assert admin is not None, f"{slug} has no admin"
    attorney = user_create(email=f"attorney@{slug}.test", role=Role.ATTORNEY, full_name="Ada Attorney")
    paralegal = user_create(email=f"paralegal@{slug}.test", role=Role.PARALEGAL, full_name="Pat Paralegal")
    clients = [
        user_create(
            email=f"client{n}@{slug}.test",
            role=Role.CLIENT,
            full_name=f"Client {n} Rivera",
            language="es" if n % 3 == 2 else "en",
        )
        for n in range(recipe.clients)
    ]
    kinds = list(MatterType.objects.order_by("pk"))
    currency = default_currency()
    fees = list(FeeTemplate.objects.filter(currency=currency).exclude(kind=FeeTemplate.Kind.HOURLY).order_by("pk"))
    assert kinds, "the template has no matter types"
    assert fees, f"the template has no fee templates in {currency}"
    now = timezone.now()
    statuses = [Document.Status.ACCEPTED, Document.Status.RECEIVED, Document.Status.REJECTED]
    issued = 0
    for m in range(recipe.matters):
        kind, client = kinds[m % len(kinds)], clients[m % len(clients)]
        matter = matter_create(
            reference=f"2026-{m + 1:04d}",
            title=f"{client.full_name}: {kind.code}",
            matter_type=kind,
            client=client,
            by=admin,
            responsible_attorney=attorney,
            assigned_paralegal=paralegal,
        )
        requirements = list(kind.requirements.order_by("pk"))
        for d in range(recipe.documents):
            status = statuses[d % len(statuses)]
            reviewed = status != Document.Status.RECEIVED
            document = Document.objects.create(
                matter=matter,
                requirement=requirements[d] if d < len(requirements) else None,
                slot=1 if d < len(requirements) else d + 1,
                storage_name=f"bench/{matter.reference}/{d + 1}.pdf",
                original_filename=f"scan-{d + 1}.pdf",
                content_type="application/pdf",
                size=180_000 + 1_000 * d,
                sha256=hashlib.sha256(f"{matter.reference}/{d}".encode()).hexdigest(),
                document_type="passport" if d == 0 else "evidence",
                document_date=(now - timedelta(days=30 * (d + 1))).date(),
                page_count=d + 1,
                language="en",
                uploaded_by=client,
                status=status,
                reason_code="blurry_image" if status == Document.Status.REJECTED else "",
                reviewed_by=paralegal if reviewed else None,
                reviewed_at=now if reviewed else None,
            )
            MatterEvent.objects.create(
                matter=matter, kind="document.uploaded", actor=client, document=document, at=now, data={}
            )
        Message.objects.create(matter=matter, sender=client, body="Here are my documents; what comes next?")
        invoice = invoice_create(matter=matter, by=admin)
        invoice_add_fee(invoice=invoice, template=fees[m % len(fees)])
        if m >= recipe.matters - recipe.drafts:
            continue
        invoice = invoice_issue(invoice=invoice, by=admin)
        if issued % recipe.paid_every == 0:
            whole = issued % (2 * recipe.paid_every) == 0
            amount = invoice.total_minor if whole else invoice.total_minor // 2
            payment_record(invoice=invoice, method="check", amount=Money(amount, currency), by=admin, reference=f"#{m}")
        issued += 1


# ---------------------------------------------------------------------------------------------------------------
# Copying the seed's rows into another firm


@dataclass(frozen=True)
class _Table:
    name: str
    columns: list[str]
    key: list[str]
    sequences: list[str]


_copy_plans: dict[tuple[str, str], list[_Table]] = {}


def _tables_to_copy(seed: str) -> list[_Table]:
    """The seed's tables holding more rows than the template's (the recipe's and onboarding's), with their
    insertable columns, primary key and owned sequences."""
    from django.conf import settings
    from django.db import connection

    template = settings.TENANT_BASE_SCHEMA
    key = (seed, template)
    if key in _copy_plans:
        return _copy_plans[key]
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT c.relname,
                   array_agg(quote_ident(a.attname) ORDER BY a.attnum)
                       FILTER (WHERE a.attnum > 0 AND NOT a.attisdropped AND a.attgenerated = ''),
                   (SELECT array_agg(quote_ident(k.attname) ORDER BY k.attnum) FROM pg_index i
                      JOIN pg_attribute k ON k.attrelid = i.indrelid AND k.attnum = ANY(i.indkey)
                     WHERE i.indrelid = c.oid AND i.indisprimary),
                   (SELECT array_agg(quote_ident(s.relname)) FROM pg_depend d JOIN pg_class s ON s.oid = d.objid
                     WHERE d.refobjid = c.oid AND d.classid = 'pg_class'::regclass AND s.relkind = 'S'
                       AND d.deptype IN ('a', 'i'))
              FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              JOIN pg_attribute a ON a.attrelid = c.oid
             WHERE n.nspname = %s AND c.relkind = 'r'
             GROUP BY c.oid, c.relname ORDER BY c.relname
            """,
            [seed],
        )
        candidates = [
            _Table(name, list(columns), list(pk or []), list(sequences or []))
            for name, columns, pk, sequences in cursor.fetchall()
            if name not in NOT_COPIED
        ]
        counts = " UNION ALL ".join(
            f'SELECT \'{t.name}\', (SELECT count(*) FROM "{seed}"."{t.name}") '
            f'- (SELECT count(*) FROM "{template}"."{t.name}")'
            for t in candidates
        )
        cursor.execute(counts)
        grown = {name for name, more in cursor.fetchall() if more > 0}
    plan = [t for t in candidates if t.name in grown]
    missing_key = [t.name for t in plan if not t.key]
    assert not missing_key, f"tables without a primary key cannot be copied: {missing_key}"
    _copy_plans[key] = plan
    return plan


def _copy_sql(seed: str, seed_slug: str, target: str, target_slug: str, marker: str) -> str:
    """One batch: every grown table's seed rows missing from ``target`` (by primary key), then the sequences."""
    statements = []
    for table in _tables_to_copy(seed):
        source = f'"{seed}"."{table.name}"'
        select = [
            f"replace(s.email, '@{seed_slug}.test', '@{target_slug}.test')" if column == "email" else f"s.{column}"
            for column in table.columns
        ]
        match = " AND ".join(f"t.{column} = s.{column}" for column in table.key)
        statements.append(
            f'INSERT INTO "{target}"."{table.name}" ({", ".join(table.columns)}) OVERRIDING SYSTEM VALUE '
            f"SELECT {', '.join(select)} FROM {source} s "
            f'WHERE NOT EXISTS (SELECT 1 FROM "{target}"."{table.name}" t WHERE {match});'
        )
        for sequence in table.sequences:
            statements.append(
                f"SELECT setval('\"{target}\".{sequence}', GREATEST(s.last_value, t.last_value), true) "
                f'FROM "{seed}".{sequence} s, "{target}".{sequence} t;'
            )
    statements.append(f"COMMENT ON SCHEMA \"{target}\" IS '{marker}';")
    return "\n".join(statements)


def rows_copy(seed: Any, target: Any, marker: str) -> None:
    """The seed firm's rows into ``target``'s schema with its marker, in one transaction."""
    from django.db import connection, transaction

    from tenants.db import tenant_connection

    tenant_connection().set_schema_to_public()
    sql = _copy_sql(seed.schema_name, seed.slug, target.schema_name, target.slug, marker)
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(sql)


def _mark(tenant: Any, marker: str) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(f"COMMENT ON SCHEMA \"{tenant.schema_name}\" IS '{marker}'")


# ---------------------------------------------------------------------------------------------------------------
# The set: find, stamp, check, drop


@dataclass
class FirmSet:
    prefix: str
    firms: list[Any]  # Tenant rows, by slug (the seed first)
    reused: int  # firms found from an earlier run
    onboarded: int  # firms onboarded in this run
    onboarding_seconds: float = 0.0  # tenant_create, for the firms onboarded in this run (summed over jobs)
    rows_seconds: float = 0.0  # the seed's rows and the copies (summed over jobs)
    wall_seconds: float = 0.0  # onboarding the firms missing, with their rows, from start to end
    found_seconds: float = 0.0  # finding and checking the kept firms
    notes: list[str] = field(default_factory=list)

    @property
    def per_second(self) -> float:
        return self.onboarded / self.wall_seconds if self.wall_seconds else 0.0


class SetTooLarge(Exception):
    """The kept set has more firms than asked for."""


def _set_pattern(prefix: str) -> str:
    return f"^{re.escape(prefix)}[0-9]{{4}}$"


def firms_found(prefix: str = PREFIX, recipe: Recipe = RECIPE) -> tuple[list[Any], list[Any]]:
    """The set's firms, by slug: (marked for this recipe, the others: unfinished or of another recipe)."""
    from django.db import connection

    from tenants.models import Tenant

    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT t.slug, obj_description(n.oid, 'pg_namespace') FROM tenants_tenant t "
            "LEFT JOIN pg_namespace n ON n.nspname = t.schema_name WHERE t.slug ~ %s",
            [_set_pattern(prefix)],
        )
        comments = dict(cursor.fetchall())
    firms = {t.slug: t for t in Tenant.objects.filter(slug__in=comments, kind=Tenant.Kind.FIRM)}
    marked = sorted((firms[s] for s, c in comments.items() if c == _marker(prefix, recipe)), key=lambda t: t.slug)
    others = sorted((firms[s] for s, c in comments.items() if c != _marker(prefix, recipe)), key=lambda t: t.slug)
    return marked, others


def rows_counts(schemas: list[str], *, per_query: int = 100) -> dict[str, dict[str, int]]:
    """Per schema: clients, matters, documents, invoices issued, unbalanced entries, dangling references
    (one query per ``per_query`` schemas)."""
    from django.db import connections

    counts: dict[str, dict[str, int]] = {}
    for start in range(0, len(schemas), per_query):
        counts.update(_rows_counts(schemas[start : start + per_query]))
        if len(schemas) > per_query:
            connections.close_all()  # each batch touches its firms' tables: a new backend for the next one
    return counts


def _rows_counts(schemas: list[str]) -> dict[str, dict[str, int]]:
    from django.db import connection

    if not schemas:
        return {}
    parts = [
        f"""SELECT '{s}',
               (SELECT count(*) FROM "{s}".core_user u JOIN "{s}".core_user_groups ug ON ug.user_id = u.id
                  JOIN "{s}".auth_group g ON g.id = ug.group_id WHERE g.name = 'client'),
               (SELECT count(*) FROM "{s}".core_matter),
               (SELECT count(*) FROM "{s}".core_document d JOIN "{s}".core_matter m ON m.id = d.matter_id),
               (SELECT count(*) FROM "{s}".billing_invoice WHERE number IS NOT NULL),
               (SELECT count(*) FROM (SELECT entry_id FROM "{s}".billing_journalline GROUP BY entry_id
                                       HAVING sum(debit_minor) <> sum(credit_minor)) x),
               (SELECT count(*) FROM "{s}".billing_invoice i LEFT JOIN "{s}".core_matter m ON m.id = i.matter_id
                  LEFT JOIN "{s}".core_user u ON u.id = i.client_id
                  LEFT JOIN "{s}".billing_journalentry e ON e.id = i.issue_entry_id
                 WHERE m.id IS NULL OR u.id IS NULL OR m.client_id <> i.client_id
                    OR (i.number IS NOT NULL AND e.id IS NULL))"""
        for s in schemas
    ]
    names = ("clients", "matters", "documents", "issued", "unbalanced", "dangling")
    with connection.cursor() as cursor:
        cursor.execute(" UNION ALL ".join(parts))
        return {row[0]: dict(zip(names, row[1:], strict=True)) for row in cursor.fetchall()}


def expected_counts(recipe: Recipe = RECIPE) -> dict[str, int]:
    return {
        "clients": recipe.clients,
        "matters": recipe.matters,
        "documents": recipe.matters * recipe.documents,
        "issued": recipe.matters - recipe.drafts,
        "unbalanced": 0,
        "dangling": 0,
    }


def firms_remove(firms: list[Any]) -> None:
    """Remove firms from the database: their rows in public (domains, keys, anchors go with them) and schemas."""
    from django.db import connection, transaction

    from tenants.db import tenant_connection
    from tenants.models import Tenant

    tenant_connection().set_schema_to_public()
    for tenant in firms:
        with transaction.atomic():
            Tenant.objects.filter(pk=tenant.pk).delete()
            with connection.cursor() as cursor:
                cursor.execute(f'DROP SCHEMA IF EXISTS "{tenant.schema_name}" CASCADE')


def firms_drop(prefix: str = PREFIX) -> int:
    """Remove the set's firms (marked or not); how many there were."""
    marked, others = firms_found(prefix)
    firms_remove(marked + others)
    return len(marked) + len(others)


def _backend_mib() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT sum(total_bytes) FROM pg_backend_memory_contexts")
        return int(cursor.fetchone()[0]) / 2**20


def _rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def firms_ensure(
    count: int,
    *,
    prefix: str = PREFIX,
    recipe: Recipe = RECIPE,
    progress: Callable[[str], None] | None = None,
    region: Callable[[int], str] = lambda n: ("eu-central-1", "us-east-1")[n % 2],
    jobs: int = 1,
) -> FirmSet:
    """``count`` firms of the set with the recipe's rows: those kept from an earlier run, the rest onboarded
    (``jobs`` at once, in forked processes)."""
    from django.db import connections

    from tenants.db import tenant_connection

    say = progress or (lambda line: None)
    if not 1 <= count <= 10_000:
        raise ValueError("a set holds 1 to 10,000 firms")
    tenant_connection().set_schema_to_public()
    started = time.perf_counter()
    marked, others = firms_found(prefix, recipe)
    firm_set = FirmSet(prefix=prefix, firms=[], reused=0, onboarded=0)
    seed_slug = slug_of(prefix, 0)
    if marked and marked[0].slug != seed_slug:  # the seed is gone: the copies have nothing to follow
        others, marked = others + marked, []
    extra = [t for t in marked if int(t.slug[len(prefix) :]) >= count]
    if extra:  # removing them would take long and a larger set is costly to build again: the caller decides
        raise SetTooLarge(
            f"the database holds {len(marked)} firms of set {prefix!r}, more than the {count} asked for:"
            " ask for all of them, use another database, or start afresh (--fresh)"
        )
    if others:
        firm_set.notes.append(f"removed {len(others)} unfinished or stale firms")
        firms_remove(others)
    if marked:
        counts = rows_counts([t.schema_name for t in marked])
        wrong = [slug for slug, c in counts.items() if c != expected_counts(recipe)]
        assert not wrong, f"kept firms without their rows: {wrong[:5]} {counts[wrong[0]] if wrong else ''}"
        connections.close_all()  # that query touched every firm's tables: a new backend for what follows
    firm_set.found_seconds = time.perf_counter() - started
    firm_set.reused = len(marked)
    have = {t.slug: t for t in marked}
    missing = [n for n in range(count) if slug_of(prefix, n) not in have]
    if missing:
        say(f"onboarding {len(missing)} firms (have {len(have)}, {jobs} at once)...")
    began = time.perf_counter()
    done = 0

    def tally(results: list[tuple[int, float, float]]) -> None:
        nonlocal done
        for _n, onboarding, rows in results:
            firm_set.onboarding_seconds += onboarding
            firm_set.rows_seconds += rows
            firm_set.onboarded += 1
        before, done = done, done + len(results)
        if done // PROGRESS_EVERY > before // PROGRESS_EVERY or done == len(missing):
            rate = done / (time.perf_counter() - began)
            backend = f"backend {_backend_mib():.0f} MiB, " if jobs <= 1 else ""  # the workers' are their own
            say(
                f"  {done}/{len(missing)} firms ({rate:.2f}/s, about {(len(missing) - done) / rate / 60:.0f} min left;"
                f" {backend}this process {_rss_mib():.0f} MiB max)"
            )

    if missing and missing[0] == 0:  # the seed first: the others copy it
        tally([_onboard(0, prefix, recipe, region(0))])
    rest = [n for n in missing if n != 0]
    if jobs <= 1 or len(rest) < 2 * jobs:
        for start in range(0, len(rest), _CHUNK):
            chunk = rest[start : start + _CHUNK]
            tally(_onboard_chunk(chunk, prefix, recipe, [region(n) for n in chunk]))
    else:
        connections.close_all()  # forked workers must not share this process's connection
        chunks = [rest[start : start + _CHUNK] for start in range(0, len(rest), _CHUNK)]
        with multiprocessing.get_context("fork").Pool(jobs) as pool:
            work = [(chunk, prefix, recipe, [region(n) for n in chunk]) for chunk in chunks]
            for results in pool.imap_unordered(_onboard_chunk_star, work):
                tally(results)
    firm_set.wall_seconds = time.perf_counter() - began
    connections.close_all()
    tenant_connection().set_schema_to_public()
    if missing:
        from tenants.models import Tenant

        have.update({t.slug: t for t in Tenant.objects.filter(slug__in=[slug_of(prefix, n) for n in missing])})
    firm_set.firms = [have[slug_of(prefix, n)] for n in range(count)]
    return firm_set


_CHUNK = 10  # firms per connection (and per task when onboarding in parallel)


def _onboard(n: int, prefix: str, recipe: Recipe, region: str) -> tuple[int, float, float]:
    """Onboard firm ``n`` and give it the recipe's rows (the seed's through the services, copied otherwise);
    seconds of each."""
    from tenants.db import tenant_connection
    from tenants.models import Tenant
    from tenants.services import tenant_create

    slug = slug_of(prefix, n)
    began = time.perf_counter()
    name, admin = f"Bench Firm {n:04d}", f"admin@{slug}.test"
    tenant = tenant_create(slug=slug, name=name, region=region, admin_email=admin).tenant
    onboarded = time.perf_counter()
    if n == 0:
        with tenant:
            seed_populate(recipe)
        tenant_connection().set_schema_to_public()
        _mark(tenant, _marker(prefix, recipe))
    else:
        rows_copy(Tenant.objects.get(slug=slug_of(prefix, 0)), tenant, _marker(prefix, recipe))
    return n, onboarded - began, time.perf_counter() - onboarded


def _onboard_chunk(
    indexes: list[int], prefix: str, recipe: Recipe, regions: list[str]
) -> list[tuple[int, float, float]]:
    from django.db import connections

    results = [_onboard(n, prefix, recipe, region) for n, region in zip(indexes, regions, strict=True)]
    connections.close_all()  # a new backend for the next chunk: its catalog cache does not grow with every firm
    return results


def _onboard_chunk_star(args: tuple[list[int], str, Recipe, list[str]]) -> list[tuple[int, float, float]]:
    return _onboard_chunk(*args)


# ---------------------------------------------------------------------------------------------------------------
# The bench database


def workdir_of(name: str) -> Path:
    """The kept database's local state (master key, storage, mail): it must live as long as the database."""
    return Path(os.environ.get("PORTICO_BENCH_STATE", str(ROOT / "var" / "bench"))) / name


def database_exists(server: database.Server, name: str) -> bool:
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        return conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [name]).fetchone() is not None


def database_drop(server: database.Server, name: str) -> None:
    with psycopg.connect(server.admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    shutil.rmtree(workdir_of(name), ignore_errors=True)


@dataclass(frozen=True)
class Harness:
    server: str  # which PostgreSQL, for the report
    database: str
    firm_set: FirmSet
    ready_seconds: float  # from Django loaded to the firms ready: migrate (nothing to apply when kept), find, onboard

    @property
    def firms(self) -> list[Any]:
        return self.firm_set.firms

    def summary(self) -> str:
        s = self.firm_set
        if not s.onboarded:
            return f"{len(s.firms)} firms kept in {self.database}, ready in {self.ready_seconds:.1f} s"
        return (
            f"{s.onboarded} firms onboarded with their rows in {s.wall_seconds:.0f} s"
            f" ({s.per_second:.2f}/s), {s.reused} kept, in {self.database}"
        )


@contextmanager
def many_firms(
    count: int,
    *,
    name: str = DATABASE,
    drop: bool = False,
    fresh: bool = False,
    prefix: str = PREFIX,
    jobs: int = 1,
) -> Iterator[Harness]:
    """Django on the bench database ``name`` (created if missing, kept unless ``drop``) with ``count`` firms."""
    from bench.firm import configure_django

    with database.server() as server:
        if fresh:
            database_drop(server, name)
        elif database_exists(server, name) and not workdir_of(name).exists():
            _say(f"{name} has lost its local state (its firms' keys): starting afresh")
            database_drop(server, name)
        if not database_exists(server, name):
            shutil.rmtree(workdir_of(name), ignore_errors=True)  # state of a database that is gone
            with psycopg.connect(server.admin_url, autocommit=True) as conn:
                conn.execute(f'CREATE DATABASE "{name}"')
        workdir = workdir_of(name)
        workdir.mkdir(parents=True, exist_ok=True)
        configure_django(server.database_url(name), workdir)
        from django.db import connections

        from tenants.migrate import migrate_all

        try:
            _say(f"{name} on {server.description}: migrating...")
            started = time.perf_counter()
            migrate_all()  # nothing to apply on a kept database of the same code
            try:
                firm_set = firms_ensure(count, prefix=prefix, progress=_say, jobs=jobs)
            except SetTooLarge as exc:
                raise SystemExit(f"{name}: {exc}") from None
            ready = time.perf_counter() - started
            harness = Harness(server=server.description, database=name, firm_set=firm_set, ready_seconds=ready)
            _say(harness.summary())
            yield harness
        finally:
            connections.close_all()
            if drop:
                database_drop(server, name)
                _say(f"dropped {name}")
            else:
                _say(f"kept {name} (state in {workdir}); --drop removes it")


def _say(line: str) -> None:
    print(line, file=sys.stderr, flush=True)


def database_mib() -> float:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_database_size(current_database())")
        return int(cursor.fetchone()[0]) / 2**20


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--firms", type=int, default=1000, help="firms in the set (default 1000)")
    parser.add_argument("--database", default=DATABASE, help=f"the bench database (default {DATABASE})")
    parser.add_argument("--fresh", action="store_true", help="drop the kept database first and onboard every firm")
    parser.add_argument("--drop", action="store_true", help="only drop the database and its local state")
    parser.add_argument("--jobs", type=int, default=1, help="firms onboarded at once, in forked processes (default 1)")
    args = parser.parse_args()

    if args.drop:
        with database.server() as server:
            database_drop(server, args.database)
        print(f"dropped {args.database}")
        return 0
    jobs = args.jobs
    with many_firms(args.firms, name=args.database, fresh=args.fresh, jobs=jobs) as harness:
        from bench.table import GoalTable

        s = harness.firm_set
        size = database_mib()
        table = GoalTable(name=52)
        print()
        print(f"Many firms: {len(s.firms)} firms in {harness.database} on {harness.server}")
        print(table.row("measure", "value"))
        print(table.row("firms kept from an earlier run", f"{s.reused}"))
        print(table.row("finding and checking them (marker, count, rows)", f"{s.found_seconds:.2f} s"))
        print(table.row("firms onboarded in this run", f"{s.onboarded}"))
        print(table.row("ready (migrate, find and check, onboard)", f"{harness.ready_seconds:.2f} s"))
        if s.onboarded:
            print(table.row("  tenant_create, per firm", f"{s.onboarding_seconds / s.onboarded * 1000:.0f} ms"))
            rows_ms = s.rows_seconds / s.onboarded * 1000
            print(table.row("  their rows (seed by services, copies), per firm", f"{rows_ms:.0f} ms"))
            print(table.row(f"  firms/s onboarding with rows ({jobs} at once)", f"{s.per_second:.2f}"))
            print(table.row("  estimate for 1,000 firms", f"{1000 / s.per_second / 60:.1f} min"))
        print(table.row("database size", f"{size:.0f} MiB"))
        print(table.row("  per firm", f"{size / len(s.firms):.1f} MiB"))
        print(table.row("this process's peak memory", f"{_rss_mib():.0f} MiB"))
        for note in s.notes:
            print(note)
    return 0


if __name__ == "__main__":
    sys.exit(main())
