"""Migrations that must change no schema (CONVENTIONS §8)."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import call_command

from billing.models import MeterEvent, ReplayReservation


@pytest.mark.django_db(transaction=True)
def test_meter_hash_rename_emits_no_sql() -> None:
    """0007 renames ``event_hash`` / ``request_hash`` to ``meter_hash`` in
    Python only: the columns keep their names, so the previous release keeps
    serving."""
    out = StringIO()
    call_command("sqlmigrate", "billing", "0007", stdout=out)
    statements = [
        line
        for line in out.getvalue().splitlines()
        if line.strip() and not line.startswith("--")
    ]
    assert statements in ([], ["BEGIN;", "COMMIT;"])
    assert MeterEvent._meta.get_field("meter_hash").column == "event_hash"
    assert ReplayReservation._meta.get_field("meter_hash").column == "request_hash"
