"""One prefix rule for environment variables (issue 11, item 7): ``MP_`` for
product variables; each former ``VDI_`` variable is a deprecated alias that
still works, and the ``MP_`` name wins when both are set."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]

PROBE = (
    "import json, config.settings as s; print(json.dumps({"
    "'ttl': s.VDI_BILLING_REPLAY_RESERVE_TTL_SEC, "
    "'origin': s.VDI_BILLING_LOG_ORIGIN, "
    "'binding': s.VDI_BILLING_INCIRCUIT_BINDING, "
    "'cache': str(s.VDI_GROTH16_PROVER_CACHE_DIR)}))"
)


def _settings_with(**variables: str) -> dict[str, object]:
    """Load ``config.settings`` in a fresh interpreter with only ``variables``
    of the product's own; return a few of the resulting settings."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "MP_", "VDI_"))
    }
    env.update({"MP_READ_DOT_ENV": "0", "MP_VAR_DIR": "/tmp/mp-var-probe"})
    env.update(variables)
    result = subprocess.run(
        [sys.executable, "-c", PROBE],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    values: dict[str, object] = json.loads(result.stdout)
    return values


def test_defaults_without_any_variable() -> None:
    """No variable set: the defaults of config/settings.py."""
    assert _settings_with() == {
        "ttl": 900,
        "origin": "meterproof.dev/billing-log",
        "binding": False,
        "cache": "/tmp/mp-var-probe/groth16",
    }


@pytest.mark.parametrize("prefix", ["MP_", "VDI_"])
def test_mp_name_and_deprecated_vdi_alias_are_both_honoured(prefix: str) -> None:
    """``MP_<X>`` sets the setting; so does the deprecated ``VDI_<X>``."""
    values = _settings_with(
        **{
            f"{prefix}BILLING_REPLAY_RESERVE_TTL_SEC": "42",
            f"{prefix}BILLING_LOG_ORIGIN": f"{prefix.lower()}example/log",
            f"{prefix}BILLING_INCIRCUIT_BINDING": "true",
            f"{prefix}GROTH16_PROVER_CACHE_DIR": f"/tmp/{prefix}cache",
        }
    )
    assert values == {
        "ttl": 42,
        "origin": f"{prefix.lower()}example/log",
        "binding": True,
        "cache": f"/tmp/{prefix}cache",
    }


def test_mp_name_wins_over_the_vdi_alias() -> None:
    """With both set, the ``MP_`` value is used, for each variable alone."""
    values = _settings_with(
        MP_BILLING_REPLAY_RESERVE_TTL_SEC="7",
        VDI_BILLING_REPLAY_RESERVE_TTL_SEC="8",
        VDI_BILLING_LOG_ORIGIN="vdi.example/log",
        MP_BILLING_INCIRCUIT_BINDING="false",
        VDI_BILLING_INCIRCUIT_BINDING="true",
    )
    assert values["ttl"] == 7
    assert values["origin"] == "vdi.example/log"
    assert values["binding"] is False
