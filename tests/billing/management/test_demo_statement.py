"""``make demo``'s last steps (``manage.py demo``, steps 7-10): the documented
path to a verified statement, idempotent. Run here on 40 lines of the
bundled log (the demo takes 5,000; the whole path with 5,000 lines is
tests/billing/management/test_statement_path.py)."""

from __future__ import annotations

from io import StringIO
from pathlib import Path

import pytest
from django.conf import settings

from billing.management.commands.demo import STATEMENT_TENANT, Command
from billing.models import Statement
from tests.support.keys import TestKeys

pytestmark = pytest.mark.django_db

LOG = Path(settings.BASE_DIR) / "data" / "access-logs" / "apache_logs"


def test_statement_steps_verify_and_rerun(
    signing_keys: TestKeys, tmp_path: Path
) -> None:
    """The first run closes 2015-05, exports and verifies the statement (exit
    0) and sees the tampered copy fail (exit 1, ``statement_lines``); the
    second finds the period closed, re-exports and verifies the same
    statement, attesting nothing new."""
    lines = LOG.read_text().splitlines()[:40]
    out = StringIO()
    command = Command(stdout=out)
    first = command.statement_steps(tmp_path, lines)
    assert first.ok and first.closed_now
    assert first.summary["attested"] == 40 and first.summary["periods"] == {
        "2015-05": 40
    }
    assert first.statement is not None and first.export is not None
    assert first.code == 0 and first.report["ok"]
    assert first.t_code == 1 and "statement_lines" in first.t_failed
    # graduated tiers: the first 1,000 units at 3.5 minor units each
    assert first.statement["amount_minor"] == 140
    stored = Statement.objects.get(tenant__slug=STATEMENT_TENANT, period="2015-05")
    assert stored.statement_id == first.statement["statement_id"]
    printed = out.getvalue()
    assert stored.statement_id in printed and "closed at" in printed

    again = command.statement_steps(tmp_path, lines)
    assert again.ok and not again.closed_now
    assert again.summary["attested"] == 0 and again.summary["duplicates"] == 40
    assert again.statement == first.statement
    assert "already closed" in out.getvalue()
    assert Statement.objects.count() == 1
