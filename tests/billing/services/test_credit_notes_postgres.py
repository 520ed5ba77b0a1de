"""Concurrent credit notes on a real PostgreSQL: the original bundle's row
lock makes the remaining-amount check hold under contention (skipped on
SQLite, which serialises writers anyway)."""

from __future__ import annotations

import threading
from typing import Any

import pytest
from django.db import connection, connections

from billing.errors import CreditNoteExceedsOriginal
from billing.models import CreditNote
from billing.services.credit_notes import credit_note_issue
from tests.billing.factories import BundleFactory

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.postgres]


@pytest.fixture(autouse=True)
def _postgres_only() -> None:
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL (DATABASE_URL=postgres://...)")


def test_concurrent_credits_never_exceed_the_original(signing_keys: Any) -> None:
    """Six threads each credit 2 minor units of a 6-unit bundle at once:
    three succeed, three get credit_note_exceeds_original, the credits sum
    to the original."""
    bundle = BundleFactory(quantity=3)
    assert bundle.amount_minor == 6
    barrier = threading.Barrier(6)
    results: list[Any] = [None] * 6

    def work(i: int) -> None:
        try:
            barrier.wait()
            results[i] = credit_note_issue(
                bundle=bundle,
                amount_minor=-2,
                reason_code="correction",
                reason_text=f"thread {i}",
            )
        except BaseException as exc:  # reported by the assertions below
            results[i] = exc
        finally:
            connections.close_all()

    threads = [threading.Thread(target=work, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    won = [r for r in results if isinstance(r, CreditNote)]
    lost = [r for r in results if isinstance(r, CreditNoteExceedsOriginal)]
    assert (len(won), len(lost)) == (3, 3), results
    assert sum(n.amount_minor for n in CreditNote.objects.all()) == -6
