"""The ``vdi-billing-statement/1`` document: building, signing and parsing.

Shape (docs/PROTOCOL.md §13; all digests lowercase hex)::

    {"format": "vdi-billing-statement/1",
     "statement": {                         # signed by the issuer
        "format": "vdi-billing-statement/1",
        "statement_id": "stmt_" + 24 hex of SHA-256(JCS(["statement",
                                                          tenant, period])),
        "tenant", "period": "YYYY-MM", "currency", "closed_at", "kid",
        "lines": [{"metric", "tariff_id", "tariff_version", "tariff_hash",
                   "events", "quantity", "amount_minor",
                   "events_amount_minor"}],          # by (metric, tariff_hash)
        "credit_notes": [{"credit_note_id", "leaf_hash", "amount_minor"}],
        "amount_minor": sum(lines) + sum(credit_notes),
        "receipts": {"count": N, "root": <64 hex>},
        "unsequenced": [{"receipt_id", "leaf_hash"}],  # by receipt_id
        "sig": <Ed25519, context meterproof/statement/v1>},
     "log": {<the bundle's log evidence, for leaf data JCS(statement)>}}

``receipts.root`` is the RFC 9162 §2.1.1 Merkle tree hash over the list
whose i-th entry (i = 1..N) is the 32 raw bytes of the log leaf hash of the
bundle numbered i (SHA-256(0x00 || JCS(attestation))); the tree's leaves are
therefore SHA-256(0x00 || bundle leaf hash). N = 0: SHA-256 of the empty
string. :class:`ReceiptsRoot` computes it streaming, in O(log N) memory.

This module imports neither Django nor the database (CONVENTIONS.md §3).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from kernel.protocol.ed25519 import KeyPair, sign_object
from kernel.protocol.jcs import canonical_hash, canonical_json
from kernel.protocol.shape import (
    MAX_SAFE_INTEGER,
    require_hex,
    require_instance,
    require_integer,
    require_object,
)
from kernel.protocol.strictjson import loads as strict_loads
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc
from transparency.protocol.merkle import EMPTY_ROOT, leaf_hash
from transparency.protocol.monitor import frontier_append, frontier_root

from ..bundle import Bundle, LogEvidence
from ..contexts import CONTEXT_STATEMENT
from ..errors import BundleFormatError
from ..tariff import TariffDocument, compute_charge
from .errors import StatementFormatError

__all__ = [
    "EMPTY_RECEIPTS_ROOT",
    "STATEMENT_FORMAT",
    "ReceiptsRoot",
    "StatementFile",
    "StatementLine",
    "build_statement",
    "build_statement_file",
    "period_lines",
    "statement_id_for",
    "statement_leaf_data",
    "statement_leaf_hash",
    "unsigned_statement",
]

STATEMENT_FORMAT: Final = "vdi-billing-statement/1"
#: ``receipts.root`` of a period without numbered bundles: SHA-256("").
EMPTY_RECEIPTS_ROOT: Final = EMPTY_ROOT
#: The grammar of a statement id: ``stmt_`` and 24 lowercase hex digits.
STATEMENT_ID_RE: Final = re.compile(r"stmt_[0-9a-f]{24}", re.ASCII)
#: A billing period (an event window): ``YYYY-MM``.
PERIOD_RE: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}", re.ASCII)

_FILE_KEYS: Final = ("format", "statement", "log")
_STATEMENT_KEYS: Final = (
    "format",
    "statement_id",
    "tenant",
    "period",
    "currency",
    "closed_at",
    "kid",
    "lines",
    "credit_notes",
    "amount_minor",
    "receipts",
    "unsequenced",
    "sig",
)
_LINE_KEYS: Final = (
    "metric",
    "tariff_id",
    "tariff_version",
    "tariff_hash",
    "events",
    "quantity",
    "amount_minor",
    "events_amount_minor",
)
_CREDIT_NOTE_KEYS: Final = ("credit_note_id", "leaf_hash", "amount_minor")
_RECEIPTS_KEYS: Final = ("count", "root")
_UNSEQUENCED_KEYS: Final = ("receipt_id", "leaf_hash")


def statement_id_for(tenant: str, period: str) -> str:
    """Return the statement id of ``(tenant, period)``: ``stmt_`` + the first
    24 lowercase hex digits of SHA-256(JCS(["statement", tenant, period])).

    Deterministic: one statement per tenant and period, whoever computes it.
    """
    return "stmt_" + canonical_hash(["statement", tenant, period])[:24]


class ReceiptsRoot:
    """Streaming ``receipts.root``: feed the bundles' leaf hashes in number
    order (1, 2, ...); O(log N) memory (a compact range, RFC 9162 §2.1.1)."""

    def __init__(self) -> None:
        """Start an empty tree (N = 0)."""
        self._frontier: list[bytes] = []
        self.count = 0

    def add(self, bundle_leaf_hash: bytes) -> None:
        """Append the next bundle's 32-byte log leaf hash (raw bytes).

        Raises:
            MerkleError: ``bundle_leaf_hash`` is not 32 bytes.
        """
        self._frontier, self.count = frontier_append(
            self._frontier, self.count, [leaf_hash(bytes(bundle_leaf_hash))]
        )

    def extend(self, bundle_leaf_hashes: Iterable[bytes]) -> None:
        """Append several leaf hashes in order (see :meth:`add`)."""
        for item in bundle_leaf_hashes:
            self.add(item)

    def root(self) -> bytes:
        """Return the 32-byte root of the hashes added so far (SHA-256 of the
        empty string when none)."""
        return frontier_root(self._frontier, self.count)


@dataclass(frozen=True)
class StatementLine:
    """One line: a ``(metric, tariff version)`` of the period (design D1).

    Attributes:
        metric: the metered metric.
        tariff_id, tariff_version, tariff_hash: the tariff carried by the
            line's bundles (``tariff_hash`` 64 lowercase hex).
        events: number of bundles.
        quantity: Σ event quantities.
        amount_minor: ``compute_charge(tariff, quantity).amount_minor``, the
            period price (integer minor units).
        events_amount_minor: Σ of the bundles' stand-alone
            ``charge.amount_minor``.
    """

    metric: str
    tariff_id: str
    tariff_version: int
    tariff_hash: str
    events: int
    quantity: int
    amount_minor: int
    events_amount_minor: int

    def to_json(self) -> dict[str, Any]:
        """Return the line's JSON object (the members of ``_LINE_KEYS``)."""
        return {name: getattr(self, name) for name in _LINE_KEYS}


def period_lines(
    groups: Iterable[tuple[TariffDocument, int, int, int]],
) -> list[StatementLine]:
    """Return the statement lines of ``(tariff, events, quantity,
    events_amount_minor)`` groups, sorted by ``(metric, tariff_hash)``.

    Each line's ``amount_minor`` is the tariff applied once to the line's
    total quantity, rounded once (design D1).

    Raises:
        QuantityError: a total quantity above ``10**15``.
        TariffError: a period price above ``2**53 - 1`` minor units.
    """
    lines = [
        StatementLine(
            metric=tariff.metric,
            tariff_id=tariff.tariff_id,
            tariff_version=tariff.version,
            tariff_hash=tariff.tariff_hash,
            events=events,
            quantity=quantity,
            amount_minor=compute_charge(tariff, quantity).amount_minor,
            events_amount_minor=events_amount,
        )
        for tariff, events, quantity, events_amount in groups
    ]
    return sorted(lines, key=lambda line: (line.metric, line.tariff_hash))


def unsigned_statement(statement: dict[str, Any]) -> dict[str, Any]:
    """Return the statement without its ``sig``: the object the issuer
    signs."""
    return {k: v for k, v in statement.items() if k != "sig"}


def build_statement(
    *,
    tenant: str,
    period: str,
    currency: str,
    closed_at: datetime,
    issuer: KeyPair,
    lines: Sequence[StatementLine],
    receipts_count: int,
    receipts_root: bytes,
    unsequenced: Sequence[tuple[str, str]] = (),
    credit_notes: Sequence[dict[str, Any]] = (),
) -> dict[str, Any]:
    """Return the signed ``statement`` object.

    Args:
        tenant: the tenant's slug (the events' ``tenant``).
        period: ``YYYY-MM``.
        currency: ISO 4217 code of every line.
        closed_at: aware datetime, written as RFC 3339 UTC.
        issuer: the issuer key pair (its kid goes in ``kid``).
        lines: the period's lines (sorted here by ``(metric, tariff_hash)``).
        receipts_count: N, the highest sequence number of the period.
        receipts_root: the 32-byte :class:`ReceiptsRoot` root.
        unsequenced: ``(receipt_id, leaf_hash hex)`` of the period's
            ``vdi-billing/2`` bundles (sorted here).
        credit_notes: ``{"credit_note_id", "leaf_hash", "amount_minor"}``
            objects (negative amounts), empty until credit notes exist.
    """
    ordered = sorted(lines, key=lambda line: (line.metric, line.tariff_hash))
    notes = sorted(credit_notes, key=lambda note: note["credit_note_id"])
    body: dict[str, Any] = {
        "format": STATEMENT_FORMAT,
        "statement_id": statement_id_for(tenant, period),
        "tenant": tenant,
        "period": period,
        "currency": currency,
        "closed_at": format_rfc3339_utc(closed_at),
        "kid": issuer.kid,
        "lines": [line.to_json() for line in ordered],
        "credit_notes": [dict(note) for note in notes],
        "amount_minor": sum(line.amount_minor for line in ordered)
        + sum(note["amount_minor"] for note in notes),
        "receipts": {"count": receipts_count, "root": receipts_root.hex()},
        "unsequenced": [
            {"receipt_id": receipt_id, "leaf_hash": leaf}
            for receipt_id, leaf in sorted(unsequenced)
        ],
    }
    body["sig"] = sign_object(issuer.signing_key, CONTEXT_STATEMENT, body)
    return body


def statement_leaf_data(statement: dict[str, Any]) -> bytes:
    """Return the transparency-log leaf data of a signed statement (its JCS
    bytes)."""
    return canonical_json(statement)


def statement_leaf_hash(statement: dict[str, Any]) -> bytes:
    """Return the RFC 9162 leaf hash (32 bytes) of a signed statement."""
    return leaf_hash(statement_leaf_data(statement))


def build_statement_file(
    statement: dict[str, Any], log: dict[str, Any] | None
) -> dict[str, Any]:
    """Return the statement file: ``{"format", "statement", "log"}``;
    ``log`` is the leaf's evidence (the bundle ``log`` shape) or ``None``
    while the leaf is queued (the member is then left out)."""
    document: dict[str, Any] = {"format": STATEMENT_FORMAT, "statement": statement}
    if log is not None:
        document["log"] = log
    return document


def _fail(message: str, field: str) -> StatementFormatError:
    return StatementFormatError(message, field=field)


def _string(value: Any, field: str, pattern: re.Pattern[str] | None = None) -> str:
    text = require_instance(
        value,
        str,
        error=StatementFormatError,
        message="{field} must be a string, found {kind}",
        field=field,
    )
    if not text or len(text) > 200 or (pattern and not pattern.fullmatch(text)):
        raise _fail(f"{field} is not a valid value: {text[:60]!r}", field)
    return str(text)


def _int(value: Any, field: str, minimum: int | None = 0) -> int:
    return require_integer(
        value,
        error=StatementFormatError,
        message="{field} must be an integer, found {kind}",
        range_message="{field} must be an integer from {minimum} to {maximum}, "
        "found {value!r}",
        field=field,
        minimum=-MAX_SAFE_INTEGER if minimum is None else minimum,
        maximum=MAX_SAFE_INTEGER,
    )


def _hex(value: Any, field: str) -> str:
    return require_hex(
        value,
        error=StatementFormatError,
        message="{field} must be {length} lowercase hex characters",
        field=field,
    )


def _list(value: Any, field: str) -> list[Any]:
    return list(
        require_instance(
            value,
            list,
            error=StatementFormatError,
            message="{field} must be an array, found {kind}",
            field=field,
        )
    )


@dataclass(frozen=True)
class StatementFile:
    """A structurally valid statement file (signature not yet checked).

    ``statement`` keeps the signed object exactly as received: the
    signature and the leaf hash are checked over it, never over a
    re-serialisation.
    """

    statement: dict[str, Any]
    statement_id: str
    tenant: str
    period: str
    currency: str
    closed_at: datetime
    kid: str
    lines: tuple[StatementLine, ...]
    credit_notes: tuple[dict[str, Any], ...]
    amount_minor: int
    receipts_count: int
    receipts_root: bytes
    unsequenced: tuple[tuple[str, str], ...]
    log: LogEvidence | None

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> StatementFile:
        """Parse a statement file from its JSON text, strictly (I-JSON).

        Raises:
            JsonInputError: the bytes are not strict I-JSON.
            StatementFormatError: as :meth:`from_json`.
        """
        return cls.from_json(strict_loads(data))

    @classmethod
    def from_json(cls, obj: Any) -> StatementFile:
        """Parse a decoded statement file, checking every member's shape, the
        order of ``lines`` (by ``(metric, tariff_hash)``, no repeat),
        ``credit_notes`` (by id) and ``unsequenced`` (by receipt id), and that
        ``statement_id`` is derived from ``(tenant, period)``.

        Raises:
            StatementFormatError: (``statement_format_invalid``) naming the
                offending member (dotted path).
        """
        if isinstance(obj, dict) and "log" not in obj:
            obj = {**obj, "log": None}
        require_object(obj, _FILE_KEYS, error=StatementFormatError, what="file")
        if obj["format"] != STATEMENT_FORMAT:
            raise _fail(
                f"format must be {STATEMENT_FORMAT!r}, found {obj['format']!r}",
                "format",
            )
        st = require_object(
            obj["statement"],
            _STATEMENT_KEYS,
            error=StatementFormatError,
            path="statement",
        )
        if st["format"] != STATEMENT_FORMAT:
            raise _fail(
                f"statement.format must be {STATEMENT_FORMAT!r}", "statement.format"
            )
        statement_id = _string(
            st["statement_id"], "statement.statement_id", STATEMENT_ID_RE
        )
        tenant = _string(st["tenant"], "statement.tenant")
        period = _string(st["period"], "statement.period", PERIOD_RE)
        if statement_id != statement_id_for(tenant, period):
            raise StatementFormatError(
                f"statement_id {statement_id} is not stmt_ + 24 hex of "
                f"SHA-256(JCS(['statement', tenant, period])) = "
                f"{statement_id_for(tenant, period)}",
                field="statement.statement_id",
            )
        currency = _string(st["currency"], "statement.currency", _CURRENCY_RE)
        try:
            closed_at = parse_rfc3339_utc(st["closed_at"])
        except ValueError as exc:
            raise _fail(str(exc), "statement.closed_at") from exc
        kid = _string(st["kid"], "statement.kid")
        lines = []
        for i, raw in enumerate(_list(st["lines"], "statement.lines")):
            path = f"statement.lines[{i}]"
            line = require_object(
                raw, _LINE_KEYS, error=StatementFormatError, path=path
            )
            lines.append(
                StatementLine(
                    metric=_string(line["metric"], f"{path}.metric"),
                    tariff_id=_string(line["tariff_id"], f"{path}.tariff_id"),
                    tariff_version=_int(
                        line["tariff_version"], f"{path}.tariff_version"
                    ),
                    tariff_hash=_hex(line["tariff_hash"], f"{path}.tariff_hash"),
                    events=_int(line["events"], f"{path}.events"),
                    quantity=_int(line["quantity"], f"{path}.quantity"),
                    amount_minor=_int(line["amount_minor"], f"{path}.amount_minor"),
                    events_amount_minor=_int(
                        line["events_amount_minor"], f"{path}.events_amount_minor"
                    ),
                )
            )
        keys = [(line.metric, line.tariff_hash) for line in lines]
        if any(a >= b for a, b in zip(keys, keys[1:], strict=False)):
            raise _fail(
                "lines must be sorted by (metric, tariff_hash) without repeats",
                "statement.lines",
            )
        notes = []
        for i, raw in enumerate(_list(st["credit_notes"], "statement.credit_notes")):
            path = f"statement.credit_notes[{i}]"
            note = require_object(
                raw, _CREDIT_NOTE_KEYS, error=StatementFormatError, path=path
            )
            _string(note["credit_note_id"], f"{path}.credit_note_id")
            _hex(note["leaf_hash"], f"{path}.leaf_hash")
            if _int(note["amount_minor"], f"{path}.amount_minor", None) >= 0:
                raise _fail("a credit note's amount_minor is negative", path)
            notes.append(dict(note))
        ids = [note["credit_note_id"] for note in notes]
        if ids != sorted(set(ids)):
            raise _fail(
                "credit_notes must be sorted by credit_note_id without repeats",
                "statement.credit_notes",
            )
        amount = _int(st["amount_minor"], "statement.amount_minor", None)
        receipts = require_object(
            st["receipts"],
            _RECEIPTS_KEYS,
            error=StatementFormatError,
            path="statement.receipts",
        )
        count = _int(receipts["count"], "statement.receipts.count")
        root = bytes.fromhex(_hex(receipts["root"], "statement.receipts.root"))
        unsequenced = []
        for i, raw in enumerate(_list(st["unsequenced"], "statement.unsequenced")):
            path = f"statement.unsequenced[{i}]"
            item = require_object(
                raw, _UNSEQUENCED_KEYS, error=StatementFormatError, path=path
            )
            unsequenced.append(
                (
                    _string(item["receipt_id"], f"{path}.receipt_id"),
                    _hex(item["leaf_hash"], f"{path}.leaf_hash"),
                )
            )
        receipt_ids = [receipt_id for receipt_id, _ in unsequenced]
        if receipt_ids != sorted(set(receipt_ids)):
            raise _fail(
                "unsequenced must be sorted by receipt_id without repeats",
                "statement.unsequenced",
            )
        _string(st["sig"], "statement.sig")
        log = None
        if obj["log"] is not None:
            try:
                log = _parse_log(obj["log"])
            except BundleFormatError as exc:
                raise _fail(exc.message, exc.field or "log") from exc
        return cls(
            statement=st,
            statement_id=statement_id,
            tenant=tenant,
            period=period,
            currency=currency,
            closed_at=closed_at,
            kid=kid,
            lines=tuple(lines),
            credit_notes=tuple(notes),
            amount_minor=amount,
            receipts_count=count,
            receipts_root=root,
            unsequenced=tuple(unsequenced),
            log=log,
        )


def _parse_log(log: Any) -> LogEvidence:
    """Parse the ``log`` member with the bundle's own parser (one reader of
    the §4.10 log evidence).

    Raises:
        BundleFormatError: a malformed log member.
    """
    return Bundle._parse_log(log)
