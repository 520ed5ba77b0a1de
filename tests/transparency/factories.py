"""factory_boy factories for log rows, built through the log's services.

A leaf is queued by ``log_enqueue`` (RFC 9162 §2.1.1 leaf hash) and, for a
:class:`LogEntryFactory`, sequenced by ``log_sequence``, which integrates it
into the Merkle tree and signs a C2SP checkpoint with a real Ed25519 note key
(``signer``/``origin``: by default a key generated once per test session).
"""

from __future__ import annotations

from functools import cache
from typing import Any

import factory
from factory.django import DjangoModelFactory

from transparency.models import LogEntry, QueuedEntry
from transparency.protocol.note import NoteSigner, generate_key
from transparency.services import log_enqueue, log_sequence

#: The origin line of the factories' log (a C2SP checkpoint's first line).
ORIGIN = "meterproof.test/factory-log"


@cache
def default_signer() -> NoteSigner:
    """Return the session's note signer for :data:`ORIGIN` (generated once)."""
    return NoteSigner.from_skey(generate_key(ORIGIN)[0])


class QueuedEntryFactory(DjangoModelFactory):
    """A leaf accepted by ``log_enqueue`` and not yet sequenced."""

    class Meta:
        model = QueuedEntry

    data = factory.Sequence(lambda n: f'{{"leaf":{n}}}')

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> QueuedEntry:
        (leaf_hash,) = log_enqueue(entries=[kwargs["data"].encode()])
        return QueuedEntry.objects.get(leaf_hash=leaf_hash)


class LogEntryFactory(DjangoModelFactory):
    """A sequenced leaf: queued, integrated and covered by a signed checkpoint."""

    class Meta:
        model = LogEntry

    data = factory.Sequence(lambda n: f'{{"entry":{n}}}')
    signer = factory.LazyFunction(default_signer)
    origin = ORIGIN

    @classmethod
    def _create(cls, model_class: type, *args: Any, **kwargs: Any) -> LogEntry:
        (leaf_hash,) = log_enqueue(entries=[kwargs["data"].encode()])
        log_sequence(
            leaf_hashes=[leaf_hash], signer=kwargs["signer"], origin=kwargs["origin"]
        )
        return LogEntry.objects.get(leaf_hash=leaf_hash)
