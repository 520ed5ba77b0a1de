"""``export_bundles --tenant --period --jsonl``: one ``bundles.jsonl`` in
number order, the same bundles as the file export, verified by
``meterproof verify-statement --bundles DIR/bundles.jsonl``."""

from __future__ import annotations

import json
from io import StringIO
from pathlib import Path

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from tests.billing.support_statements import PERIOD, attest_period, graduated_tenant
from tests.support.cli import meterproof
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db


def _export(out: Path, *, jsonl: bool) -> str:
    printed = StringIO()
    call_command(
        "export_bundles",
        out=str(out),
        tenant="acme",
        period=PERIOD,
        jsonl=jsonl,
        stdout=printed,
    )
    return printed.getvalue()


def test_jsonl_export_holds_the_file_export_in_number_order(
    signing_keys: TestKeys, tmp_path: Path
) -> None:
    """The lines are the exported files' contents, in file-name (number)
    order; no ``bundles/`` folder is written; the statement verifies from
    the ``.jsonl`` (exit 0, every bundle valid)."""
    attest_period(graduated_tenant(), 7)
    call_command("statement_close", tenant="acme", period=PERIOD, stdout=StringIO())
    files, lines = tmp_path / "files", tmp_path / "lines"
    _export(files, jsonl=False)
    printed = _export(lines, jsonl=True)
    assert "exported 7 bundles to" in printed and "bundles.jsonl" in printed
    assert not (lines / "bundles").exists()
    expected = "".join(p.read_text() for p in sorted((files / "bundles").iterdir()))
    assert (lines / "bundles.jsonl").read_text() == expected
    numbers = [
        json.loads(line)["attestation"]["sequence"]["number"]
        for line in expected.splitlines()
    ]
    assert numbers == list(range(1, 8))
    done = meterproof(
        "verify-statement",
        str(lines / "statement.json"),
        "--bundles",
        str(lines / "bundles.jsonl"),
        "--trust",
        str(lines / "trust.json"),
        "--json",
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(done.stdout)["bundles"]["valid"] == 7


def test_jsonl_needs_period(signing_keys: TestKeys, tmp_path: Path) -> None:
    """``--jsonl`` without ``--period`` is refused and writes nothing."""
    with pytest.raises(CommandError, match="--jsonl needs --period"):
        call_command("export_bundles", out=str(tmp_path / "x"), jsonl=True)
    assert not (tmp_path / "x").exists()


def test_clean_replaces_an_earlier_jsonl(
    signing_keys: TestKeys, tmp_path: Path
) -> None:
    """``--clean`` removes an earlier ``bundles.jsonl`` before writing."""
    attest_period(graduated_tenant(), 2)
    out = tmp_path / "audit"
    _export(out, jsonl=True)
    (out / "bundles.jsonl").write_text("stale\n")
    call_command(
        "export_bundles",
        out=str(out),
        tenant="acme",
        period=PERIOD,
        jsonl=True,
        clean=True,
        stdout=StringIO(),
    )
    assert "stale" not in (out / "bundles.jsonl").read_text()
    assert len((out / "bundles.jsonl").read_text().splitlines()) == 2
