"""The transparency protocol package imports without Django (CONVENTIONS.md §3)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

REPO = Path(__file__).resolve().parents[3]

MODULES = (
    "kernel.protocol",
    "kernel.protocol.errors",
    "kernel.protocol.jcs",
    "kernel.protocol.ed25519",
    "kernel.protocol.strictjson",
    "kernel.protocol.text",
    "kernel.protocol.timefmt",
    "kernel.protocol.trustedkey",
    "transparency.protocol",
    "transparency.protocol.errors",
    "transparency.protocol.merkle",
    "transparency.protocol.note",
    "transparency.protocol.checkpoint",
    "transparency.protocol.logapi",
    "transparency.protocol.witness",
    "transparency.protocol.monitor",
    "transparency.protocol.tiles",
)


def test_protocol_modules_do_not_import_django() -> None:
    """Importing every module in a fresh interpreter leaves 'django' unloaded."""
    code = (
        "import sys\n"
        + "".join(f"import {m}\n" for m in MODULES)
        + "loaded = sorted(m for m in sys.modules if m.split('.')[0] == 'django')\n"
        + "assert not loaded, loaded\n"
        + "print('ok', len(sys.modules))\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=60,
        env=env,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith("ok ")
