"""``verify_statement`` on a really closed period: valid as issued; a changed
amount, a missing bundle, a foreign bundle (other tenant or period) each fail
their named check; a lying issuer's re-signed statement fails the
recomputation checks."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from billing.models import Tenant
from billing.protocol.contexts import CONTEXT_STATEMENT
from billing.protocol.statement import (
    STATEMENT_CHECKS,
    StatementReport,
    statement_id_for,
    unsigned_statement,
)
from billing.services.statements import statement_close
from kernel.protocol.ed25519 import sign_object
from tests.billing.factories import TenantFactory
from tests.billing.support_statements import (
    CLOSED_AT,
    PERIOD,
    attest_period,
    graduated_tariff,
    graduated_tenant,
    period_inputs,
    verify,
)
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db


def _failed(report: StatementReport) -> dict[str, str | None]:
    return {c.name: c.code for c in report.checks if c.status == "fail"}


@pytest.fixture
def closed(signing_keys: TestKeys) -> tuple[dict[str, Any], list[tuple[str, Any]]]:
    """A closed period of tenant ``acme``: 12 events (quantity 2), as the
    statement file and its bundles."""
    tenant = graduated_tenant()
    attest_period(tenant, 12, quantity=2)
    statement = statement_close(tenant=tenant, period=PERIOD, now=CLOSED_AT)
    return period_inputs(statement)


def _resign(document: dict[str, Any], keys: TestKeys) -> dict[str, Any]:
    """Return ``document`` with its statement signed again by the issuer
    (what a lying issuer could do; the log evidence no longer matches)."""
    statement = document["statement"]
    statement["sig"] = sign_object(
        keys.issuer.signing_key, CONTEXT_STATEMENT, unsigned_statement(statement)
    )
    return document


def test_valid_statement_passes_every_named_check(closed: Any) -> None:
    """Every check of D4 passes, in order, on the statement as issued."""
    document, bundles = closed
    report = verify(document, bundles)
    assert report.ok, report.to_json()
    assert [c.name for c in report.checks] == list(STATEMENT_CHECKS)
    assert report.bundles == {"given": 12, "valid": 12, "invalid": 0, "foreign": 0}
    out = report.to_json()
    assert out["statement_id"] == statement_id_for("acme", PERIOD)
    # 24 units under the graduated tiers: 24 x 3.5 = 84; alone 12 x 7 = 84.
    assert out["amount_minor"] == 84


def test_parallel_jobs_give_the_same_verdict(closed: Any) -> None:
    """A process pool (``jobs=2``) verifies the same bundles alike."""
    document, bundles = closed
    report = verify(document, bundles, jobs=2)
    assert report.ok, report.to_json()
    assert report.bundles["valid"] == 12


def test_changed_bundle_amount_fails_statement_bundles(closed: Any) -> None:
    """A bundle whose charge was edited fails its own verification, named
    by its receipt id."""
    document, bundles = closed
    name, bundle = bundles[3]
    bundle = copy.deepcopy(bundle)
    bundle["attestation"]["charge"]["amount_minor"] += 1
    bundles[3] = (name, bundle)
    report = verify(document, bundles)
    failed = _failed(report)
    assert failed["statement_bundles"] == "statement_bundle_invalid"
    receipt_id = bundle["attestation"]["receipt"]["receipt_id"]
    assert receipt_id in report.checks[3].message  # type: ignore[operator]


def test_changed_statement_amount_fails_the_signature(closed: Any) -> None:
    """Editing the signed statement breaks the issuer signature (and the
    log leaf)."""
    document, bundles = closed
    document["statement"]["lines"][0]["amount_minor"] += 100
    failed = _failed(verify(document, bundles))
    assert failed["statement_signature"] == "signature_invalid"
    assert failed["statement_log"] == "leaf_hash_mismatch"


def test_lying_issuer_line_amount_fails_statement_lines(
    closed: Any, signing_keys: TestKeys
) -> None:
    """A re-signed statement whose line amount is not the period price of
    its quantity fails ``statement_lines`` (``statement_amount_mismatch``);
    it is not the logged one either."""
    document, bundles = closed
    document["statement"]["lines"][0]["amount_minor"] += 100
    document["statement"]["amount_minor"] += 100
    failed = _failed(verify(_resign(document, signing_keys), bundles))
    assert "statement_signature" not in failed
    assert failed["statement_lines"] == "statement_amount_mismatch"
    assert failed["statement_log"] == "leaf_hash_mismatch"
    assert "statement_total" not in failed


def test_lying_issuer_total_fails_statement_total(
    closed: Any, signing_keys: TestKeys
) -> None:
    """A re-signed top-level amount that is not the sum of the lines fails
    ``statement_total``."""
    document, bundles = closed
    document["statement"]["amount_minor"] -= 1
    failed = _failed(verify(_resign(document, signing_keys), bundles))
    assert failed["statement_total"] == "statement_total_mismatch"
    assert "statement_lines" not in failed


def test_missing_bundle_fails_completeness(closed: Any) -> None:
    """Leaving one bundle out fails ``statement_completeness`` with
    ``statement_bundle_missing`` (and the lines no longer add up)."""
    document, bundles = closed
    del bundles[5]
    failed = _failed(verify(document, bundles))
    assert failed["statement_completeness"] == "statement_bundle_missing"
    assert failed["statement_lines"] == "statement_lines_mismatch"
    assert "statement_bundles" not in failed


def test_duplicate_bundle_fails_completeness(closed: Any) -> None:
    """The same bundle given twice fails ``statement_completeness``."""
    document, bundles = closed
    bundles.append(("again.json", bundles[0][1]))
    failed = _failed(verify(document, bundles))
    assert failed["statement_completeness"] == "statement_sequence_duplicate"


def test_bundle_of_another_tenant_is_foreign(closed: Any) -> None:
    """A valid bundle of another tenant fails ``statement_foreign``."""
    document, bundles = closed
    other = TenantFactory(slug="globex", subscribe=graduated_tariff())
    attest_period(other, 1, prefix="other")
    statement = statement_close(tenant=other, period=PERIOD, now=CLOSED_AT)
    _, foreign = period_inputs(statement)
    report = verify(document, [*bundles, *foreign])
    failed = _failed(report)
    assert failed == {"statement_foreign": "statement_bundle_foreign"}
    assert "globex" in report.checks[4].message  # type: ignore[operator]


def test_bundle_of_another_period_is_foreign(
    closed: Any, signing_keys: TestKeys
) -> None:
    """A valid bundle of the same tenant in another period fails
    ``statement_foreign``."""
    document, bundles = closed
    attest_period(Tenant.objects.get(slug="acme"), 1, period="2015-04", prefix="apr")
    statement = statement_close(tenant="acme", period="2015-04", now=CLOSED_AT)
    _, foreign = period_inputs(statement)
    failed = _failed(verify(document, [*bundles, *foreign]))
    assert failed == {"statement_foreign": "statement_bundle_foreign"}


def test_unparseable_statement_reports_only_its_format(closed: Any) -> None:
    """A statement file that does not parse fails ``statement_format`` only;
    no bundle is read."""
    _, bundles = closed
    report = verify({"format": "vdi-billing-statement/1"}, bundles)
    assert [(c.name, c.status) for c in report.checks] == [("statement_format", "fail")]
    assert report.checks[0].code == "statement_format_invalid"
    assert not report.ok


@pytest.mark.parametrize(
    ("path", "value"),
    [
        (("statement", "statement_id"), "stmt_000000000000000000000000"),
        (("statement", "period"), "2015-13"),
        (("statement", "receipts", "root"), "AB" * 32),
        (("statement", "lines"), "none"),
        (("format",), "vdi-billing-statement/2"),
    ],
)
def test_malformed_members_fail_statement_format(
    closed: Any, path: tuple[str, ...], value: Any
) -> None:
    """Each malformed member fails ``statement_format`` naming it."""
    document, bundles = closed
    target = document
    for key in path[:-1]:
        target = target[key]
    target[path[-1]] = value
    report = verify(document, bundles)
    assert report.checks[0].code == "statement_format_invalid"
    assert not report.ok


def test_bytes_input_is_read_strictly(closed: Any) -> None:
    """The statement file's bytes go through the strict I-JSON reader: a
    duplicate member fails ``statement_format`` with its code."""
    document, bundles = closed
    text = json.dumps(document)
    text = text.replace('"format": ', '"format": "x", "format": ', 1)
    report = verify(text.encode(), bundles)  # type: ignore[arg-type]
    assert report.checks[0].code == "duplicate_member"


def test_statement_without_log_evidence_fails_statement_log(closed: Any) -> None:
    """The log evidence is required: without it ``statement_log`` fails."""
    document, bundles = closed
    del document["log"]
    failed = _failed(verify(document, bundles))
    assert failed == {"statement_log": "log_evidence_missing"}


def test_issued_statement_numbers_every_bundle(closed: Any) -> None:
    """The period's bundles are vdi-billing/3, numbered 1..N in the export's
    file order; none is unsequenced."""
    document, bundles = closed
    statement = document["statement"]
    assert statement["receipts"]["count"] == 12
    assert statement["unsequenced"] == []
    numbers = [b["attestation"]["sequence"]["number"] for _, b in bundles]
    assert numbers == list(range(1, 13))
    assert [name[:12] for name, _ in bundles] == [f"{n:012d}" for n in numbers]


def test_missing_number_is_named(closed: Any) -> None:
    """The message names the missing sequence number."""
    document, bundles = closed
    del bundles[6]
    report = verify(document, bundles)
    check = next(c for c in report.checks if c.name == "statement_completeness")
    assert check.code == "statement_bundle_missing"
    assert "1 of the numbers 1..12 have no bundle: 7" in (check.message or "")


def test_bundles_in_any_order_verify(closed: Any) -> None:
    """Bundles given out of number order (a directory sorted by receipt id)
    give the same root."""
    document, bundles = closed
    report = verify(document, list(reversed(bundles)))
    assert report.ok, report.to_json()


def test_lying_issuer_root_fails_completeness(
    closed: Any, signing_keys: TestKeys
) -> None:
    """A re-signed statement with another receipts root (or count) fails
    ``statement_completeness``."""
    document, bundles = closed
    document["statement"]["receipts"]["root"] = "00" * 32
    failed = _failed(verify(_resign(document, signing_keys), bundles))
    assert failed["statement_completeness"] == "statement_root_mismatch"


def test_lying_issuer_smaller_count_fails_completeness(
    closed: Any, signing_keys: TestKeys
) -> None:
    """A statement that hides the last bundle (count N - 1) meets a bundle
    numbered above its count: ``statement_sequence_out_of_range``."""
    document, bundles = closed
    document["statement"]["receipts"]["count"] = 11
    failed = _failed(verify(_resign(document, signing_keys), bundles))
    assert failed["statement_completeness"] == "statement_sequence_out_of_range"
