"""A real ClamAV daemon for the upload tests.

``clamd_socket`` starts Debian's ``/usr/sbin/clamd`` once per session with a
signature database written here (no download, works offline): ClamAV's own
EICAR test signature (as the whole file, and as a body signature that finds
the string inside another file, as the official database does), and one for a
PNG that passes every other check, so a test can show that the scanner alone
stops a file. Its size limits are set low (``CLAMD_SCAN_LIMIT``) so a file too
large for it to scan whole is cheap to make; otherwise it is configured as
production should be (README, "Virus scanning"). It listens on a Unix socket in
a temporary directory and is stopped at the end of the session.
"""

from __future__ import annotations

import hashlib
import signal
import subprocess
import time
from collections.abc import Iterator

import pytest

from core.uploads import clamd
from tests.support import uploads as upload_samples

CLAMD = "/usr/sbin/clamd"
CLAMD_SCAN_LIMIT = 4 * 1024 * 1024  # MaxFileSize and MaxScanSize of the test daemon (production: README)


def _signature(name: str, data: bytes) -> str:
    # .hdb: MD5 of the whole file, its size, the name reported on a match.
    return f"{hashlib.md5(data).hexdigest()}:{len(data)}:{name}\n"  # noqa: S324 - ClamAV's hash signatures are MD5


@pytest.fixture(scope="session")
def clamd_socket(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    home = tmp_path_factory.mktemp("clamd")
    database = home / "db"
    database.mkdir()
    (database / "portico-test.hdb").write_text(
        _signature("Eicar-Test-Signature", upload_samples.EICAR)
        + _signature("Portico-Test-Flagged-Png", upload_samples.flagged_png())
    )
    # .ndb: name, target type (0: any file), offset (*: anywhere), hex bytes.
    (database / "portico-test.ndb").write_text(f"Eicar-Test-Signature:0:*:{upload_samples.EICAR.hex()}\n")
    socket_path = home / "clamd.sock"
    config = home / "clamd.conf"
    config.write_text(
        "\n".join(
            [
                f"LocalSocket {socket_path}",
                f"DatabaseDirectory {database}",
                f"PidFile {home / 'clamd.pid'}",
                f"TemporaryDirectory {home}",
                "LogFile " + str(home / "clamd.log"),
                "Foreground yes",
                "User root",
                "StreamMaxLength 30M",
                f"MaxFileSize {CLAMD_SCAN_LIMIT}",
                f"MaxScanSize {CLAMD_SCAN_LIMIT}",
                "AlertExceedsMax yes",  # report what a limit kept it from scanning, as production must
                "MaxScanTime 20000",
                "MaxThreads 4",
                "",
            ]
        )
    )
    process = subprocess.Popen([CLAMD, "--config-file", str(config)], stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 60
        while not clamd.ping(str(socket_path)):
            if process.poll() is not None:
                output = process.stdout.read().decode() if process.stdout else ""
                raise RuntimeError(f"clamd exited with {process.returncode}: {output}")
            if time.monotonic() > deadline:
                raise RuntimeError(f"clamd did not answer on {socket_path} within 60 s")
            time.sleep(0.1)
        yield str(socket_path)
    finally:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


@pytest.fixture
def clamd_configured(clamd_socket: str, settings: object) -> str:
    settings.PORTICO_CLAMD_SOCKET = clamd_socket  # type: ignore[attr-defined]
    return clamd_socket
