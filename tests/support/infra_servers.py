"""The production processes of infra/, started for real on loopback: pgbouncer, gunicorn and nginx.

Each is configured from the file in infra/ an operator deploys, changed only where this
machine differs (ports, paths, authentication), and started once per test module.
``wildcard_certificate`` makes a CA and a ``*.portico.example`` certificate signed by it.
"""

from __future__ import annotations

import configparser
import datetime as dt
import os
import pwd
import re
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from tests.support.servers import free_port

ROOT = Path(__file__).resolve().parents[2]
INFRA = ROOT / "infra"


def wait_for_port(port: int, *, process: subprocess.Popen[bytes], log: Path, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while True:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            if process.poll() is not None:
                output = log.read_text(errors="replace") if log.exists() else ""
                raise AssertionError(f"exited with {process.returncode}:\n{output[-4000:]}") from None
            if time.monotonic() > deadline:
                output = log.read_text(errors="replace") if log.exists() else ""
                raise AssertionError(f"port {port} not open after {timeout} s:\n{output[-4000:]}") from None
            time.sleep(0.1)


def stop(process: subprocess.Popen[bytes], sig: int = signal.SIGTERM) -> None:
    if process.poll() is None:
        process.send_signal(sig)
        try:
            process.wait(timeout=15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(timeout=5)


# --- TLS ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Certificate:
    ca: Path
    cert: Path
    key: Path


def wildcard_certificate(directory: Path, domain: str) -> Certificate:
    """A throwaway CA, and a certificate for ``domain`` and ``*.domain`` signed by it."""
    now = dt.datetime.now(dt.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Portico test CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(x509.KeyUsage(True, False, False, False, False, True, True, False, False), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    leaf = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"*.{domain}")]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(minutes=5))
        .not_valid_after(now + dt.timedelta(days=1))
        .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain), x509.DNSName(f"*.{domain}")]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([x509.oid.ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    paths = Certificate(ca=directory / "ca.pem", cert=directory / "wildcard.pem", key=directory / "wildcard.key")
    paths.ca.write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths.cert.write_bytes(leaf.public_bytes(serialization.Encoding.PEM))
    paths.key.write_bytes(
        key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption())
    )
    paths.key.chmod(0o600)
    return paths


# --- pgbouncer ------------------------------------------------------------------------------


def _unprivileged_user(server_host: str) -> str | None:
    """pgbouncer refuses to run as root: as root, it runs as nobody, or as the owner of the server's
    socket directory (the embedded server's is private to the user it runs as)."""
    if os.geteuid() != 0:
        return None
    if server_host.startswith("/"):
        return pwd.getpwuid(Path(server_host).stat().st_uid).pw_name
    return "nobody"


def shipped_pgbouncer_settings() -> dict[str, str]:
    parser = configparser.ConfigParser(interpolation=None, comment_prefixes=(";", "#"), inline_comment_prefixes=(";",))
    parser.read(INFRA / "pgbouncer" / "pgbouncer.ini")
    return dict(parser["pgbouncer"])


@dataclass
class Pgbouncer:
    port: int
    process: subprocess.Popen[bytes]
    log: Path


@contextmanager
def pgbouncer(*, server_host: str, server_port: str, user: str, **overrides: str) -> Iterator[Pgbouncer]:
    """pgbouncer with infra/pgbouncer/pgbouncer.ini's [pgbouncer] settings, in front of the test server.

    Changed for this machine: where it listens, its files, and trust authentication (the
    test server trusts loopback; production uses scram-sha-256, see the shipped file). As
    root it runs as nobody, in a directory of its own (pytest's are private to root).
    """
    directory = Path(tempfile.mkdtemp(prefix="portico-pgbouncer-"))
    port = free_port()
    log = directory / "pgbouncer.log"
    settings = shipped_pgbouncer_settings()
    for machine_specific in ("auth_file", "auth_query", "auth_user", "logfile", "pidfile", "unix_socket_dir"):
        settings.pop(machine_specific, None)
    settings |= {
        "listen_addr": "127.0.0.1",
        "listen_port": str(port),
        "unix_socket_dir": "",
        "auth_type": "trust",
        "auth_file": str(directory / "userlist.txt"),  # trust still needs the user listed
        "logfile": str(log),
        "pidfile": str(directory / "pgbouncer.pid"),
        "server_tls_sslmode": "disable",
        **overrides,
    }
    lines = ["[databases]", f"* = host={server_host} port={server_port}", "", "[pgbouncer]"]
    lines += [f"{key} = {value}" for key, value in settings.items()]
    config = directory / "pgbouncer.ini"
    config.write_text("\n".join(lines) + "\n")
    (directory / "userlist.txt").write_text(f'"{user}" ""\n')
    runs_as = _unprivileged_user(server_host)
    if runs_as:
        entry = pwd.getpwnam(runs_as)
        for path in (directory, config, directory / "userlist.txt"):
            os.chown(path, entry.pw_uid, entry.pw_gid)
    argv = [shutil.which("pgbouncer") or "/usr/sbin/pgbouncer", *(["-u", runs_as] if runs_as else []), str(config)]
    with (directory / "stderr.log").open("wb") as output:
        process = subprocess.Popen(argv, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, log=directory / "stderr.log")
        yield Pgbouncer(port=port, process=process, log=log)
    finally:
        stop(process, signal.SIGINT)  # SIGINT: safe shutdown, after clients are done
        shutil.rmtree(directory, ignore_errors=True)


# --- gunicorn -------------------------------------------------------------------------------


@dataclass
class Gunicorn:
    port: int
    process: subprocess.Popen[bytes]
    log: Path

    def output(self) -> str:
        return self.log.read_text(errors="replace")


@contextmanager
def gunicorn(directory: Path, env: dict[str, str]) -> Iterator[Gunicorn]:
    """`gunicorn core.wsgi --config infra/gunicorn.conf.py`, as infra/systemd/portico-web.service runs it."""
    port = free_port()
    log = directory / "gunicorn.log"
    env = {**env, "PORTICO_BIND": f"127.0.0.1:{port}", "WEB_CONCURRENCY": "2", "PYTHONUNBUFFERED": "1"}
    argv = [sys.executable, "-m", "gunicorn", "core.wsgi", "--config", str(INFRA / "gunicorn.conf.py")]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        wait_for_port(port, process=process, log=log, timeout=60)
        yield Gunicorn(port=port, process=process, log=log)
    finally:
        stop(process)


def gunicorn_start_failure(env: dict[str, str], directory: Path) -> tuple[int, str]:
    """Start gunicorn as above and wait for it to give up; (exit code, output)."""
    log = directory / "gunicorn-refused.log"
    env = {**env, "PORTICO_BIND": f"127.0.0.1:{free_port()}", "WEB_CONCURRENCY": "1"}
    argv = [sys.executable, "-m", "gunicorn", "core.wsgi", "--config", str(INFRA / "gunicorn.conf.py")]
    with log.open("wb") as output:
        process = subprocess.Popen(argv, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
        try:
            code = process.wait(timeout=60)
        except subprocess.TimeoutExpired:
            stop(process)
            raise AssertionError(f"gunicorn kept running:\n{log.read_text(errors='replace')}") from None
    return code, log.read_text(errors="replace")


# --- nginx ----------------------------------------------------------------------------------


def render_nginx_template(values: dict[str, str]) -> str:
    """infra/nginx/portico.conf.template through envsubst, exactly as its header tells an operator."""
    template = (INFRA / "nginx" / "portico.conf.template").read_text()
    names = sorted(set(re.findall(r"\$\{(PORTICO_[A-Z_]+)\}", template)))
    missing = set(names) - set(values)
    assert not missing, f"no value for {sorted(missing)}"
    shell_format = " ".join(f"${name}" for name in names)
    completed = subprocess.run(
        ["envsubst", shell_format],
        input=template,
        capture_output=True,
        text=True,
        env={"PATH": os.environ.get("PATH", ""), **values},
        check=True,
    )
    return completed.stdout


@dataclass
class Nginx:
    http_port: int
    https_port: int
    process: subprocess.Popen[bytes]
    directory: Path

    @property
    def access_log(self) -> Path:
        return self.directory / "logs" / "portico.access.log"


@contextmanager
def nginx(directory: Path, values: dict[str, str]) -> Iterator[Nginx]:
    http_port, https_port = free_port(), free_port()
    logs = directory / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    values = {**values, "PORTICO_HTTP_PORT": str(http_port), "PORTICO_HTTPS_PORT": str(https_port)}
    values.setdefault("PORTICO_REDIRECT_PORT_SUFFIX", f":{https_port}")
    values.setdefault("PORTICO_NGINX_LOG_DIR", str(logs))
    (directory / "portico.conf").write_text(render_nginx_template(values))
    temp = directory / "temp"
    temp.mkdir(exist_ok=True)
    # The test's main file, as Debian's /etc/nginx/nginx.conf: mime types, then the site file. As
    # root the workers run as root too, to read pytest's private directories (Debian: www-data).
    worker_user = "user root;" if os.geteuid() == 0 else ""
    (directory / "nginx.conf").write_text(
        f"""
{worker_user}
pid {directory}/nginx.pid;
error_log {logs}/error.log warn;
worker_processes 1;
events {{ worker_connections 256; }}
http {{
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    client_body_temp_path {temp}/body;
    proxy_temp_path {temp}/proxy;
    fastcgi_temp_path {temp}/fastcgi;
    uwsgi_temp_path {temp}/uwsgi;
    scgi_temp_path {temp}/scgi;
    access_log off;
    include {directory}/portico.conf;
}}
"""
    )
    nginx_binary = shutil.which("nginx") or "/usr/sbin/nginx"
    check = subprocess.run(
        [nginx_binary, "-t", "-p", str(directory), "-c", str(directory / "nginx.conf")],
        capture_output=True,
        text=True,
        check=False,
    )
    assert check.returncode == 0, check.stderr
    log = logs / "stdout.log"
    with log.open("wb") as output:
        process = subprocess.Popen(
            [nginx_binary, "-p", str(directory), "-c", str(directory / "nginx.conf"), "-g", "daemon off;"],
            stdout=output,
            stderr=subprocess.STDOUT,
        )
    try:
        wait_for_port(https_port, process=process, log=logs / "error.log")
        yield Nginx(http_port=http_port, https_port=https_port, process=process, directory=directory)
    finally:
        stop(process, signal.SIGQUIT)  # graceful: finish the requests in flight
