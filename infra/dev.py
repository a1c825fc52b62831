#!/usr/bin/env python3
"""Bootstrap for a fresh clone: needs only Python >= 3.11 and git.

    python3 infra/dev.py up      # install, then `portico up`
    python3 infra/dev.py test    # install, then the whole test suite
    python3 infra/dev.py sync    # install only

Installs uv (from PyPI) into .tools/uv, then the locked dependencies
(uv.lock) into .venv, and hands over to the project's own commands. Before
the tests it also installs, on Debian as root, the system packages the suite
drives for real (infra/system-packages.txt: Chromium, clamd, hledger, …).
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import venv
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
TOOLS = ROOT / ".tools" / "uv"
UV_VERSION = "0.13.9"
COMMANDS = {"up": ["portico", "up"], "test": ["pytest"], "sync": []}


def _uv() -> Path:
    uv = TOOLS / "bin" / "uv"
    if not uv.exists():
        print("Installing uv into .tools/uv …", flush=True)
        venv.EnvBuilder(with_pip=True, clear=True).create(TOOLS)
        subprocess.run([TOOLS / "bin" / "python", "-m", "pip", "install", "-q", f"uv=={UV_VERSION}"], check=True)
    return uv


def _system_packages() -> None:
    """The tests drive Chromium, clamd, hledger and WeasyPrint for real: install them on Debian as root."""
    wanted = [
        line.strip()
        for line in (ROOT / "infra" / "system-packages.txt").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    ]
    if not shutil.which("dpkg"):
        print(f"note: not a Debian system; the tests also need: {', '.join(wanted)}", flush=True)
        return
    missing = [pkg for pkg in wanted if subprocess.run(["dpkg", "-s", pkg], capture_output=True).returncode != 0]
    if not missing:
        return
    if os.geteuid() != 0:
        sys.exit(f"the tests need these Debian packages: sudo apt-get install {' '.join(missing)}")
    print(f"Installing {', '.join(missing)} …", flush=True)
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    subprocess.run(["apt-get", "update", "-qq"], check=True, env=env)
    subprocess.run(["apt-get", "install", "-y", "-qq", "--no-install-recommends", *missing], check=True, env=env)


def main(argv: list[str]) -> int:
    if sys.version_info < (3, 11):
        sys.exit("Portico needs Python 3.11 or newer")
    if not argv or argv[0] not in COMMANDS:
        sys.exit(f"usage: python3 infra/dev.py {{{'|'.join(COMMANDS)}}} [args …]")
    command, extra = COMMANDS[argv[0]], argv[1:]
    env = {**os.environ, "UV_PROJECT_ENVIRONMENT": str(ROOT / ".venv")}
    # Bytecode is written on first import and reused: with PYTHONDONTWRITEBYTECODE set (as on some CI images),
    # every process the suite and `portico up` start would compile Django and the project afresh (~2 s each).
    env.pop("PYTHONDONTWRITEBYTECODE", None)
    subprocess.run([_uv(), "sync", "--frozen", "--python", sys.executable, "--quiet"], cwd=ROOT, env=env, check=True)
    if not command:
        return 0
    if argv[0] == "test":
        _system_packages()
    executable = ROOT / ".venv" / "bin" / command[0]
    os.chdir(ROOT)
    os.execve(executable, [str(executable), *command[1:], *extra], env)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
