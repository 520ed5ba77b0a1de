"""Writes to the transparency log: queueing, group-commit sequencing, checkpoints.

The log is written only here, in two steps (Trillian's queue/sequence split,
Tessera's batched integration):

1. :func:`log_enqueue` stores accepted leaves in ``QueuedEntry`` inside the
   caller's transaction. It takes no log lock, so any number of attest requests
   commit their leaves (and the bundles citing them) concurrently.
2. :func:`log_integrate` is the sequencer. Under the head lock it takes every
   queued leaf (up to ``max_batch``), assigns contiguous indices, stores the new
   full-subtree hashes, moves the leaves into ``LogEntry`` inside the database,
   and signs **one** checkpoint for the whole batch. Requests that wait on the
   lock find their leaves already sequenced by the previous holder: that is the
   group commit that keeps the log from being the bottleneck of attest.

Before signing, the sequencer checks the new tree against the last signed
checkpoint with a consistency proof built from storage, so the log never signs
two checkpoints that are not consistent. Every checkpoint is kept.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import TypeVar

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from transparency.models import Checkpoint, LogEntry, LogNode, LogState, QueuedEntry
from transparency.protocol.checkpoint import CheckpointBody
from transparency.protocol.errors import ConsistencyProofError, EntryTooLargeError
from transparency.protocol.merkle import (
    HASH_SIZE,
    NodeReader,
    consistency_proof,
    leaf_hash,
    new_nodes,
    tree_root,
    verify_consistency,
)
from transparency.protocol.note import NoteSigner, sign_note
from transparency.protocol.tiles import MAX_ENTRY_SIZE_BYTES

logger = logging.getLogger(__name__)

_PLACEHOLDER = b"\x00" * HASH_SIZE
T = TypeVar("T")

MAX_BATCH = 1000
"""Most leaves one sequencing round integrates (one checkpoint per round)."""


def checkpoint_timestamp_line(moment: datetime) -> str:
    """Return the checkpoint extension line ``Timestamp: <unix seconds>``.

    C2SP tlog-checkpoint allows extension lines; Sigstore's Rekor puts its
    signing time in one the same way. With it, a checkpoint re-signed for an
    unchanged tree is a new note, so a stale log shows (RFC 6962 §3.5's MMD).
    """
    return f"Timestamp: {int(moment.timestamp())}"


class NodeCache:
    """Reads full-subtree hashes from ``LogNode`` in as few queries as possible.

    Proof shapes depend only on indices, never on hash values, so
    :meth:`run` first runs ``fn`` with placeholder hashes to learn which nodes it
    reads, fetches them all in one query, then runs ``fn`` for real.
    """

    def __init__(self) -> None:
        """Start with an empty in-memory overlay."""
        self.nodes: dict[tuple[int, int], bytes] = {}

    def add(self, items: Iterable[tuple[int, int, bytes]]) -> None:
        """Add ``(level, index, hash)`` nodes (e.g. freshly appended ones)."""
        for level, index, value in items:
            self.nodes[(level, index)] = value

    def _fetch(self, keys: set[tuple[int, int]]) -> None:
        # Raw SQL with a row-value IN list: the ORM's OR-of-Q compiles for ~2 ms
        # per proof, ten times the query itself (measured in bench/tlog.py).
        keys_list = sorted(k for k in keys if k not in self.nodes)
        quote = connection.ops.quote_name
        table = quote(LogNode._meta.db_table)
        level, index = quote("level"), quote("index")
        with connection.cursor() as cursor:
            for start in range(0, len(keys_list), 400):
                chunk = keys_list[start : start + 400]
                values = ", ".join(["(%s, %s)"] * len(chunk))
                cursor.execute(
                    f"SELECT {level}, {index}, hash FROM {table} "  # noqa: S608
                    f"WHERE ({level}, {index}) IN (VALUES {values})",
                    [v for key in chunk for v in key],
                )
                for lv, ix, value in cursor.fetchall():
                    self.nodes[(lv, ix)] = bytes(value)
        absent = [k for k in keys if k not in self.nodes]
        if absent:
            raise LookupError(f"log nodes missing from storage: {absent[:5]}")

    def run(self, fn: Callable[[NodeReader], T]) -> T:
        """Return ``fn(get_node)`` after prefetching every node it reads."""
        wanted: set[tuple[int, int]] = set()

        def probe(level: int, index: int) -> bytes:
            if (level, index) not in self.nodes:
                wanted.add((level, index))
            return self.nodes.get((level, index), _PLACEHOLDER)

        fn(probe)
        if wanted:
            self._fetch(wanted)
        return fn(self.get_node)

    def get_node(self, level: int, index: int) -> bytes:
        """Return a cached node (fetching it alone if it was not prefetched)."""
        if (level, index) not in self.nodes:
            self._fetch({(level, index)})
        return self.nodes[(level, index)]


@dataclass(frozen=True)
class IntegrateResult:
    """One sequencing round: leaves ``[start_index, tree_size)`` and their
    checkpoint."""

    start_index: int
    tree_size: int
    root_hash: bytes
    checkpoint: Checkpoint
    leaf_hashes: list[bytes]


def log_enqueue(*, entries: Sequence[bytes]) -> list[str]:
    """Queue leaves for sequencing; return their leaf hashes (lowercase hex).

    Takes no log lock. Call it in the transaction that stores whatever cites
    the leaves, so both commit or neither does; :func:`log_integrate` (or the
    periodic ``log_tick``) sequences them afterwards.

    Args:
        entries: the data entries (RFC 9162 §2.1.1: the list D[n] of data
            entries the tree is built over), each UTF-8 leaf data bytes,
            hashed as a leaf.

    Raises:
        IntegrityError: if a leaf with the same hash is already queued or
            logged (the log holds no duplicates; checked again, race-free, by
            the unique ``leaf_hash`` of both tables).
        EntryTooLargeError: a leaf is over ``MAX_ENTRY_SIZE_BYTES`` (65,535):
            C2SP tlog-tiles entry bundles could not carry it. Nothing is
            queued.
    """
    for position, data in enumerate(entries):
        if len(data) > MAX_ENTRY_SIZE_BYTES:
            raise EntryTooLargeError(
                f"leaf {position} is {len(data)} bytes, at most "
                f"{MAX_ENTRY_SIZE_BYTES} fit a C2SP tlog-tiles entry bundle"
            )
    now = timezone.now()
    rows = [
        QueuedEntry(
            leaf_hash=leaf_hash(data).hex(), data=data.decode("utf-8"), queued_at=now
        )
        for data in entries
    ]
    hashes = [row.leaf_hash for row in rows]
    logged = LogEntry.objects.filter(leaf_hash__in=hashes).values_list(
        "leaf_hash", flat=True
    )
    for duplicate in logged[:1]:
        raise IntegrityError(f"leaf {duplicate} is already in the log")
    QueuedEntry.objects.bulk_create(rows)
    return hashes


def _latest_checkpoint() -> Checkpoint | None:
    return Checkpoint.objects.order_by("-tree_size", "-id").first()


def _check_consistent(
    cache: NodeCache, previous: Checkpoint | None, size: int, root: bytes
) -> None:
    """Refuse to sign a tree that is not an extension of the last checkpoint."""
    if previous is None or previous.tree_size == 0:
        return
    old_root = bytes.fromhex(previous.root_hash)
    if previous.tree_size > size:
        raise ConsistencyProofError(
            f"log head has size {size}, below the signed checkpoint "
            f"{previous.tree_size}: refusing to sign"
        )
    proof = cache.run(lambda get: consistency_proof(previous.tree_size, size, get))
    verify_consistency(previous.tree_size, size, proof, old_root, root)


def _sign_checkpoint(
    *, size: int, root: bytes, signer: NoteSigner, origin: str, now: datetime
) -> Checkpoint:
    body = CheckpointBody(
        origin=origin,
        tree_size=size,
        root_hash=root,
        extensions=(checkpoint_timestamp_line(now),),
    ).to_text()
    return Checkpoint.objects.create(
        origin=origin,
        tree_size=size,
        root_hash=root.hex(),
        note=sign_note(body, signer),
        signed_at=now.replace(microsecond=0),
    )


def _move_queued(ids: list[int], start: int, now: datetime) -> None:
    """Move queued rows ``ids`` (in id order) to ``LogEntry`` at ``start``,
    inside the database: the leaf data never travels through Python."""
    entry = LogEntry._meta.db_table
    queued = QueuedEntry._meta.db_table
    marks = ", ".join(["%s"] * len(ids))
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            INSERT INTO {entry} (leaf_index, previous_index, leaf_hash, data, created_at)
            SELECT %s + q.rn - 1,
                   CASE WHEN %s + q.rn - 1 = 0 THEN NULL ELSE %s + q.rn - 2 END,
                   q.leaf_hash, q.data, %s
            FROM (SELECT leaf_hash, data, ROW_NUMBER() OVER (ORDER BY id) AS rn
                  FROM {queued} WHERE id IN ({marks})) q
            """,  # noqa: S608 - table names from model meta, values bound
            [start, start, start, now, *ids],
        )
        if cursor.rowcount not in (-1, len(ids)):
            raise RuntimeError(
                f"sequenced {cursor.rowcount} leaves, expected {len(ids)}"
            )
        cursor.execute(f"DELETE FROM {queued} WHERE id IN ({marks})", ids)  # noqa: S608


def log_integrate(
    *,
    signer: NoteSigner,
    origin: str,
    max_batch: int = MAX_BATCH,
    now: datetime | None = None,
) -> IntegrateResult | None:
    """Sequence queued leaves in one batch and sign one checkpoint for it.

    Locks the log head (``SELECT ... FOR UPDATE`` on PostgreSQL; SQLite's
    IMMEDIATE transactions serialise writers). Runs in its own transaction,
    or joins the caller's.

    Returns:
        The round's result, or ``None`` if nothing was queued.

    Raises:
        ConsistencyProofError: the stored tree does not extend the last signed
            checkpoint (storage corrupted); nothing is signed.
        LookupError: a stored node is missing (storage corrupted).
    """
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = LogState.objects.select_for_update().get_or_create(id=1)
        queued = list(
            QueuedEntry.objects.order_by("id").values_list("id", "leaf_hash")[
                :max_batch
            ]
        )
        if not queued:
            return None
        # A queued leaf that is already logged (a race past log_enqueue's
        # check) must not block the log: drop it from the queue, loudly.
        logged = set(
            LogEntry.objects.filter(leaf_hash__in=[h for _, h in queued]).values_list(
                "leaf_hash", flat=True
            )
        )
        if logged:
            logger.error("dropping %d queued leaves already in the log", len(logged))
            QueuedEntry.objects.filter(leaf_hash__in=logged).delete()
            queued = [(i, h) for i, h in queued if h not in logged]
            if not queued:
                return None
        start = state.tree_size
        hashes = [bytes.fromhex(h) for _, h in queued]
        cache = NodeCache()
        created = cache.run(lambda get: new_nodes(start, hashes, get))
        cache.add(created)
        size = start + len(hashes)
        root = cache.run(lambda get: tree_root(size, get))
        _check_consistent(cache, _latest_checkpoint(), size, root)
        LogNode.objects.bulk_create(
            [LogNode(level=lv, index=ix, hash=value) for lv, ix, value in created],
            batch_size=2000,
        )
        _move_queued([i for i, _ in queued], start, now)
        checkpoint = _sign_checkpoint(
            size=size, root=root, signer=signer, origin=origin, now=now
        )
        state.tree_size = size
        state.root_hash = root.hex()
        state.save(update_fields=["tree_size", "root_hash", "updated_at"])
    return IntegrateResult(
        start_index=start,
        tree_size=size,
        root_hash=root,
        checkpoint=checkpoint,
        leaf_hashes=hashes,
    )


def log_sequence(
    *,
    leaf_hashes: Sequence[str],
    signer: NoteSigner,
    origin: str,
    max_rounds: int = 50,
) -> dict[str, int]:
    """Return ``{leaf_hash: leaf_index}`` once every given leaf is sequenced.

    The attest path calls this after committing its queued leaves. Each round
    first looks whether someone else's round already sequenced them (the
    group commit), and only otherwise runs :func:`log_integrate` itself.

    Raises:
        TimeoutError: the leaves are still queued after ``max_rounds`` rounds
            (they stay queued; the periodic ``log_tick`` sequences them).
        Any error of :func:`log_integrate`.
    """
    wanted = set(leaf_hashes)
    found: dict[str, int] = {}
    for _ in range(max_rounds):
        found.update(
            LogEntry.objects.filter(leaf_hash__in=wanted - found.keys()).values_list(
                "leaf_hash", "leaf_index"
            )
        )
        if len(found) == len(wanted):
            return found
        log_integrate(signer=signer, origin=origin)
    raise TimeoutError(f"{len(wanted) - len(found)} leaves still queued")


def log_heal(
    *,
    leaf_hashes: Sequence[str],
    signer: NoteSigner,
    origin: str,
    max_rounds: int = 3,
) -> int:
    """Sequence the given leaves if any is still queued; return how many were.

    Self-healing without Celery beat: an attest whose sequencing was
    interrupted (a crash or an error after its commit) leaves its leaves in
    ``QueuedEntry``; the next read of such a bundle (or a retry of its attest)
    calls this. Cost: one indexed query when nothing is queued; otherwise at
    most ``max_rounds`` sequencing rounds of :data:`MAX_BATCH` leaves, shared
    with concurrent requests (the group commit). A failure is logged, never
    raised: the reader gets the bundle without log evidence, as before.
    """
    queued = list(
        QueuedEntry.objects.filter(leaf_hash__in=list(leaf_hashes)).values_list(
            "leaf_hash", flat=True
        )
    )
    if not queued:
        return 0
    try:
        log_sequence(
            leaf_hashes=queued, signer=signer, origin=origin, max_rounds=max_rounds
        )
    except Exception:
        logger.exception("healing %d queued leaves failed; left queued", len(queued))
    return len(queued)


def log_checkpoint_refresh(
    *,
    signer: NoteSigner,
    origin: str,
    interval_seconds: int,
    now: datetime | None = None,
) -> Checkpoint | None:
    """Re-sign the head if the newest checkpoint is older than
    ``interval_seconds``, even when the tree has not grown (RFC 6962 §3.5's
    maximum merge delay idea: a log that stops signing is visibly stale).

    Returns:
        The new checkpoint, or ``None`` if the newest one is fresh enough.
    """
    now = now or timezone.now()
    with transaction.atomic():
        state, _ = LogState.objects.select_for_update().get_or_create(id=1)
        latest = _latest_checkpoint()
        if latest is not None and latest.signed_at > now - timedelta(
            seconds=interval_seconds
        ):
            return None
        cache = NodeCache()
        root = cache.run(lambda get: tree_root(state.tree_size, get))
        _check_consistent(cache, latest, state.tree_size, root)
        return _sign_checkpoint(
            size=state.tree_size, root=root, signer=signer, origin=origin, now=now
        )


def log_tick(
    *, signer: NoteSigner, origin: str, interval_seconds: int
) -> dict[str, int]:
    """Periodic log work: sequence leaves left queued (e.g. by a crashed
    request) and re-sign a stale head. Returns ``{"sequenced", "resigned"}``."""
    sequenced = 0
    started = time.monotonic()
    while time.monotonic() - started < 30:
        result = log_integrate(signer=signer, origin=origin)
        if result is None:
            break
        sequenced += len(result.leaf_hashes)
    refreshed = log_checkpoint_refresh(
        signer=signer, origin=origin, interval_seconds=interval_seconds
    )
    if sequenced:
        logger.info("log_tick sequenced %d queued leaves", sequenced)
    return {"sequenced": sequenced, "resigned": int(refreshed is not None)}
