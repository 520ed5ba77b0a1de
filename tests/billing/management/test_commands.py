"""Management commands and configuration: keys, export for auditors, checks,
production settings."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.checks import check_signing_keys
from billing.services.attest import meter_events_attest
from kernel.protocol.ed25519 import key_id, signing_key_from_pem
from tests.billing.support import TenantSetup, make_event
from tests.support.cli import meterproof


def _read_env_text(text: str) -> dict[str, str]:
    values = {}
    for line in text.splitlines():
        if "=" in line and not line.startswith("#"):
            name, value = line.split("=", 1)
            values[name] = value.strip('"').strip("'")
    return values


def _read_env(path: Path) -> dict[str, str]:
    return _read_env_text(path.read_text())


def test_billing_keys_writes_consistent_keys(tmp_path: Path) -> None:
    """Every role gets a key; each kid is the RFC 7638 thumbprint of its key;
    the file is private (0600) and unrelated lines are kept."""
    env = tmp_path / ".env"
    env.write_text("KEEP_ME=1\n")
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    values = _read_env(env)
    assert values["KEEP_ME"] == "1"
    meter = signing_key_from_pem(values["MP_BILLING_METER_PRIVATE_KEY_PEM"])
    log = signing_key_from_pem(values["MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM"])
    assert values["MP_BILLING_METER_KID"] == key_id(meter.verify_key)
    assert values["MP_BILLING_LOG_OPERATOR_KID"] == key_id(log.verify_key)
    assert len(values["MP_SIGNING_KEY"]) == 64
    # Only MP_ names are written (VDI_ is the deprecated alias).
    assert not [name for name in values if name.startswith("VDI_")]
    # The manifest authority signs offline; no development authority key.
    assert "MP_MANIFEST_AUTHORITY_SIGNING_KEY" not in values
    assert oct(env.stat().st_mode & 0o777) == "0o600"


def test_billing_keys_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    """A second run fails; --if-missing is a no-op; --force rotates every key."""
    env = tmp_path / ".env"
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    before = _read_env(env)
    with pytest.raises(CommandError, match="--force"):
        call_command("billing_keys", env_file=str(env), stdout=StringIO())
    call_command("billing_keys", env_file=str(env), if_missing=True, stdout=StringIO())
    assert _read_env(env) == before
    call_command("billing_keys", env_file=str(env), force=True, stdout=StringIO())
    after = _read_env(env)
    assert all(after[name] != before[name] for name in before if name.startswith("MP_"))
    assert after["DJANGO_SECRET_KEY"] == before["DJANGO_SECRET_KEY"]


def test_billing_keys_reads_an_older_vdi_env_file(tmp_path: Path) -> None:
    """A .env an older version wrote with ``VDI_`` names counts as keys
    present (``--if-missing`` leaves it alone); a rotation rewrites the
    rotated variables under ``MP_`` names and drops their ``VDI_`` lines."""
    env = tmp_path / ".env"
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    old = env.read_text().replace("MP_", "VDI_")
    env.write_text(old)
    with pytest.raises(CommandError, match="--force"):
        call_command("billing_keys", env_file=str(env), stdout=StringIO())
    call_command("billing_keys", env_file=str(env), if_missing=True, stdout=StringIO())
    assert env.read_text() == old
    call_command(
        "billing_keys", "rotate", role="meter", env_file=str(env), stdout=StringIO()
    )
    values = _read_env(env)
    assert "VDI_BILLING_METER_PRIVATE_KEY_PEM" not in values
    assert "VDI_BILLING_METER_KID" not in values
    meter = signing_key_from_pem(values["MP_BILLING_METER_PRIVATE_KEY_PEM"])
    assert values["MP_BILLING_METER_KID"] == key_id(meter.verify_key)
    retired = json.loads(values["MP_BILLING_RETIRED_KEYS"])
    old_pem = _read_env_text(old)["VDI_BILLING_METER_PRIVATE_KEY_PEM"]
    old_kid = key_id(signing_key_from_pem(old_pem).verify_key)
    assert [entry["kid"] for entry in retired] == [old_kid]
    # Untouched variables keep their (deprecated, still honoured) names.
    assert values["VDI_SIGNING_KEY"] == _read_env_text(old)["VDI_SIGNING_KEY"]


@pytest.mark.django_db
def test_export_then_offline_verify_with_nothing_else(
    tenant_setup: TenantSetup, tmp_path: Path
) -> None:
    """An auditor verifies exported bundles in a separate process that has no
    Django settings and no database: exit 0, and 1 once a file is altered."""
    meter_events_attest(
        payloads=[make_event(event_id=f"x{i}") for i in range(5)],
        tenant=tenant_setup.tenant,
    )
    out = tmp_path / "audit"
    call_command("export_bundles", out=str(out), tenant="acme", stdout=StringIO())
    files = sorted((out / "bundles").glob("*.json"))
    assert len(files) == 5
    argv = ["verify", str(out / "bundles"), "--trust", str(out / "trust.json")]
    ok = meterproof(*argv, "--compact")
    assert ok.returncode == 0, ok.stderr
    assert json.loads(ok.stdout)["valid"] == 5
    bundle = json.loads(files[2].read_text())
    bundle["attestation"]["meter_envelope"]["event"]["quantity"] += 1
    files[2].write_text(json.dumps(bundle))
    bad = meterproof(*argv, "--compact")
    assert bad.returncode == 1
    report = json.loads(bad.stdout)
    assert report["invalid"] == 1 and "meter_signature" in report["failed_checks"]


@pytest.mark.django_db
def test_export_filters_by_window(tenant_setup: TenantSetup, tmp_path: Path) -> None:
    """--window exports only that billing month."""
    meter_events_attest(
        payloads=[make_event(event_id="now")], tenant=tenant_setup.tenant
    )
    call_command(
        "export_bundles", out=str(tmp_path), window="1999-01", stdout=StringIO()
    )
    assert list((tmp_path / "bundles").glob("*.json")) == []


def test_check_warns_without_keys_in_development(settings: Any) -> None:
    """Missing keys are a warning (billing.W001) in development, an error
    (billing.E001) in production, and nothing once keys are set."""
    settings.VDI_SIGNING_KEY = ""
    assert [m.id for m in check_signing_keys()] == ["billing.W001"]
    settings.PRODUCTION = True
    assert [m.id for m in check_signing_keys()] == ["billing.E001"]


def test_check_passes_with_keys(signing_keys: Any) -> None:
    """Configured keys produce no message."""
    assert check_signing_keys() == []


def test_check_catches_a_kid_that_is_not_the_thumbprint(
    signing_keys: Any, settings: Any
) -> None:
    """A configured kid that does not match its key is reported."""
    settings.VDI_BILLING_METER_KID = "not-the-thumbprint"
    messages = check_signing_keys()
    assert [m.id for m in messages] == ["billing.W001"] and "thumbprint" in messages[
        0
    ].msg


def _settings_in_subprocess(env: dict[str, str]) -> subprocess.CompletedProcess[str]:
    base = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("DJANGO", "DATABASE", "VDI_", "MP_", "CELERY"))
    }
    return subprocess.run(
        [sys.executable, "-c", "import config.settings"],
        capture_output=True,
        text=True,
        # MP_VAR_DIR: the test run's own (temp) one, never the checkout's var/.
        env={
            **base,
            "MP_READ_DOT_ENV": "0",
            "MP_VAR_DIR": str(settings.VAR_DIR),
            **env,
        },
        cwd=settings.BASE_DIR,
        check=False,
    )


def test_production_refuses_to_start_without_secrets() -> None:
    """MP_ENV=production with no secrets raises ImproperlyConfigured naming them."""
    result = _settings_in_subprocess({"MP_ENV": "production"})
    assert result.returncode != 0
    assert "ImproperlyConfigured" in result.stderr
    for name in (
        "DJANGO_SECRET_KEY",
        "DATABASE_URL",
        "MP_SIGNING_KEY",
        "CELERY_BROKER_URL",
    ):
        assert name in result.stderr


def test_production_starts_with_its_secrets(tmp_path: Path) -> None:
    """With every secret set, production settings load."""
    env = tmp_path / ".env"
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    values = _read_env(env)
    values.update(
        MP_ENV="production",
        DJANGO_ALLOWED_HOSTS="billing.example",
        DATABASE_URL="postgres://u:p@db/meterproof",
        MP_ATTEST_SECRET="x" * 32,
        CELERY_BROKER_URL="redis://redis:6379/0",
    )
    result = _settings_in_subprocess(values)
    assert result.returncode == 0, result.stderr


def test_celery_default_broker_needs_no_server() -> None:
    """The development broker is in-memory and tasks run eagerly."""
    from config.celery import app

    assert settings.CELERY_BROKER_URL == "memory://"
    assert app.conf.broker_url == "memory://"
    assert "billing-reclaim-expired-reservations" in app.conf.beat_schedule


@pytest.mark.django_db
def test_reclaim_task_runs_through_celery(tenant_setup: TenantSetup) -> None:
    """The beat task calls the reclaim service (eager broker in development)."""
    from datetime import timedelta

    from django.utils import timezone

    from billing.models import ReplayReservation
    from billing.tasks import reservations_reclaim_expired_task

    ReplayReservation.objects.create(
        tenant=tenant_setup.tenant,
        event_id="crashed",
        window="2026-11",
        meter_hash="0" * 64,
        expires_at=timezone.now() - timedelta(seconds=1),
    )
    assert reservations_reclaim_expired_task.delay().get() == 1
    assert not ReplayReservation.objects.exists()


@pytest.mark.django_db
def test_export_refuses_a_used_folder_unless_clean(
    tenant_setup: TenantSetup, tmp_path: Path
) -> None:
    """A second export into a used folder would leave stale bundles beside the
    new ones (and the auditor would verify them): it is refused unless
    --clean, which replaces bundles/ and trust.json and keeps other files."""
    meter_events_attest(
        payloads=[make_event(event_id="e1")], tenant=tenant_setup.tenant
    )
    out = tmp_path / "audit"
    call_command("export_bundles", out=str(out), stdout=StringIO())
    stale = out / "bundles" / "rcpt_stale.json"
    stale.write_text("{}")
    (out / "revocation.json").write_text("{}")
    with pytest.raises(CommandError, match="--clean"):
        call_command("export_bundles", out=str(out), stdout=StringIO())
    assert stale.exists()
    call_command("export_bundles", out=str(out), clean=True, stdout=StringIO())
    assert not stale.exists()
    assert len(list((out / "bundles").glob("*.json"))) == 1
    assert (out / "trust.json").exists() and (out / "revocation.json").exists()


@pytest.mark.django_db
@pytest.mark.parametrize("window", ["2026-13", "2026-00", "2026-1", "26-01", "x"])
def test_export_refuses_a_malformed_window(
    tenant_setup: TenantSetup, tmp_path: Path, window: str
) -> None:
    """--window is a billing month YYYY-MM, parsed like a meter event's; a
    wrong one is a clear error and nothing is written."""
    with pytest.raises(CommandError, match="YYYY-MM"):
        call_command(
            "export_bundles", out=str(tmp_path / "x"), window=window, stdout=StringIO()
        )
    assert not (tmp_path / "x").exists()


def test_audit_folder_of_the_readme_is_git_ignored() -> None:
    """The README exports into audit/ and audit-strict/: they must never be
    committed by mistake."""
    ignored = (Path(settings.BASE_DIR) / ".gitignore").read_text().splitlines()
    assert {"/audit/", "/audit-strict/"} <= set(ignored)


@pytest.mark.django_db
def test_trust_json_after_billing_keys_lists_only_the_release_authority(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Development keys never become trust anchors: after billing_keys (as in
    make demo) the published trust.json lists exactly the manifest authority
    of the shipped signed manifest, even with an authority signing key set
    (that key is for signing offline, never a second trusted authority)."""
    import environ
    from rest_framework.test import APIClient

    from circuits.protocol.manifest import authority_keys_from_json

    env = tmp_path / ".env"
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    parsed: dict[str, str] = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", parsed)
    environ.Env.read_env(str(env), overwrite=True)
    for name in (
        "SIGNING_KEY",
        "BILLING_METER_PRIVATE_KEY_PEM",
        "BILLING_METER_KID",
        "BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM",
        "BILLING_LOG_OPERATOR_KID",
        "MANIFEST_AUTHORITY_SIGNING_KEY",
    ):
        setattr(settings, f"VDI_{name}", parsed.get(f"MP_{name}", ""))
    assert "MP_MANIFEST_AUTHORITY_SIGNING_KEY" not in parsed
    shipped = Path(settings.BASE_DIR) / "circuits/apiBillingV2/manifest_authority.json"
    expected = set(authority_keys_from_json(json.loads(shipped.read_text())))

    def authorities() -> set[str]:
        body = APIClient().get("/.well-known/vdi-billing-trust.json").json()
        return {k["kid"] for k in body["keys"] if k["role"] == "manifest_authority"}

    assert authorities() == expected
    # An authority signing key in the environment (an operator about to run
    # `artifacts sign`) is still not published beside the release's key.
    settings.VDI_MANIFEST_AUTHORITY_SIGNING_KEY = "42" * 32
    assert authorities() == expected
