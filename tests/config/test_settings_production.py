"""Production settings (``MP_ENV=production``): ``manage.py check --deploy``
is clean and DEBUG is refused (audit item 23)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kernel.settings import env_name
from tests.support.keys import TestKeys

REPO = Path(__file__).resolve().parents[2]


def _production_env(tmp_path: Path, keys: TestKeys, **extra: str) -> dict[str, str]:
    """A production environment with fresh keys and nothing of the caller's
    Django or meterproof configuration."""
    env = {
        name: value
        for name, value in os.environ.items()
        if not name.startswith(("DJANGO_", "MP_", "VDI_", "CELERY_", "DATABASE_"))
    }
    # The keys as an operator sets them: MP_<X> for the setting VDI_<X>.
    env.update({env_name(k): v for k, v in keys.settings_values().items()})
    env.update(
        {
            "MP_ENV": "production",
            "MP_READ_DOT_ENV": "0",
            "MP_VAR_DIR": str(tmp_path / "var"),
            "DJANGO_SETTINGS_MODULE": "config.settings",
            "DJANGO_SECRET_KEY": "k7$Qw" + os.urandom(32).hex(),
            "DJANGO_ALLOWED_HOSTS": "billing.example.com",
            "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
            "MP_ATTEST_SECRET": os.urandom(16).hex(),
            "CELERY_BROKER_URL": "redis://127.0.0.1:6379/0",
            "MP_GROTH16_PROVER_CACHE_DIR": os.environ.get(
                "MP_GROTH16_PROVER_CACHE_DIR",
                os.environ.get(
                    "VDI_GROTH16_PROVER_CACHE_DIR", str(tmp_path / "groth16")
                ),
            ),
        }
    )
    env.update(extra)
    return env


def _manage(env: dict[str, str], *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=REPO,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )


def test_check_deploy_is_clean_in_production(
    tmp_path: Path, test_keys: TestKeys
) -> None:
    """``check --deploy --fail-level WARNING`` passes: no W004 (HSTS), no W008
    (SSL redirect), no other security warning."""
    result = _manage(
        _production_env(tmp_path, test_keys),
        "check",
        "--deploy",
        "--fail-level",
        "WARNING",
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert "security.W" not in output


def test_proxy_ssl_header_comes_from_the_environment(
    tmp_path: Path, test_keys: TestKeys
) -> None:
    """``DJANGO_SECURE_PROXY_SSL_HEADER`` sets ``SECURE_PROXY_SSL_HEADER``; a
    malformed value refuses to start."""
    code = "from django.conf import settings; print(settings.SECURE_PROXY_SSL_HEADER)"
    env = _production_env(
        tmp_path,
        test_keys,
        DJANGO_SECURE_PROXY_SSL_HEADER="HTTP_X_FORWARDED_PROTO,https",
    )
    result = _manage(env, "shell", "-c", code)
    assert result.returncode == 0, result.stderr
    assert (
        result.stdout.strip().splitlines()[-1] == "('HTTP_X_FORWARDED_PROTO', 'https')"
    )
    env["DJANGO_SECURE_PROXY_SSL_HEADER"] = "X-Forwarded-Proto"
    refused = _manage(env, "check")
    assert refused.returncode != 0
    assert "DJANGO_SECURE_PROXY_SSL_HEADER" in refused.stderr


@pytest.mark.parametrize("value", ["true", "1", "on"])
def test_debug_is_refused_in_production(
    tmp_path: Path, test_keys: TestKeys, value: str
) -> None:
    """``DJANGO_DEBUG=true`` with ``MP_ENV=production`` refuses to start with a
    message naming both settings."""
    result = _manage(_production_env(tmp_path, test_keys, DJANGO_DEBUG=value), "check")
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    assert "DJANGO_DEBUG" in result.stderr and "MP_ENV=production" in result.stderr
