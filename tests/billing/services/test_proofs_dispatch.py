"""Proof dispatch: services queue proving work through the dispatcher that
``billing.tasks`` registers, never by importing the task module."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest

from billing.services.proofs import (
    ProofsDispatcher,
    billing_proofs_dispatch,
    billing_proofs_dispatcher_set,
)
from billing.tasks import billing_proofs_attach_enqueue


@pytest.fixture
def registered() -> Iterator[ProofsDispatcher | None]:
    """Yield the dispatcher registered at startup; put it back afterwards."""
    previous = billing_proofs_dispatcher_set(None)
    billing_proofs_dispatcher_set(previous)
    yield previous
    billing_proofs_dispatcher_set(previous)


def test_the_task_module_registers_its_enqueue(
    registered: ProofsDispatcher | None,
) -> None:
    """Once Django is set up (``BillingConfig.ready`` imports ``billing.tasks``)
    the registered dispatcher queues ``billing_proofs_attach_task``."""
    assert registered is billing_proofs_attach_enqueue


def test_dispatch_hands_the_ids_to_the_dispatcher(
    registered: ProofsDispatcher | None,
) -> None:
    """The receipt ids go to the dispatcher as given; an empty list queues
    nothing."""
    calls: list[list[str]] = []
    billing_proofs_dispatcher_set(calls.append)
    assert billing_proofs_dispatch(receipt_ids=["r1", "r2"]) is True
    assert billing_proofs_dispatch(receipt_ids=[]) is False
    assert calls == [["r1", "r2"]]


def test_a_broker_failure_is_logged_not_raised(
    registered: ProofsDispatcher | None, caplog: pytest.LogCaptureFixture
) -> None:
    """A dispatcher that raises (broker down) leaves the bundles to the sweep."""

    def broken(receipt_ids: list[str]) -> object:
        raise ConnectionError("broker down")

    billing_proofs_dispatcher_set(broken)
    with caplog.at_level(logging.ERROR, logger="billing.services.proofs"):
        assert billing_proofs_dispatch(receipt_ids=["r1"]) is False
    assert "the sweep will attach them" in caplog.text


def test_without_a_dispatcher_the_sweep_attaches(
    registered: ProofsDispatcher | None, caplog: pytest.LogCaptureFixture
) -> None:
    """No registered dispatcher (``billing.tasks`` never imported): nothing is
    queued, a warning says so."""
    billing_proofs_dispatcher_set(None)
    with caplog.at_level(logging.WARNING, logger="billing.services.proofs"):
        assert billing_proofs_dispatch(receipt_ids=["r1"]) is False
    assert "no proof dispatcher registered" in caplog.text
