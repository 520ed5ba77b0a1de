"""The staff audit trail's record hash and the chain verifier (Django-free).

A record (docs/PROTOCOL.md §14) is the JSON object::

    {"seq": 1, "at": "2026-12-04T18:00:00.5Z",
     "actor_user_id": 7, "actor": "alice",
     "action": "tariff.publish",
     "object_type": "tariff_version", "object_id": "api-calls@2",
     "before": {...} | null, "after": {...} | null,
     "prev_hash": <64 hex>, "record_hash": <64 hex>}

- ``seq``: 1, 2, 3, ... without gaps, in append order;
- ``at``: the protocol's Timestamp (RFC 3339 UTC, ``Z``, a fraction only
  when non-zero, no trailing zero: :mod:`kernel.protocol.timefmt`);
- ``actor_user_id``: the staff user's id, or ``null`` for a command or a
  tenant; ``actor``: the user name, or a label (``system:tariff_import``,
  ``tenant:acme``);
- ``before`` / ``after``: the object's state as JSON (``null``: did not
  exist / no longer exists); never secrets;
- ``prev_hash``: the previous record's ``record_hash``, or 64 zeros
  (:data:`GENESIS_HASH`) for record 1;
- ``record_hash``: SHA-256 of the RFC 8785 canonical JSON of the record
  without ``record_hash`` (lowercase hex).

:func:`verify_audit_chain` reads records in order and runs the named checks
``record_hash``, ``chain_link``, ``sequence`` and ``head``. A changed field
fails ``record_hash`` (and the next record's ``chain_link``); a deleted or
reordered record fails ``sequence`` and ``chain_link``; deleting the *last*
records leaves a shorter valid chain, which only a pinned head (``head``,
``expect_head``) detects.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from kernel.protocol.errors import TimestampError
from kernel.protocol.jcs import canonical_hash
from kernel.protocol.shape import (
    json_kind,
    require_hex,
    require_instance,
    require_integer,
    require_object,
)
from kernel.protocol.timefmt import parse_rfc3339_utc
from kernel.protocol.verdict import CheckResult, verdict_ok

from .errors import AuditHeadFormatError, AuditRecordFormatError

__all__ = [
    "ACTION_PATTERN",
    "AUDIT_CHECKS",
    "GENESIS_HASH",
    "HASHED_MEMBERS",
    "RECORD_MEMBERS",
    "AuditHead",
    "AuditReport",
    "parse_audit_head",
    "parse_audit_record",
    "record_hash",
    "verify_audit_chain",
]

#: ``prev_hash`` of record 1: 64 zeros (no record before it).
GENESIS_HASH = "0" * 64
#: The members ``record_hash`` covers, in the order the export writes them.
HASHED_MEMBERS = (
    "seq",
    "at",
    "actor_user_id",
    "actor",
    "action",
    "object_type",
    "object_id",
    "before",
    "after",
    "prev_hash",
)
#: Every member of a record (exactly these).
RECORD_MEMBERS = (*HASHED_MEMBERS, "record_hash")
#: An action name: dotted lowercase words, e.g. ``tariff.publish``.
ACTION_PATTERN = r"[a-z][a-z0-9_]*(?:\.[a-z][a-z0-9_]*)+"
#: The largest ``seq`` (and user id): I-JSON's integer range (2**53 - 1).
MAX_SEQ = 2**53 - 1
#: The checks :func:`verify_audit_chain` runs, in report order.
AUDIT_CHECKS = ("record_hash", "chain_link", "sequence", "head")

_ACTION = re.compile(ACTION_PATTERN, re.ASCII)
_HEAD = re.compile(r"([1-9][0-9]{0,15}):([0-9a-f]{64})", re.ASCII)


def record_hash(record: Mapping[str, Any]) -> str:
    """Return a record's ``record_hash``: SHA-256(JCS(the record's
    :data:`HASHED_MEMBERS`)) as 64 lowercase hex characters.

    ``record`` may carry ``record_hash`` (ignored) but must hold every hashed
    member; ``at`` is already the Timestamp string.

    Raises:
        KeyError: a hashed member is missing.
        CanonicalizationError: a value JCS cannot encode (a float, an integer
            outside the I-JSON range).
    """
    return canonical_hash({name: record[name] for name in HASHED_MEMBERS})


def _text(value: Any, name: str, *, empty: bool = False) -> str:
    text: str = require_instance(
        value,
        str,
        error=AuditRecordFormatError,
        message="{field} must be a string, found {kind}",
        field=name,
    )
    if not text and not empty:
        raise AuditRecordFormatError(f"{name} must not be empty", field=name)
    return text


def parse_audit_record(value: Any) -> dict[str, Any]:
    """Return ``value`` if it is an audit record of the documented shape.

    Checks exactly the members :data:`RECORD_MEMBERS`; ``seq`` an integer
    1 .. 2**53 - 1; ``at`` a Timestamp; ``actor_user_id`` such an integer or
    null; ``actor``, ``object_type`` non-empty strings and ``object_id`` a
    string; ``action`` matching :data:`ACTION_PATTERN`; ``prev_hash`` and
    ``record_hash`` 64 lowercase hex characters. ``before`` / ``after`` are
    any JSON value. The hash itself is not checked here.

    Raises:
        AuditRecordFormatError: (``audit_record_invalid``) the first member
            out of shape (``field`` names it).
    """
    record = require_object(
        value, RECORD_MEMBERS, error=AuditRecordFormatError, what="audit record"
    )
    for name in ("seq", "actor_user_id"):
        if name == "actor_user_id" and record[name] is None:
            continue
        require_integer(
            record[name],
            error=AuditRecordFormatError,
            message="{field} must be an integer, found {kind}",
            range_message="{field} must be in {minimum} .. {maximum}, found {value}",
            field=name,
            minimum=1,
            maximum=MAX_SEQ,
        )
    try:
        parse_rfc3339_utc(record["at"])
    except TimestampError as exc:
        raise AuditRecordFormatError(f"at: {exc.message}", field="at") from None
    _text(record["actor"], "actor")
    _text(record["object_type"], "object_type")
    _text(record["object_id"], "object_id", empty=True)
    action = _text(record["action"], "action")
    if not _ACTION.fullmatch(action):
        raise AuditRecordFormatError(
            f"action must be dotted lowercase words like tariff.publish, "
            f"found {action!r}",
            field="action",
        )
    for name in ("prev_hash", "record_hash"):
        require_hex(
            record[name],
            error=AuditRecordFormatError,
            message="{field} must be {length} lowercase hex characters, "
            "found {kind} {value!r}",
            field=name,
        )
    return record


@dataclass(frozen=True)
class AuditHead:
    """A chain head: the last record's ``seq`` and ``record_hash``.

    Written ``"<seq>:<record_hash>"`` (``str(head)``); an auditor pins the
    head they saw and passes it back as ``expect_head``.
    """

    seq: int
    record_hash: str

    def __str__(self) -> str:
        """Return ``"<seq>:<record_hash>"``."""
        return f"{self.seq}:{self.record_hash}"


def parse_audit_head(text: Any) -> AuditHead:
    """Parse a pinned head ``"<seq>:<record_hash>"`` (``seq`` a positive
    decimal integer without leading zeros, the hash 64 lowercase hex).

    Raises:
        AuditHeadFormatError: (``audit_head_invalid``) anything else.
    """
    match = _HEAD.fullmatch(text) if isinstance(text, str) else None
    if match is None or int(match.group(1)) > MAX_SEQ:
        found = repr(text) if isinstance(text, str) else json_kind(text)
        raise AuditHeadFormatError(
            "expected a head like 42:<64 lowercase hex>, found " + found[:120],
            field="expect_head",
        )
    return AuditHead(seq=int(match.group(1)), record_hash=match.group(2))


@dataclass(frozen=True)
class AuditReport:
    """The verdict of :func:`verify_audit_chain`.

    Attributes:
        ok: every check that ran passed (at least one ran).
        count: records read.
        head: the last record read (``None`` for an empty chain).
        first_bad_seq: the first sequence number a failed check names (the
            changed record, the missing number, the first out of place),
            else ``None``.
        checks: one :class:`CheckResult` per name of :data:`AUDIT_CHECKS`.
    """

    ok: bool
    count: int
    head: AuditHead | None
    first_bad_seq: int | None
    checks: tuple[CheckResult, ...] = field(default_factory=tuple)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"ok", "count", "head", "first_bad_seq", "checks"}``
        (``head`` as ``"<seq>:<hash>"`` or null; checks as docs/PROTOCOL.md
        §5.1 writes them)."""
        return {
            "ok": self.ok,
            "count": self.count,
            "head": str(self.head) if self.head else None,
            "first_bad_seq": self.first_bad_seq,
            "checks": [check.to_json() for check in self.checks],
        }


class _Failure:
    """The first failure of one check: its sequence number, code, message."""

    def __init__(self) -> None:
        self.seq: int | None = None
        self.code: str | None = None
        self.message: str | None = None

    def note(self, seq: int, code: str, message: str) -> None:
        """Keep the first failure only."""
        if self.code is None:
            self.seq, self.code, self.message = seq, code, message


def verify_audit_chain(
    records: Iterable[Any], expect_head: AuditHead | str | None = None
) -> AuditReport:
    """Verify an audit trail read in append order; return the report.

    Args:
        records: the records (decoded JSON objects, the export's lines), in
            order; read once, in constant memory.
        expect_head: a head the auditor saw before (``AuditHead`` or
            ``"<seq>:<hash>"``): the chain must still hold record ``seq``
            with that ``record_hash``. Without it ``head`` is skipped
            (``audit_head_not_pinned``) and deleting the last records goes
            unseen.

    Checks (first failure of each reported; ``first_bad_seq`` the smallest):
        record_hash: each record has the documented shape
            (``audit_record_invalid``) and its ``record_hash`` recomputes
            (``audit_record_hash_mismatch``).
        chain_link: record 1's ``prev_hash`` is :data:`GENESIS_HASH`, every
            other's the previous record's ``record_hash``
            (``audit_chain_broken``).
        sequence: the n-th record read has ``seq`` n
            (``audit_sequence_gap`` when numbers are missing,
            ``audit_sequence_disorder`` when one repeats or comes early).
        head: record ``expect_head.seq`` exists (``audit_head_missing``)
            with ``expect_head.record_hash`` (``audit_head_mismatch``).

    Raises:
        AuditHeadFormatError: ``expect_head`` is a malformed string.
    """
    pinned = (
        parse_audit_head(expect_head) if isinstance(expect_head, str) else expect_head
    )
    hashes, links, order, head_check = _Failure(), _Failure(), _Failure(), _Failure()
    previous: str | None = GENESIS_HASH
    count, last = 0, None
    pinned_seen = False
    for value in records:
        count += 1
        try:
            record = parse_audit_record(value)
        except AuditRecordFormatError as exc:
            where = f" ({exc.field})" if exc.field else ""
            hashes.note(count, exc.code, f"record {count}{where}: {exc.message}")
            previous, last = None, None
            continue
        seq = record["seq"]
        if seq != count:
            code = "audit_sequence_gap" if seq > count else "audit_sequence_disorder"
            order.note(
                count,
                code,
                f"record {count} read has seq {seq}"
                + (f"; records {count} .. {seq - 1} are missing" if seq > count else "")
                + f", expected seq {count}",
            )
        computed = record_hash(record)
        if computed != record["record_hash"]:
            hashes.note(
                seq,
                "audit_record_hash_mismatch",
                f"record {seq}: record_hash is {record['record_hash']}, its "
                f"members hash to {computed}",
            )
        if previous is not None and record["prev_hash"] != previous:
            links.note(
                seq,
                "audit_chain_broken",
                f"record {seq}: prev_hash is {record['prev_hash']}, expected "
                f"{previous} ("
                + (
                    "genesis"
                    if count == 1
                    else f"the record_hash of record read {count - 1}"
                )
                + ")",
            )
        if pinned is not None and seq == pinned.seq and not pinned_seen:
            pinned_seen = True
            if record["record_hash"] != pinned.record_hash:
                head_check.note(
                    seq,
                    "audit_head_mismatch",
                    f"record {seq} has record_hash {record['record_hash']}, the "
                    f"pinned head has {pinned.record_hash}",
                )
        previous = record["record_hash"]
        last = AuditHead(seq=seq, record_hash=record["record_hash"])
    if pinned is not None and not pinned_seen:
        head_check.note(
            pinned.seq,
            "audit_head_missing",
            f"the pinned head {pinned} is not in the chain ({count} records): "
            "records were deleted from its end",
        )
    if count:
        passed = (
            f"{count} record hashes recompute",
            f"{count} records link to their predecessor",
            f"seq runs 1 .. {count} without gaps",
        )
    else:
        passed = ("no records",) * 3
    checks = (
        _result("record_hash", hashes, passed[0]),
        _result("chain_link", links, passed[1]),
        _result("sequence", order, passed[2]),
        _head_result(head_check, pinned),
    )
    bad = [f.seq for f in (hashes, links, order, head_check) if f.seq is not None]
    return AuditReport(
        ok=verdict_ok(checks),
        count=count,
        head=last,
        first_bad_seq=min(bad) if bad else None,
        checks=checks,
    )


def _result(name: str, failure: _Failure, passed: str) -> CheckResult:
    if failure.code is not None:
        return CheckResult(name, "fail", failure.code, failure.message)
    return CheckResult(name, "pass", None, passed)


def _head_result(failure: _Failure, pinned: AuditHead | None) -> CheckResult:
    if pinned is None:
        return CheckResult(
            "head",
            "skip",
            "audit_head_not_pinned",
            "no head pinned (expect_head): deleting the last records is not "
            "detectable without one",
        )
    return _result("head", failure, f"record {pinned.seq} has the pinned hash")
