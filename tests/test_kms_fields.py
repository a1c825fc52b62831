"""Encrypted model fields: ciphertext in the database, exact lookup by keyed hash, no plaintext anywhere."""

from __future__ import annotations

import datetime
import logging

import pytest
from django.core.exceptions import FieldError
from django.db import connection
from django.test.utils import CaptureQueriesContext
from psycopg import sql

from kms.errors import DecryptionFailed
from tenants.current import NoFirmSelected
from tenants.models import Tenant
from tests.kms_demo.models import ClientIdentity

MARIA = {
    "full_name": "Maria Lopez",
    "a_number": "A123456789",
    "passport_number": "P98765432",
    "date_of_birth": datetime.date(1988, 3, 14),
    "ssn": "123-45-6789",
    "bank_account_number": "DE89370400440532013000",
}
SECRETS: list[str] = [
    "A123456789",
    "P98765432",
    "1988-03-14",
    "123-45-6789",
    "123456789",
    "DE89370400440532013000",
]


def raw_row(tenant: Tenant, pk: int) -> bytes:
    """Everything PostgreSQL holds for the row, as one byte string."""
    table = sql.Identifier(tenant.schema_name, "kms_demo_clientidentity")
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT row_to_json(t)::text FROM {} t WHERE id = %s").format(table), [pk])
        row: tuple[str] = cursor.fetchone()
    return row[0].encode()


def test_sensitive_values_are_ciphertext_in_the_database(acme: Tenant) -> None:
    with acme:
        maria = ClientIdentity.objects.create(**MARIA)
        row = raw_row(acme, maria.pk)

    assert b"Maria Lopez" in row  # the plain column, to show the query sees the row
    for secret in SECRETS:
        assert secret.encode() not in row, secret


def test_values_read_back_as_they_were_written(acme: Tenant) -> None:
    with acme:
        pk = ClientIdentity.objects.create(**MARIA).pk
        maria = ClientIdentity.objects.get(pk=pk)

    assert (maria.a_number, maria.passport_number, maria.ssn) == ("A123456789", "P98765432", "123-45-6789")
    assert maria.date_of_birth == datetime.date(1988, 3, 14)
    assert maria.bank_account_number == MARIA["bank_account_number"]


def test_a_client_is_found_by_exact_value_through_the_keyed_hash(acme: Tenant) -> None:
    with acme:
        maria = ClientIdentity.objects.create(**MARIA)
        ClientIdentity.objects.create(full_name="Someone Else", a_number="A000000001")

        assert list(ClientIdentity.objects.filter(a_number_hash="A123456789")) == [maria]
        assert list(ClientIdentity.objects.filter(a_number_hash="a-123 456 789")) == [maria]  # as typed by staff
        assert list(ClientIdentity.objects.filter(ssn_hash__in=["123456789", "999999999"])) == [maria]
        assert not ClientIdentity.objects.filter(passport_number_hash="P00000000").exists()


def test_the_same_value_hashes_differently_in_another_firm(acme: Tenant, globex: Tenant) -> None:
    with acme:
        at_acme = ClientIdentity.objects.create(**MARIA).a_number_hash
    with globex:
        at_globex = ClientIdentity.objects.create(**MARIA).a_number_hash

    assert at_acme != at_globex


def test_queries_carry_neither_plaintext_values_nor_plaintext_lookups(acme: Tenant) -> None:
    with acme, CaptureQueriesContext(connection) as queries:
        ClientIdentity.objects.create(**MARIA)
        ClientIdentity.objects.filter(a_number_hash="A123456789").count()
    logged = " ".join(query["sql"] for query in queries.captured_queries)

    for secret in SECRETS:
        assert secret not in logged, secret


def test_decrypted_values_do_not_show_in_reprs_or_tracebacks(acme: Tenant, caplog: pytest.LogCaptureFixture) -> None:
    with acme:
        pk = ClientIdentity.objects.create(**MARIA).pk
        maria = ClientIdentity.objects.get(pk=pk)
        logging.getLogger("portico.test").error("loaded %r %r", maria.a_number, maria.date_of_birth)

    assert str(maria.a_number) == "A123456789"
    assert repr(maria.a_number) == "<sensitive>"
    assert "A123456789" not in caplog.text
    assert "1988" not in caplog.text


def test_ciphertext_copied_to_another_firm_does_not_decrypt(acme: Tenant, globex: Tenant) -> None:
    with acme:
        maria = ClientIdentity.objects.create(**MARIA)
    with globex:
        copy = ClientIdentity.objects.create(full_name="Copy")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("UPDATE {} SET a_number = (SELECT a_number FROM {} WHERE id = %s) WHERE id = %s").format(
                sql.Identifier(globex.schema_name, "kms_demo_clientidentity"),
                sql.Identifier(acme.schema_name, "kms_demo_clientidentity"),
            ),
            [maria.pk, copy.pk],
        )

    with globex, pytest.raises(DecryptionFailed, match="failed authentication") as failure:
        ClientIdentity.objects.get(pk=copy.pk)
    assert "A123456789" not in str(failure.value)


def test_ciphertext_moved_to_another_column_does_not_decrypt(acme: Tenant) -> None:
    with acme:
        maria = ClientIdentity.objects.create(**MARIA)
        with connection.cursor() as cursor:
            cursor.execute("UPDATE kms_demo_clientidentity SET passport_number = a_number WHERE id = %s", [maria.pk])
        with pytest.raises(DecryptionFailed):
            ClientIdentity.objects.get(pk=maria.pk)


def test_lookups_on_the_ciphertext_column_are_refused(acme: Tenant) -> None:
    with acme:
        with pytest.raises(FieldError, match=r"keyed hash|KeyedHashField"):
            ClientIdentity.objects.filter(a_number="A123456789").count()
        with pytest.raises(FieldError):
            ClientIdentity.objects.filter(a_number_hash__startswith="A1").count()
        assert ClientIdentity.objects.filter(ssn__isnull=True).count() == 0


def test_encrypted_fields_need_a_firm(db: None) -> None:
    with pytest.raises(NoFirmSelected):
        ClientIdentity(**MARIA).save()
