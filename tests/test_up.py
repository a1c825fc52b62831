"""`portico up` end to end: the real console script, as a user runs it on a bare machine.

No DATABASE_URL and no REDIS_URL, so the embedded PostgreSQL 18 and the
filesystem broker are what runs; everything lives in a temporary var dir. The
first run is signed in to through the web form, its scheduler and worker must
stamp the heartbeat, and Ctrl-C must leave no process behind, the embedded
PostgreSQL included. A second run on the same data must create nothing twice.
"""

from __future__ import annotations

import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from http.cookies import SimpleCookie
from pathlib import Path
from urllib.parse import urlencode

import psutil
import pytest

from tenants.dev.demo import PEOPLE

pytestmark = pytest.mark.slow

PORTICO = Path(sys.executable).with_name("portico")
UP_SECONDS = 180.0  # first run: initdb, every migration, the demo firm, three processes
STOP_SECONDS = 40.0
HEARTBEAT_SECONDS = 2


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _portico_env(var_dir: Path) -> dict[str, str]:
    """The environment of someone who has configured nothing, plus a private var dir."""
    env = {
        key: value
        for key, value in os.environ.items()
        if not key.startswith("PORTICO_") and key not in ("DATABASE_URL", "REDIS_URL", "DJANGO_SETTINGS_MODULE")
    }
    env["PORTICO_VAR_DIR"] = str(var_dir)
    env["PORTICO_HEARTBEAT_SECONDS"] = str(HEARTBEAT_SECONDS)
    return env


def _postgres_serving(pgdata: Path) -> list[psutil.Process]:
    """PostgreSQL processes started on ``pgdata`` (the postmaster names it on its command line)."""
    found = []
    for process in psutil.process_iter(["name", "cmdline"]):
        cmdline = process.info["cmdline"] or []
        if process.info["name"] == "postgres" and str(pgdata) in cmdline:
            found.append(process)
    return found


def _stopped_cleanly(pgdata: Path) -> bool:
    """The server's log since it last started: stopped by `pg_ctl stop` (fast shutdown), no crash."""
    log = (pgdata / "log").read_text(errors="replace")
    last_run = log.rsplit("database system is ready to accept connections", 1)[-1]
    return (
        "received fast shutdown request" in last_run
        and last_run.rstrip().endswith("database system is shut down")
        and not any(word in last_run for word in ("PANIC", "abnormal", "terminated by signal"))
    )


def _gone(process: psutil.Process) -> bool:
    try:
        return not process.is_running() or process.status() == psutil.STATUS_ZOMBIE
    except psutil.NoSuchProcess:
        return True


@dataclass
class PorticoUp:
    """One `portico up` process, its output in a file."""

    var_dir: Path
    port: int
    log: Path
    process: subprocess.Popen[bytes]
    children: list[psutil.Process] = field(default_factory=list)

    @classmethod
    def start(cls, var_dir: Path, name: str) -> PorticoUp:
        assert PORTICO.exists(), f"the console script is missing: {PORTICO}"
        port = _free_port()
        log = var_dir.parent / f"{name}.log"
        with log.open("wb") as output:
            process = subprocess.Popen(
                [str(PORTICO), "up", "--port", str(port)],
                env=_portico_env(var_dir),
                stdin=subprocess.DEVNULL,
                stdout=output,
                stderr=subprocess.STDOUT,
            )
        return cls(var_dir=var_dir, port=port, log=log, process=process)

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def wait_until_up(self) -> str:
        deadline = time.monotonic() + UP_SECONDS
        while time.monotonic() < deadline:
            output = self.output()
            if "Press Ctrl-C to stop." in output:
                return output
            if self.process.poll() is not None:
                pytest.fail(f"portico up exited with {self.process.returncode}:\n{output}")
            time.sleep(0.25)
        pytest.fail(f"portico up did not come up within {UP_SECONDS:.0f} s:\n{self.output()}")

    def descendants(self, *, recursive: bool = True) -> list[psutil.Process]:
        return psutil.Process(self.process.pid).children(recursive=recursive)

    def stop(self, signum: int = signal.SIGINT) -> int:
        self.children = self.descendants()  # the gunicorn workers and the worker pool included
        self.process.send_signal(signum)
        try:
            return self.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"portico up did not stop within {STOP_SECONDS:.0f} s of {signum!r}:\n{self.output()}")

    def kill_everything(self) -> None:
        """Cleanup after a failed test: no process of this run may outlive it."""
        leftovers = list(self.children)
        if self.process.poll() is None:
            leftovers += self.descendants()
            self.process.kill()
            self.process.wait()
        for process in [*leftovers, *_postgres_serving(self.var_dir / "pg")]:
            with contextlib.suppress(psutil.NoSuchProcess):
                process.kill()

    def portico(self, *args: str) -> subprocess.CompletedProcess[str]:
        """Another `portico` command on the same data (it joins the running embedded server)."""
        return subprocess.run(
            [str(PORTICO), *args], env=_portico_env(self.var_dir), capture_output=True, text=True, timeout=120
        )


class Browser:
    """Just enough of a browser: a Host header, cookies, forms."""

    def __init__(self, port: int, host: str) -> None:
        self.port, self.host = port, host
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, form: dict[str, str] | None = None) -> tuple[int, str, str]:
        """Returns the status, the Location header and the body."""
        headers = {"Host": self.host}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{name}={value}" for name, value in self.cookies.items())
        body = None
        if form is not None:
            body = urlencode(form)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        connection = http.client.HTTPConnection(
            "127.0.0.1", self.port, timeout=60
        )  # generous: the machine may be busy with other tests
        try:
            connection.request(method, path, body=body, headers=headers)
            response = connection.getresponse()
            for header in response.headers.get_all("Set-Cookie") or []:
                cookie: SimpleCookie = SimpleCookie()
                cookie.load(header)
                self.cookies.update({name: morsel.value for name, morsel in cookie.items()})
            return response.status, response.headers.get("Location", ""), response.read().decode()
        finally:
            connection.close()


@pytest.fixture(scope="module")
def var_dir() -> Iterator[Path]:
    # Not under pytest's temporary directory: pytest keeps that private to its
    # user and tightens it again whenever a session starts, and when we are root
    # the embedded PostgreSQL runs as another user who must reach its data dir.
    base = Path(tempfile.mkdtemp(prefix="portico-up-"))
    try:
        yield base / "var"
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.fixture(scope="module")
def first_run(var_dir: Path) -> Iterator[PorticoUp]:
    run = PorticoUp.start(var_dir, "first-run")
    try:
        yield run
    finally:
        run.kill_everything()


def _logins(output: str) -> dict[str, str]:
    return dict(re.findall(r"^ {4}(\S+(?: \S+)?) +(\S+@demo\.test)$", output, flags=re.MULTILINE))


def _sign_in(port: int, email: str, password: str) -> str:
    browser = Browser(port, f"demo.localhost:{port}")
    status, _, page = browser.request("GET", "/accounts/login/")
    assert status == 200
    assert "Demo Immigration Law" in page
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page)
    assert token is not None
    assert "csrftoken" in browser.cookies

    form = {"username": email, "password": password, "csrfmiddlewaretoken": token.group(1)}
    status, location, _ = browser.request("POST", "/accounts/login/", form)
    assert (status, location) == (302, "/"), "the demo login was refused"
    assert "sessionid" in browser.cookies

    status, _, home = browser.request("GET", "/")
    assert status == 200
    return home


def test_portico_up_serves_the_demo_firm_runs_jobs_and_stops_everything(first_run: PorticoUp) -> None:
    output = first_run.wait_until_up()
    port = first_run.port
    assert f"Demo firm:    http://demo.localhost:{port}/" in output
    assert f"Public site:  http://localhost:{port}/" in output
    assert "embedded PostgreSQL 18" in output
    assert "filesystem transport" in output
    # A first run builds the template as a matter of course: nothing reads as a repair.
    assert "portico_template: created (the template new firms are copied from)" in output
    assert "was missing" not in output
    password = re.search(r"all with the password (\S+):", output)
    assert password is not None
    logins = _logins(output)
    assert logins["firm admin"] == "admin@demo.test"
    assert {"partner", "attorney", "paralegal", "intake clerk", "billing clerk", "client", "outside counsel"} < set(
        logins
    )
    commands = " ".join(" ".join(child.cmdline()) for child in first_run.descendants(recursive=False))
    for started in ("gunicorn core.wsgi", "core worker", "core beat"):
        assert started in commands
    postgres = _postgres_serving(first_run.var_dir / "pg")
    assert postgres, "the embedded PostgreSQL should be serving the var dir"

    home = _sign_in(port, "admin@demo.test", password.group(1))
    assert '<span data-testid="user-email">admin@demo.test</span>' in home
    assert "firm admin" in home
    status, _, _ = Browser(port, f"localhost:{port}").request("GET", "/")
    assert status == 200

    # The scheduler sends the heartbeat every HEARTBEAT_SECONDS; the worker stamps the file.
    heartbeat = first_run.var_dir / "heartbeat"
    stamps: set[str] = set()
    deadline = time.monotonic() + 60
    while len(stamps) < 2 and time.monotonic() < deadline:
        if heartbeat.exists() and (stamp := heartbeat.read_text()):  # empty while being written
            stamps.add(datetime.fromisoformat(stamp).isoformat())
        time.sleep(0.25)
    assert len(stamps) >= 2, f"the heartbeat was not stamped twice: {stamps}\n{first_run.output()}"

    assert first_run.stop(signal.SIGINT) == 0
    assert all(_gone(child) for child in first_run.children), first_run.output()
    assert all(_gone(process) for process in postgres)
    assert not _postgres_serving(first_run.var_dir / "pg")
    assert not (first_run.var_dir / "pg" / "postmaster.pid").exists()
    assert _stopped_cleanly(first_run.var_dir / "pg"), first_run.output()


def test_a_second_run_creates_nothing_twice_and_stops_when_a_child_dies(first_run: PorticoUp, var_dir: Path) -> None:
    if first_run.process.poll() is None:  # run on its own (-k): let the first run finish preparing
        first_run.wait_until_up()
        assert first_run.stop() == 0

    second = PorticoUp.start(var_dir, "second-run")
    try:
        output = second.wait_until_up()
        assert "Created the demo firm" not in output
        assert "missing demo user" not in output
        assert "portico_template: up to date" in output

        listed = second.portico("tenants", "list", "--json")
        assert listed.returncode == 0, listed.stderr
        assert [firm["slug"] for firm in json.loads(listed.stdout)] == ["demo"]
        shown = second.portico("tenants", "show", "demo", "--json")
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["users"] == len(PEOPLE)

        # A child that dies takes the rest down with it, with an error and exit code 1.
        second.children = second.descendants()
        [worker] = [c for c in second.descendants(recursive=False) if "core worker" in " ".join(c.cmdline())]
        worker.kill()
        try:
            code = second.process.wait(timeout=STOP_SECONDS)
        except subprocess.TimeoutExpired:
            pytest.fail(f"portico up kept running after its worker died:\n{second.output()}")
        assert code == 1
        assert "error: the Celery worker exited unexpectedly" in second.output()
        assert all(_gone(child) for child in second.children)
        assert not _postgres_serving(var_dir / "pg")
        assert _stopped_cleanly(var_dir / "pg"), second.output()
    finally:
        second.kill_everything()
