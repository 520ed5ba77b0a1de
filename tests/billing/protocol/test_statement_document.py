"""The ``vdi-billing-statement/1`` document without a database: the id, the
receipts root against RFC 9162 MTH, period pricing, build/parse round trips
and the format rules."""

from __future__ import annotations

import copy
import hashlib
import json
import subprocess
import sys
from datetime import UTC, datetime
from typing import Any

import pytest

from billing.protocol.contexts import CONTEXT_STATEMENT
from billing.protocol.statement import (
    EMPTY_RECEIPTS_ROOT,
    ReceiptsRoot,
    StatementFile,
    StatementFormatError,
    build_statement,
    build_statement_file,
    period_lines,
    statement_id_for,
    statement_leaf_hash,
    unsigned_statement,
)
from billing.protocol.tariff import TariffDocument
from kernel.protocol.ed25519 import KeyPair, verify_object
from tests.support.cli import REPO, cli_env
from transparency.protocol.merkle import leaf_hash, root_hash

GRADUATED = {
    "tariff_id": "api-requests-graduated",
    "version": 1,
    "currency": "USD",
    "metric": "api_requests",
    "pricing": {
        "model": "tiered_graduated",
        "tiers": [
            {"up_to": 1000, "unit_amount_decimal": "3.5", "flat_amount": 0},
            {"up_to": 4000, "unit_amount_decimal": "1.25", "flat_amount": 500},
            {"up_to": None, "unit_amount_decimal": "0.3333333", "flat_amount": 0},
        ],
    },
    "rounding": "half_even",
    "effective_from": "2015-01-01T00:00:00Z",
    "effective_to": None,
}


def test_statement_id_vector() -> None:
    """``stmt_`` + 24 hex of SHA-256 of the JCS array (ASCII members: JCS is
    the compact JSON text)."""
    text = json.dumps(["statement", "acme", "2015-05"], separators=(",", ":"))
    expected = "stmt_" + hashlib.sha256(text.encode()).hexdigest()[:24]
    assert statement_id_for("acme", "2015-05") == expected


@pytest.mark.parametrize("count", [0, 1, 2, 3, 5, 8, 13, 64, 100])
def test_receipts_root_is_the_rfc9162_mth(count: int) -> None:
    """The streaming root equals MTH over the entries D[i] = the bundles'
    32-byte leaf hashes (leaves SHA-256(0x00 || D[i])); empty: SHA-256("")."""
    hashes = [hashlib.sha256(str(i).encode()).digest() for i in range(count)]
    root = ReceiptsRoot()
    root.extend(hashes)
    assert root.count == count
    assert root.root() == root_hash([leaf_hash(h) for h in hashes])
    if count == 0:
        assert root.root() == EMPTY_RECEIPTS_ROOT == hashlib.sha256(b"").digest()


def test_period_price_of_the_issue_example() -> None:
    """5,000 units under the issue's tiers: 3,500 + 3,750 + 500 + 333.33...
    = 8,083 after one half-even rounding."""
    tariff = TariffDocument.from_json(GRADUATED)
    (line,) = period_lines([(tariff, 5000, 5000, 20000)])
    assert (line.amount_minor, line.events_amount_minor) == (8083, 20000)
    assert line.tariff_hash == tariff.tariff_hash


def test_lines_are_sorted_by_metric_then_tariff_hash() -> None:
    """Lines come out sorted by ``(metric, tariff_hash)``."""
    other = TariffDocument.from_json({**GRADUATED, "metric": "a_metric"})
    tariff = TariffDocument.from_json(GRADUATED)
    lines = period_lines([(tariff, 1, 1, 4), (other, 1, 1, 4)])
    assert [line.metric for line in lines] == ["a_metric", "api_requests"]


@pytest.fixture
def issuer() -> KeyPair:
    """A fresh issuer key."""
    return KeyPair.generate()


def _statement(issuer: KeyPair) -> dict[str, Any]:
    tariff = TariffDocument.from_json(GRADUATED)
    root = ReceiptsRoot()
    root.extend([bytes(32), bytes([1]) * 32])
    return build_statement(
        tenant="acme",
        period="2015-05",
        currency="USD",
        closed_at=datetime(2015, 7, 1, tzinfo=UTC),
        issuer=issuer,
        lines=period_lines([(tariff, 2, 2, 8)]),
        receipts_count=2,
        receipts_root=root.root(),
        unsequenced=[("rcpt_b", "cd" * 32), ("rcpt_a", "ab" * 32)],
    )


def test_build_signs_and_parses_back(issuer: KeyPair) -> None:
    """A built statement verifies under ``meterproof/statement/v1``, sums
    its lines and parses back member for member."""
    statement = _statement(issuer)
    verify_object(
        issuer.verify_key,
        CONTEXT_STATEMENT,
        unsigned_statement(statement),
        statement["sig"],
    )
    assert statement["amount_minor"] == statement["lines"][0]["amount_minor"] == 7
    assert [u["receipt_id"] for u in statement["unsequenced"]] == ["rcpt_a", "rcpt_b"]
    parsed = StatementFile.from_json(build_statement_file(statement, None))
    assert parsed.statement is statement and parsed.log is None
    assert parsed.statement_id == statement_id_for("acme", "2015-05")
    assert [line.to_json() for line in parsed.lines] == statement["lines"]
    assert parsed.receipts_count == 2 and parsed.kid == issuer.kid
    assert len(statement_leaf_hash(statement)) == 32


@pytest.mark.parametrize(
    ("change", "field"),
    [
        (lambda s: s["lines"].append(copy.deepcopy(s["lines"][0])), "statement.lines"),
        (
            lambda s: s["unsequenced"].reverse(),
            "statement.unsequenced",
        ),
        (
            lambda s: s["credit_notes"].append(
                {"credit_note_id": "cn_1", "leaf_hash": "00" * 32, "amount_minor": 5}
            ),
            "statement.credit_notes[0]",
        ),
        (lambda s: s.update(extra=1), "statement.extra"),
        (lambda s: s.pop("receipts"), "statement.receipts"),
        (lambda s: s.update(amount_minor=1.5), "statement.amount_minor"),
        (lambda s: s.update(amount_minor=True), "statement.amount_minor"),
        (lambda s: s["receipts"].update(count=-1), "statement.receipts.count"),
        (lambda s: s.update(closed_at="2015-07-01"), "statement.closed_at"),
        (lambda s: s.update(tenant="other"), "statement.statement_id"),
    ],
)
def test_format_rules(issuer: KeyPair, change: Any, field: str) -> None:
    """Each broken rule raises ``statement_format_invalid`` naming the
    member."""
    statement = _statement(issuer)
    change(statement)
    with pytest.raises(StatementFormatError) as caught:
        StatementFile.from_json(
            {"format": "vdi-billing-statement/1", "statement": statement}
        )
    assert caught.value.code == "statement_format_invalid"
    assert caught.value.field == field


def test_statement_package_imports_without_django() -> None:
    """The statement protocol package loads no Django (CONVENTIONS.md §3)."""
    code = (
        "import sys, billing.protocol.statement\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        cwd=REPO,
        env=cli_env(),
        check=True,
        timeout=60,
    )
    assert done.stdout.strip() == "[]"
