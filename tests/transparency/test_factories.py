"""The log factories queue and sequence leaves through the log's services."""

from __future__ import annotations

import pytest

from tests.transparency.factories import (
    ORIGIN,
    LogEntryFactory,
    QueuedEntryFactory,
    default_signer,
)
from transparency.models import Checkpoint, LogEntry
from transparency.protocol.checkpoint import open_checkpoint
from transparency.protocol.merkle import leaf_hash

pytestmark = pytest.mark.django_db


def test_queued_entry_waits_and_log_entry_is_signed() -> None:
    """A queued leaf has its RFC 9162 leaf hash and no index; two log entries
    are contiguous and covered by a checkpoint the factory key signed."""
    queued = QueuedEntryFactory()
    assert queued.leaf_hash == leaf_hash(queued.data.encode()).hex()
    assert not LogEntry.objects.filter(leaf_hash=queued.leaf_hash).exists()
    first, second = LogEntryFactory(), LogEntryFactory()
    assert second.leaf_index == first.leaf_index + 1
    latest = Checkpoint.objects.order_by("-tree_size").first()
    assert latest is not None and latest.tree_size >= second.leaf_index + 1
    checkpoint, _ = open_checkpoint(latest.note, ORIGIN, [default_signer().verifier()])
    assert checkpoint.tree_size == latest.tree_size
