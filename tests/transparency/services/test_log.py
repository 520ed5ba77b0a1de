"""The sequencer: queued leaves, group commit, re-signing, and refusing to sign
a tree that does not extend the last checkpoint."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.db import IntegrityError, transaction
from django.utils import timezone

from tests.transparency.log_support import log_append
from transparency.models import Checkpoint, LogEntry, LogNode, QueuedEntry
from transparency.protocol.checkpoint import parse_checkpoint
from transparency.protocol.errors import ConsistencyProofError
from transparency.protocol.merkle import leaf_hash, root_hash
from transparency.protocol.note import NoteSigner, generate_key, open_note
from transparency.services import (
    log_checkpoint_refresh,
    log_enqueue,
    log_integrate,
    log_tick,
)

pytestmark = pytest.mark.django_db

ORIGIN = "test.example/log"


@pytest.fixture
def signer() -> NoteSigner:
    """A fresh log-operator note signer."""
    return NoteSigner.from_skey(generate_key(ORIGIN)[0])


def _entries(prefix: str, count: int) -> list[bytes]:
    return [f'{{"{prefix}":{k}}}'.encode() for k in range(count)]


def test_one_round_sequences_everything_queued_with_one_checkpoint(
    signer: NoteSigner,
) -> None:
    """Leaves queued by three "requests" are sequenced by one round, in queue
    order, under one checkpoint whose root is the recomputed one."""
    queued = [log_enqueue(entries=_entries(p, 3)) for p in "abc"]
    result = log_integrate(signer=signer, origin=ORIGIN)
    assert result is not None and result.start_index == 0 and result.tree_size == 9
    assert Checkpoint.objects.count() == 1 and QueuedEntry.objects.count() == 0
    order = list(
        LogEntry.objects.order_by("leaf_index").values_list("leaf_hash", flat=True)
    )
    assert order == [h for batch in queued for h in batch]
    expected = root_hash([leaf_hash(d) for p in "abc" for d in _entries(p, 3)])
    assert result.root_hash == expected
    assert log_integrate(signer=signer, origin=ORIGIN) is None


def test_duplicate_leaves_are_refused(signer: NoteSigner) -> None:
    """The log never holds the same leaf twice: queueing a logged leaf is
    refused, and one that slipped into the queue is dropped by the sequencer
    instead of blocking it."""
    log_append(entries=_entries("d", 2), signer=signer, origin=ORIGIN)
    with pytest.raises(IntegrityError), transaction.atomic():
        log_enqueue(entries=_entries("d", 1))
    with pytest.raises(IntegrityError), transaction.atomic():
        log_enqueue(entries=_entries("e", 1) * 2)
    slipped = _entries("d", 1)[0]
    QueuedEntry.objects.create(
        leaf_hash=leaf_hash(slipped).hex(), data=slipped.decode()
    )
    log_enqueue(entries=_entries("f", 1))
    result = log_integrate(signer=signer, origin=ORIGIN)
    assert result is not None and result.tree_size == 3
    assert LogEntry.objects.count() == 3 and QueuedEntry.objects.count() == 0


def test_a_leaf_left_queued_by_a_crash_is_sequenced_by_the_tick(
    signer: NoteSigner,
) -> None:
    """A request that committed its leaf and died before sequencing leaves a
    queued row; the periodic tick logs it."""
    log_enqueue(entries=_entries("crash", 4))
    assert log_tick(signer=signer, origin=ORIGIN, interval_seconds=3600) == {
        "sequenced": 4,
        "resigned": 0,
    }
    assert LogEntry.objects.count() == 4 and QueuedEntry.objects.count() == 0


def test_stale_head_is_resigned_with_a_new_timestamp(signer: NoteSigner) -> None:
    """After the interval, the same tree is signed again with a later
    Timestamp line; before it, nothing is signed."""
    log_append(entries=_entries("r", 3), signer=signer, origin=ORIGIN)
    first = Checkpoint.objects.get()
    assert (
        log_checkpoint_refresh(signer=signer, origin=ORIGIN, interval_seconds=60)
        is None
    )
    later = timezone.now() + timedelta(seconds=61)
    second = log_checkpoint_refresh(
        signer=signer, origin=ORIGIN, interval_seconds=60, now=later
    )
    assert second is not None and second.tree_size == first.tree_size == 3
    assert second.root_hash == first.root_hash and second.note != first.note
    body = parse_checkpoint(open_note(second.note, [signer.verifier_key()]).text)
    assert body.extensions == (f"Timestamp: {int(later.timestamp())}",)


def test_a_tampered_store_is_never_signed(signer: NoteSigner) -> None:
    """If a stored node changes under the log, the next round's tree no longer
    extends the signed checkpoint: the sequencer refuses and signs nothing."""
    log_append(entries=_entries("t", 6), signer=signer, origin=ORIGIN)
    LogNode.objects.filter(level=1, index=2).update(hash=b"\x01" * 32)
    log_enqueue(entries=_entries("u", 2))
    with pytest.raises(ConsistencyProofError):
        log_integrate(signer=signer, origin=ORIGIN)
    assert Checkpoint.objects.count() == 1 and LogEntry.objects.count() == 6
    assert QueuedEntry.objects.count() == 2  # still queued, nothing lost


def test_enqueue_refuses_a_leaf_over_the_entry_bundle_bound(
    signer: NoteSigner,
) -> None:
    """A leaf of 65,536 bytes cannot be carried by a C2SP entry bundle: the
    writer refuses it (EntryTooLargeError, entry_too_large) and queues
    nothing of the call; 65,535 bytes are logged and served."""
    from transparency.protocol.errors import EntryTooLargeError
    from transparency.protocol.tiles import MAX_ENTRY_SIZE_BYTES, parse_entry_bundle
    from transparency.selectors import entries_tile_get

    fits = b'"' + b"a" * (MAX_ENTRY_SIZE_BYTES - 2) + b'"'
    with pytest.raises(EntryTooLargeError) as caught:
        log_enqueue(entries=[fits[:-1] + b'b"', fits + b" "])
    assert caught.value.code == "entry_too_large"
    assert QueuedEntry.objects.count() == 0
    log_append(entries=[fits], signer=signer, origin=ORIGIN)
    assert parse_entry_bundle(entries_tile_get(index=0, width=1)) == [fits]
