"""The offline CLI run as users run it: ``python -m billing.protocol`` in a
separate process, without Django and without the server's settings."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

#: The repository root (``python -m billing.protocol`` runs from here).
REPO = Path(__file__).resolve().parents[2]

#: Environment prefixes of the server's configuration, left out of the CLI's
#: environment so a verdict can never depend on them.
SERVER_ENV_PREFIXES = ("DJANGO", "DATABASE", "VDI_", "MP_", "CELERY")


def cli_env() -> dict[str, str]:
    """Return ``os.environ`` without the server's configuration variables."""
    return {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(SERVER_ENV_PREFIXES)
    }


def meterproof(*argv: str, timeout: float = 300) -> subprocess.CompletedProcess[str]:
    """Run ``meterproof *argv`` (``python -m billing.protocol``) from the
    repository root with :func:`cli_env`; return the finished process
    (text ``stdout``/``stderr``, ``returncode`` the CLI's exit code, never
    raised on). ``timeout`` is in seconds."""
    return subprocess.run(
        [sys.executable, "-m", "billing.protocol", *argv],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env(),
        check=False,
        timeout=timeout,
    )
