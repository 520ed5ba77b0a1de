"""Issue 12's first done-when, with the documented commands only: import the
graduated tariff file, create a tenant subscribed to it, import the first
5,000 lines of the bundled access log into it, close the period, export, and
``meterproof verify-statement`` passes; a changed amount (in the statement,
in one bundle), a missing bundle and a foreign bundle (of another tenant, of
another period) each exit 1 and name their check.

The imports run with ``--no-proofs`` (no Groth16 proof per event: the
statement's bundles verify under the standard profile, which does not need
one), so the path takes seconds, not minutes. The verifier runs as users
run it, in a separate process without the server's settings (as ``make
demo`` does), on the export and on each tampered copy, all in parallel.
"""

from __future__ import annotations

import json
import subprocess
import sys
from decimal import ROUND_HALF_EVEN, Decimal
from io import StringIO
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.management import call_command

from tests.support.cli import REPO, cli_env
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db

BASE = Path(settings.BASE_DIR)
#: The bundled Apache log (10,000 lines, all in May 2015 UTC).
LOG = BASE / "data" / "access-logs" / "apache_logs"
#: Issue 12's graduated example, effective from 2015-01-01.
TARIFF_FILE = BASE / "docs" / "examples" / "tariffs" / "monthly_graduated.json"
TENANT = "shop"
PERIOD = "2015-05"
LINES = 5000


def _run(name: str, *args: str) -> str:
    """Run ``manage.py name *args``; return what it printed on stdout."""
    out = StringIO()
    call_command(name, *args, stdout=out, stderr=StringIO())
    return out.getvalue()


def _import(log: Path, tenant: str) -> dict[str, Any]:
    """``import_access_log LOG --tenant-by none --tenant T --no-proofs``;
    return its JSON summary."""
    summary: dict[str, Any] = json.loads(
        _run(
            "import_access_log",
            str(log),
            "--tenant-by",
            "none",
            "--tenant",
            tenant,
            "--no-proofs",
            "--json",
        )
    )
    return summary


def _graduated_price(tiers: list[dict[str, Any]], quantity: int) -> int:
    """Return the period price in integer minor units, by hand: each tier
    prices the units that fall in it at its ``unit_amount_decimal`` (minor
    units) and adds its ``flat_amount`` once any unit falls in it (Stripe's
    graduated tiers); the sum is rounded once, half to even."""
    total = Decimal(0)
    lower = 0
    for tier in tiers:
        upper = quantity if tier["up_to"] is None else min(quantity, tier["up_to"])
        if upper <= lower:
            break
        total += (upper - lower) * Decimal(tier["unit_amount_decimal"])
        total += tier["flat_amount"]
        lower = upper
    return int(total.quantize(Decimal(1), rounding=ROUND_HALF_EVEN))


def _exported_bundle(out: Path, tenant: str, period: str) -> str:
    """``export_bundles --tenant T --period P --out OUT``; return the text of
    its first bundle file."""
    _run("export_bundles", "--tenant", tenant, "--period", period, "--out", str(out))
    return sorted((out / "bundles").iterdir())[0].read_text()


def _start(statement: Path, bundles: Path, trust: Path) -> subprocess.Popen[str]:
    """Start ``meterproof verify-statement STATEMENT --bundles BUNDLES
    --trust TRUST --json`` in its own process (as users run it, without the
    server's settings)."""
    return subprocess.Popen(
        [
            sys.executable,
            "-m",
            "billing.protocol",
            "verify-statement",
            str(statement),
            "--bundles",
            str(bundles),
            "--trust",
            str(trust),
            "--json",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=REPO,
        env=cli_env(),
    )


def _finish(proc: subprocess.Popen[str]) -> tuple[int, dict[str, dict[str, Any]]]:
    """Wait for a :func:`_start`-ed verifier (at most 300 s); return its exit
    code and its failed checks by name."""
    stdout, stderr = proc.communicate(timeout=300)
    assert proc.returncode in (0, 1), stderr
    report = json.loads(stdout)
    return proc.returncode, {c["name"]: c for c in report["checks"] if not c["ok"]}


def test_documented_path_verifies_and_tampering_fails(
    signing_keys: TestKeys, tmp_path: Path
) -> None:
    """The statement of 5,000 imported log lines verifies offline (exit 0)
    with the total priced once over the period (8,083 minor units, not
    5,000 x 4); a changed amount, a missing bundle and a foreign bundle each
    exit 1 naming their check."""
    published = json.loads(_run("tariff_import", str(TARIFF_FILE), "--publish"))
    assert published["status"] == "published"
    tariff_id = published["tariff_id"]
    _run("tenant_create", TENANT, "--subscribe", tariff_id)
    log = tmp_path / "access-5000.log"
    log.write_text("".join(LOG.read_text().splitlines(keepends=True)[:LINES]))

    summary = _import(log, TENANT)
    # Every line is well formed and in one billing period (UTC May 2015).
    assert summary["attested"] == LINES and summary["rejected"] == []
    assert summary["periods"] == {PERIOD: LINES}

    closed = tmp_path / "closed.json"
    printed = _run(
        "statement_close", "--tenant", TENANT, "--period", PERIOD, "--out", str(closed)
    )
    audit = tmp_path / "audit"
    _run("export_bundles", "--tenant", TENANT, "--period", PERIOD, "--out", str(audit))
    statement_path = audit / "statement.json"
    document = json.loads(statement_path.read_text())
    assert document == json.loads(closed.read_text())
    statement = document["statement"]
    assert statement["statement_id"] in printed

    # The total is the period price of the attested quantity, computed here
    # from the tariff file's tiers and the exported bundles.
    bundle_paths = sorted((audit / "bundles").iterdir())
    charges = [json.loads(p.read_text())["attestation"]["charge"] for p in bundle_paths]
    quantity = sum(c["quantity"] for c in charges)
    assert len(bundle_paths) == quantity == LINES
    tiers = json.loads(TARIFF_FILE.read_text())["pricing"]["tiers"]
    expected = _graduated_price(tiers, quantity)
    assert expected == 8083  # the example
    assert statement["amount_minor"] == expected
    [line] = statement["lines"]
    assert (line["tariff_id"], line["quantity"], line["amount_minor"]) == (
        tariff_id,
        LINES,
        expected,
    )
    assert line["events_amount_minor"] == sum(c["amount_minor"] for c in charges)
    assert statement["receipts"]["count"] == LINES

    # The tampered copies: the statement with a changed amount (line and
    # total kept consistent), and the bundles as .jsonl files (one bundle a
    # line, which --bundles also takes) with one amount changed, one bundle
    # left out, and one foreign bundle added: of another tenant (same
    # tariff, same period) and of another period of the same tenant (a
    # line moved to April).
    forged = json.loads(statement_path.read_text())
    forged["statement"]["lines"][0]["amount_minor"] -= 100
    forged["statement"]["amount_minor"] -= 100
    forged_path = tmp_path / "forged.json"
    forged_path.write_text(json.dumps(forged))
    texts = [p.read_text() for p in bundle_paths]
    changed = json.loads(texts[0])
    changed["attestation"]["charge"]["amount_minor"] += 1
    _run("tenant_create", "other", "--subscribe", tariff_id)
    other_log = tmp_path / "other.log"
    other_log.write_text("".join(log.read_text().splitlines(keepends=True)[:3]))
    assert _import(other_log, "other")["periods"] == {PERIOD: 3}
    april_log = tmp_path / "april.log"
    april_log.write_text(log.read_text().split("\n")[0].replace("/May/", "/Apr/"))
    assert _import(april_log, TENANT)["periods"] == {"2015-04": 1}
    foreign = {
        name: _exported_bundle(tmp_path / f"foreign-{name}", tenant, period)
        for name, tenant, period in (
            ("tenant", "other", PERIOD),
            ("period", TENANT, "2015-04"),
        )
    }
    jsonl = {
        "changed": [json.dumps(changed) + "\n", *texts[1:]],
        "missing": texts[:1234] + texts[1235:],
        "foreign-tenant": [*texts, foreign["tenant"]],
        "foreign-period": [*texts, foreign["period"]],
    }
    cases = {
        "export": (statement_path, audit / "bundles"),
        "statement": (forged_path, audit / "bundles"),
    }
    for case, lines in jsonl.items():
        path = tmp_path / f"{case}.jsonl"
        path.write_text("".join(lines))
        cases[case] = (statement_path, path)
    # The export and each copy in its own verifier process, all at once (the
    # bundles' checks, ~2 ms each, are what takes time).
    running = {
        case: _start(statement, bundles, audit / "trust.json")
        for case, (statement, bundles) in cases.items()
    }
    results = {case: _finish(proc) for case, proc in running.items()}
    assert {case: code for case, (code, _) in results.items()} == {
        **dict.fromkeys(cases, 1),
        "export": 0,
    }
    failed = {case: checks for case, (_, checks) in results.items()}
    assert failed["export"] == {}

    # A changed amount in the statement: its signature, and the period price
    # of the bundles' quantity.
    assert failed["statement"]["statement_signature"]["code"] == "signature_invalid"
    assert failed["statement"]["statement_lines"]["code"] == "statement_amount_mismatch"
    # A changed amount in one bundle: that bundle fails (named by its receipt
    # id), so the statement's number 1 and quantity are not covered.
    assert set(failed["changed"]) == {
        "statement_bundles",
        "statement_completeness",
        "statement_lines",
    }
    bundles_check = failed["changed"]["statement_bundles"]
    assert bundles_check["code"] == "statement_bundle_invalid"
    assert changed["attestation"]["receipt"]["receipt_id"] in bundles_check["message"]
    # A missing bundle (number 1235).
    completeness = failed["missing"]["statement_completeness"]
    assert completeness["code"] == "statement_bundle_missing"
    assert "1235" in completeness["message"]
    # A foreign bundle, of another tenant or of another period.
    for case, reason in (
        ("foreign-tenant", "tenant 'other'"),
        ("foreign-period", "period '2015-04'"),
    ):
        assert set(failed[case]) == {"statement_foreign"}, case
        check = failed[case]["statement_foreign"]
        assert check["code"] == "statement_bundle_foreign"
        assert reason in check["message"]
