"""Encrypted, region-pinned file storage on the local backend (the default)."""

from __future__ import annotations

import os
import shutil
import threading
import time
from pathlib import Path

import pytest
from django.conf import settings
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.http import FileResponse, StreamingHttpResponse

from kms.errors import DecryptionFailed
from residency.errors import CrossRegionError
from residency.models import StoredObject
from residency.storage import FirmStorage, client_files, retained_files
from tenants.current import NoFirmSelected
from tenants.models import Tenant

pytestmark = pytest.mark.usefixtures("storage_dir")

PASSPORT = b"%PDF-1.7 passport of Maria Lopez, P123456789 " * 1000


def on_disk(tenant: Tenant, name: str) -> Path:
    return Path(settings.PORTICO_STORAGE_DIR) / tenant.region / tenant.slug / name


def test_a_saved_file_reads_back_and_is_only_ciphertext_on_disk(acme: Tenant) -> None:
    with acme:
        name = client_files.save("matters/7/passport.pdf", ContentFile(PASSPORT))
        read_back = client_files.open(name).read()
        record = StoredObject.objects.get(name=name)

    stored = on_disk(acme, name).read_bytes()
    assert read_back == PASSPORT
    assert b"Maria Lopez" not in stored
    assert record.size == len(PASSPORT)
    assert record.stored_size == len(stored)
    assert (record.region, record.backend, record.key_class) == ("eu-central-1", "local", "client")


def test_the_default_storage_is_the_firms_encrypted_storage(acme: Tenant) -> None:
    with acme:
        name = default_storage.save("notes/intake.txt", ContentFile(b"intake notes"))

    assert isinstance(default_storage._wrapped, FirmStorage)  # type: ignore[attr-defined]
    assert b"intake notes" not in on_disk(acme, name).read_bytes()


def test_each_firm_has_its_own_directory_in_its_own_region(acme: Tenant, globex: Tenant) -> None:
    with acme:
        client_files.save("same/name.txt", ContentFile(b"acme's"))
    with globex:
        client_files.save("same/name.txt", ContentFile(b"globex's"))
        assert client_files.open("same/name.txt").read() == b"globex's"

    root = Path(settings.PORTICO_STORAGE_DIR)
    stored = sorted(str(path.relative_to(root)) for path in root.rglob("*") if path.is_file())
    assert stored == ["eu-central-1/acme/same/name.txt", "us-east-1/globex/same/name.txt"]


def test_storage_bound_to_another_region_refuses_to_write_and_writes_nothing(acme: Tenant) -> None:
    us_storage = FirmStorage(region="us-east-1")

    with acme, pytest.raises(CrossRegionError, match="pinned to eu-central-1"):
        us_storage.save("matters/1/i-130.pdf", ContentFile(b"petition"))

    with acme:
        assert not StoredObject.objects.filter(name="matters/1/i-130.pdf").exists()
    assert not on_disk(acme, "matters/1/i-130.pdf").exists()
    assert not (Path(settings.PORTICO_STORAGE_DIR) / "us-east-1" / "acme").exists()


def test_storage_bound_to_another_region_refuses_to_read(acme: Tenant) -> None:
    with acme:
        client_files.save("matters/1/i-130.pdf", ContentFile(b"petition"))
        with pytest.raises(CrossRegionError):
            FirmStorage(region="us-east-1").open("matters/1/i-130.pdf")
        assert FirmStorage(region="eu-central-1").open("matters/1/i-130.pdf").read() == b"petition"


def test_an_object_recorded_in_another_region_is_refused(acme: Tenant) -> None:
    with acme:
        client_files.save("moved.txt", ContentFile(b"x"))
        StoredObject.objects.filter(name="moved.txt").update(region="us-east-1")
        with pytest.raises(CrossRegionError, match="recorded in us-east-1"):
            client_files.open("moved.txt")


def test_storage_outside_a_firm_refuses(db: None) -> None:
    with pytest.raises(NoFirmSelected):
        client_files.save("x.txt", ContentFile(b"x"))


def test_names_are_never_overwritten(acme: Tenant) -> None:
    with acme:
        first = client_files.save("upload.pdf", ContentFile(b"first"))
        second = client_files.save("upload.pdf", ContentFile(b"second"))

        assert first == "upload.pdf"
        assert second != first
        assert client_files.open(first).read() == b"first"
        assert client_files.open(second).read() == b"second"


def test_downloads_stream_for_django_responses(acme: Tenant) -> None:
    with acme:
        name = client_files.save("big.bin", ContentFile(PASSPORT * 30))  # ~1.3 MiB: more than one chunk
        streamed = StreamingHttpResponse(client_files.stream(name, chunk_size=64 * 1024))
        chunks = [bytes(chunk) for chunk in streamed]
        response = FileResponse(client_files.open(name), as_attachment=True, filename="passport.pdf")
        served = b"".join(bytes(chunk) for chunk in response)

    assert len(chunks) > 1
    assert max(len(c) for c in chunks) <= 64 * 1024
    assert b"".join(chunks) == served == PASSPORT * 30
    assert response["Content-Disposition"] == 'attachment; filename="passport.pdf"'


def test_a_flipped_byte_on_disk_fails_on_read(acme: Tenant) -> None:
    with acme:
        name = client_files.save("evidence.pdf", ContentFile(PASSPORT))
    path = on_disk(acme, name)
    data = bytearray(path.read_bytes())
    data[len(data) // 2] ^= 0x80
    path.write_bytes(bytes(data))

    with acme, pytest.raises(DecryptionFailed, match="failed authentication"):
        client_files.open(name).read()


def test_a_file_copied_into_another_firm_with_its_key_record_does_not_decrypt(acme: Tenant, globex: Tenant) -> None:
    with acme:
        client_files.save("stolen.pdf", ContentFile(PASSPORT))
        record = StoredObject.objects.get(name="stolen.pdf")
    target = on_disk(globex, "stolen.pdf")
    target.parent.mkdir(parents=True, exist_ok=True)
    shutil.copyfile(on_disk(acme, "stolen.pdf"), target)
    with globex:
        record.pk, record.region = None, globex.region
        record.save()
        try:
            with pytest.raises(DecryptionFailed):
                client_files.open("stolen.pdf").read()
        finally:
            target.unlink()


def test_retained_records_use_the_retention_key(acme: Tenant) -> None:
    with acme:
        name = retained_files.save("ledger/2025-statement.csv", ContentFile(b"date,amount\n"))
        record = StoredObject.objects.get(name=name)
        assert retained_files.open(name).read() == b"date,amount\n"

    assert record.key_class == "retention"


@pytest.mark.parametrize("name", ["../escape.txt", "/abs.txt", "a//b.txt", "a/./b.txt", "dir\\x.txt"])
def test_object_names_that_could_escape_are_refused(acme: Tenant, name: str) -> None:
    with acme, pytest.raises(ValueError, match="invalid object name"):
        client_files._save(name, ContentFile(b"x"))


def test_deleting_removes_the_file_and_its_data_key(acme: Tenant) -> None:
    with acme:
        name = client_files.save("delete-me.txt", ContentFile(b"x"))
        client_files.delete(name)

        assert not client_files.exists(name)
        assert not StoredObject.objects.filter(name=name).exists()
    assert not on_disk(acme, name).exists()


def test_a_large_file_streams_back_and_a_flipped_byte_late_in_it_still_fails(acme: Tenant) -> None:
    big = os.urandom(6 << 20)  # read ahead on a helper thread (more than 4 MiB)
    with acme:
        name = client_files.save("archive/scan.tiff", ContentFile(big))
        assert b"".join(client_files.stream(name)) == big
    path = on_disk(acme, name)
    data = bytearray(path.read_bytes())
    data[(5 << 20) + 123] ^= 0x01
    path.write_bytes(bytes(data))

    with acme, pytest.raises(DecryptionFailed):
        b"".join(client_files.stream(name))


def test_a_download_abandoned_midway_stops_its_reader(acme: Tenant) -> None:
    with acme:
        name = client_files.save("archive/big.bin", ContentFile(os.urandom(12 << 20)))
        opened = client_files.open(name)
        assert len(opened.read(1 << 20)) == 1 << 20
        opened.close()

    deadline = time.monotonic() + 5
    while any(t.name == "portico-readahead" for t in threading.enumerate()) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [t for t in threading.enumerate() if t.name == "portico-readahead"]


def test_saving_under_a_name_already_stored_is_refused_and_keeps_the_original(acme: Tenant) -> None:
    with acme:
        client_files.save("kept.pdf", ContentFile(b"original"))
        with pytest.raises(FileExistsError, match="never overwritten"):
            client_files._save("kept.pdf", ContentFile(b"replacement"))
        assert client_files.open("kept.pdf").read() == b"original"
        assert StoredObject.objects.filter(name="kept.pdf").count() == 1
