"""The ``vdi-billing-credit-note/1`` credit note: building, parsing, its leaf.

A credit note is a signed, logged correction of one bundle: a negative amount
that nets into a billing period's statement (docs/PROTOCOL.md §12). The file::

    {"format": "vdi-billing-credit-note/1",
     "credit_note": {                              # signed by the issuer
        "format": "vdi-billing-credit-note/1",
        "credit_note_id": "cn_" + 24 lowercase hex,
        "tenant": "<tenant id>",
        "period": "YYYY-MM",                       # the period it nets into
        "currency": "EUR",
        "amount_minor": -150,                      # integer minor units, < 0
        "original": {"receipt_id": "rcpt_...",
                     "leaf_hash": "<64 hex>",      # the bundle's log leaf hash
                     "period": "YYYY-MM",          # the bundle's event window
                     "amount_minor": 400},         # the bundle's charge
        "reason": {"code": "revocation", "text": "..."},
        "issued_at": "<RFC 3339 UTC>",
        "kid": "<issuer kid>",
        "sig": "<issuer Ed25519, context meterproof/credit-note/v1>"},
     "log": {<exactly a bundle's log evidence (§4.10)>}}

The issuer signs the ``credit_note`` object without ``sig``. The
transparency-log leaf is the JCS bytes of the whole signed ``credit_note``
(RFC 9162 §2.1.1 leaf hash SHA-256(0x00 || data)), in the same log as the
bundles. ``original.leaf_hash`` is the original bundle's leaf hash, so the
credit note names exactly one signed attestation. Files are read with the
strict I-JSON reader (:meth:`CreditNote.from_bytes`).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Final

from kernel.protocol.ed25519 import KeyPair, sign_object
from kernel.protocol.errors import JsonInputError
from kernel.protocol.jcs import canonical_json
from kernel.protocol.shape import is_integer, require_hex, require_object
from kernel.protocol.strictjson import loads as strict_loads
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc
from transparency.protocol.merkle import leaf_hash

from .bundle import Bundle, LogEvidence
from .contexts import CONTEXT_CREDIT_NOTE
from .errors import BundleFormatError, CreditNoteFormatError

__all__ = [
    "CREDIT_NOTE_FORMAT",
    "CREDIT_NOTE_REASON_CODES",
    "MAX_AMOUNT_MINOR",
    "MAX_REASON_TEXT_CHARS",
    "CreditNote",
    "build_credit_note",
    "credit_note_id_new",
    "credit_note_json_or_none",
    "credit_note_leaf_data",
    "credit_note_leaf_hash",
]

CREDIT_NOTE_FORMAT: Final = "vdi-billing-credit-note/1"
#: The reason codes the server issues; the format accepts any
#: ``[a-z][a-z0-9_]{0,31}`` so that later codes keep verifying.
CREDIT_NOTE_REASON_CODES: Final = ("revocation", "dispute", "correction")
#: Longest ``reason.text`` (characters).
MAX_REASON_TEXT_CHARS: Final = 1000
#: The largest magnitude of an amount (2^53 - 1: exact in every JSON reader).
MAX_AMOUNT_MINOR: Final = 2**53 - 1

_BODY_KEYS: Final = (
    "format",
    "credit_note_id",
    "tenant",
    "period",
    "currency",
    "amount_minor",
    "original",
    "reason",
    "issued_at",
    "kid",
    "sig",
)
_ORIGINAL_KEYS: Final = ("receipt_id", "leaf_hash", "period", "amount_minor")
_REASON_KEYS: Final = ("code", "text")
_ID_RE: Final = re.compile(r"cn_[0-9a-f]{24}", re.ASCII)
_PERIOD_RE: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}", re.ASCII)
_CODE_RE: Final = re.compile(r"[a-z][a-z0-9_]{0,31}", re.ASCII)


def credit_note_id_new(random_bytes: bytes) -> str:
    """Return a credit note id: ``cn_`` + the 24 lowercase hex characters of
    12 random bytes (``random_bytes``, e.g. ``secrets.token_bytes(12)``).

    Raises:
        ValueError: ``random_bytes`` is not 12 bytes long.
    """
    if len(random_bytes) != 12:
        raise ValueError("a credit note id needs 12 random bytes")
    return "cn_" + random_bytes.hex()


def _unsigned(body: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in body.items() if k != "sig"}


def build_credit_note(
    *,
    credit_note_id: str,
    tenant: str,
    period: str,
    currency: str,
    amount_minor: int,
    original: dict[str, Any],
    reason_code: str,
    reason_text: str,
    issued_at: datetime,
    issuer: KeyPair,
) -> dict[str, Any]:
    """Return the signed ``credit_note`` object (without log evidence).

    Args:
        credit_note_id: ``cn_`` + 24 lowercase hex (:func:`credit_note_id_new`).
        tenant: the original bundle's tenant id.
        period: ``YYYY-MM``, the billing period the credit nets into.
        currency: ISO 4217 code of the original charge.
        amount_minor: the credit, a negative integer (minor units).
        original: ``{"receipt_id", "leaf_hash", "period", "amount_minor"}``
            of the original bundle (leaf hash lowercase hex, amount its
            ``charge.amount_minor``).
        reason_code: e.g. ``revocation``, ``dispute``, ``correction``.
        reason_text: free text for people (may be empty).
        issued_at: aware datetime, written as RFC 3339 UTC.
        issuer: the issuer key pair; its kid goes in ``kid``.

    Raises:
        CreditNoteFormatError: the result would not parse (a positive
            amount, a malformed member); nothing is signed.
    """
    body: dict[str, Any] = {
        "format": CREDIT_NOTE_FORMAT,
        "credit_note_id": credit_note_id,
        "tenant": tenant,
        "period": period,
        "currency": currency,
        "amount_minor": amount_minor,
        "original": dict(original),
        "reason": {"code": reason_code, "text": reason_text},
        "issued_at": format_rfc3339_utc(issued_at),
        "kid": issuer.kid,
    }
    CreditNote.parse_body({**body, "sig": ""})
    body["sig"] = sign_object(issuer.signing_key, CONTEXT_CREDIT_NOTE, body)
    return body


def credit_note_leaf_data(body: dict[str, Any]) -> bytes:
    """Return the transparency-log leaf data of a signed ``credit_note``
    object: its RFC 8785 JCS bytes."""
    return canonical_json(body)


def credit_note_leaf_hash(document: dict[str, Any] | bytes) -> str:
    """Return the RFC 9162 leaf hash (lowercase hex, 64 characters) of a
    credit note: of a file (its bytes or parsed JSON, the ``credit_note``
    member is hashed) or of the signed ``credit_note`` object itself.

    The statement verifier matches a statement's ``credit_notes[].leaf_hash``
    against it.

    Raises:
        CreditNoteFormatError: the input is not a credit note.
        JsonInputError: bytes that are not strict I-JSON.
    """
    if isinstance(document, (bytes, bytearray)):
        document = strict_loads(document)
    if not isinstance(document, dict):
        raise CreditNoteFormatError("a credit note is a JSON object", field="")
    body = document.get("credit_note", document)
    CreditNote.parse_body(body)
    return leaf_hash(credit_note_leaf_data(body)).hex()


def credit_note_json_or_none(data: bytes | bytearray) -> dict[str, Any] | None:
    """Return the parsed file when ``data`` is a credit note (strict I-JSON
    whose top-level ``format`` is ``vdi-billing-credit-note/1``), else
    ``None``: every other file, and any the strict reader refuses, is left
    to the bundle reader (which reports its own ``bundle_format`` code).

    The bytes are parsed only when they contain the format string, so a
    bundle is not read twice.
    """
    if CREDIT_NOTE_FORMAT.encode("ascii") not in data:
        return None
    try:
        obj = strict_loads(data)
    except JsonInputError:
        return None
    if isinstance(obj, dict) and obj.get("format") == CREDIT_NOTE_FORMAT:
        return obj
    return None


def _text(value: Any, field: str, *, maximum: int = 128) -> str:
    if not isinstance(value, str) or not value or len(value) > maximum:
        raise CreditNoteFormatError(
            f"{field} must be a non-empty string of at most {maximum} characters",
            field=f"credit_note.{field}",
        )
    return value


def _period(value: Any, field: str) -> str:
    if not isinstance(value, str) or not _PERIOD_RE.fullmatch(value):
        raise CreditNoteFormatError(
            f"{field} must be a billing period YYYY-MM, found {value!r}",
            field=f"credit_note.{field}",
        )
    return value


@dataclass(frozen=True)
class CreditNote:
    """A structurally valid credit note (signature not yet checked).

    ``body`` keeps the signed ``credit_note`` object exactly as received:
    the signature and the leaf hash are checked over it, never over a
    re-serialisation. Amounts are integer minor units.
    """

    body: dict[str, Any]
    credit_note_id: str
    tenant: str
    period: str
    currency: str
    amount_minor: int
    original_receipt_id: str
    original_leaf_hash: str
    original_period: str
    original_amount_minor: int
    reason_code: str
    reason_text: str
    issued_at: datetime
    issuer_kid: str
    log: LogEvidence | None

    @property
    def leaf_hash(self) -> bytes:
        """The RFC 9162 leaf hash (32 bytes) of the signed ``credit_note``."""
        return leaf_hash(credit_note_leaf_data(self.body))

    @property
    def unsigned(self) -> dict[str, Any]:
        """The ``credit_note`` object without ``sig``: what the issuer signs."""
        return _unsigned(self.body)

    @classmethod
    def from_bytes(cls, data: bytes | bytearray) -> CreditNote:
        """Parse a credit-note file from its JSON text (UTF-8), strictly.

        Raises:
            JsonInputError: (``malformed_json``, ``duplicate_member``,
                ``json_too_deep``, ``invalid_unicode``) from the strict reader.
            CreditNoteFormatError: as :meth:`from_json`.
        """
        return cls.from_json(strict_loads(data))

    @classmethod
    def from_json(cls, obj: Any) -> CreditNote:
        """Parse a credit-note file (decoded JSON): ``{"format",
        "credit_note", "log"?}``; ``log`` is absent or a bundle's log
        evidence object, never ``null``.

        Raises:
            CreditNoteFormatError: (``credit_note_format_invalid``) naming
                the offending field (dotted path).
        """
        if not isinstance(obj, dict):
            raise CreditNoteFormatError(
                "a credit note must be a JSON object", field="credit_note"
            )
        if obj.get("format") != CREDIT_NOTE_FORMAT:
            raise CreditNoteFormatError(
                f"format must be {CREDIT_NOTE_FORMAT!r}, found {obj.get('format')!r}",
                field="format",
            )
        extra = sorted(obj.keys() - {"format", "credit_note", "log"})
        if extra:
            raise CreditNoteFormatError(f"unknown field {extra[0]!r}", field=extra[0])
        if "credit_note" not in obj:
            raise CreditNoteFormatError("credit_note is missing", field="credit_note")
        note = cls.parse_body(obj["credit_note"])
        if "log" not in obj:
            return note
        try:
            log = Bundle._parse_log(obj["log"])
        except BundleFormatError as exc:
            raise CreditNoteFormatError(exc.message, field=exc.field) from exc
        return cls(**{**note.__dict__, "log": log})

    @classmethod
    def parse_body(cls, body: Any) -> CreditNote:
        """Parse the signed ``credit_note`` object (no log evidence).

        Shape: exactly the members of the module docstring; ``credit_note_id``
        ``cn_`` + 24 lowercase hex; periods ``YYYY-MM``; ``currency`` three
        capital letters; ``amount_minor`` an integer with magnitude at most
        2^53 - 1 (its sign is the ``credit_note_amount`` check's);
        ``original.amount_minor`` an integer from 0 to 2^53 - 1;
        ``original.leaf_hash`` 64 lowercase hex; ``reason.code``
        ``[a-z][a-z0-9_]{0,31}`` and ``reason.text`` at most 1,000
        characters; ``issued_at`` RFC 3339 UTC.

        Raises:
            CreditNoteFormatError: naming the offending field.
        """
        require_object(
            body,
            _BODY_KEYS,
            error=CreditNoteFormatError,
            path="credit_note",
            what="credit_note",
        )
        if body["format"] != CREDIT_NOTE_FORMAT:
            raise CreditNoteFormatError(
                f"credit_note.format must be {CREDIT_NOTE_FORMAT!r}",
                field="credit_note.format",
            )
        if not isinstance(body["credit_note_id"], str) or not _ID_RE.fullmatch(
            body["credit_note_id"]
        ):
            raise CreditNoteFormatError(
                "credit_note_id must be 'cn_' followed by 24 lowercase hex "
                f"characters, found {body['credit_note_id']!r}",
                field="credit_note.credit_note_id",
            )
        tenant = _text(body["tenant"], "tenant")
        period = _period(body["period"], "period")
        if not isinstance(body["currency"], str) or not _CURRENCY_RE.fullmatch(
            body["currency"]
        ):
            raise CreditNoteFormatError(
                "currency must be an ISO 4217 code (three capital letters)",
                field="credit_note.currency",
            )
        amount = body["amount_minor"]
        if not is_integer(amount) or abs(amount) > MAX_AMOUNT_MINOR:
            raise CreditNoteFormatError(
                "amount_minor must be an integer (minor units) of magnitude at "
                f"most 2^53 - 1, found {amount!r}",
                field="credit_note.amount_minor",
            )
        original = require_object(
            body["original"],
            _ORIGINAL_KEYS,
            error=CreditNoteFormatError,
            path="credit_note.original",
        )
        _text(original["receipt_id"], "original.receipt_id")
        require_hex(
            original["leaf_hash"],
            error=CreditNoteFormatError,
            field="credit_note.original.leaf_hash",
            message="original.leaf_hash must be {length} lowercase hex characters",
        )
        _period(original["period"], "original.period")
        original_amount = original["amount_minor"]
        if not is_integer(original_amount) or not (
            0 <= original_amount <= MAX_AMOUNT_MINOR
        ):
            raise CreditNoteFormatError(
                "original.amount_minor must be an integer from 0 to 2^53 - 1, "
                f"found {original_amount!r}",
                field="credit_note.original.amount_minor",
            )
        reason = require_object(
            body["reason"],
            _REASON_KEYS,
            error=CreditNoteFormatError,
            path="credit_note.reason",
        )
        if not isinstance(reason["code"], str) or not _CODE_RE.fullmatch(
            reason["code"]
        ):
            raise CreditNoteFormatError(
                "reason.code must match [a-z][a-z0-9_]{0,31}, found "
                f"{reason['code']!r}",
                field="credit_note.reason.code",
            )
        if (
            not isinstance(reason["text"], str)
            or len(reason["text"]) > MAX_REASON_TEXT_CHARS
        ):
            raise CreditNoteFormatError(
                f"reason.text must be a string of at most {MAX_REASON_TEXT_CHARS} "
                "characters",
                field="credit_note.reason.text",
            )
        try:
            issued_at = parse_rfc3339_utc(body["issued_at"])
        except ValueError as exc:
            raise CreditNoteFormatError(
                str(exc), field="credit_note.issued_at"
            ) from exc
        kid = _text(body["kid"], "kid")
        if not isinstance(body["sig"], str):
            raise CreditNoteFormatError("sig must be a string", field="credit_note.sig")
        return cls(
            body=body,
            credit_note_id=body["credit_note_id"],
            tenant=tenant,
            period=period,
            currency=body["currency"],
            amount_minor=amount,
            original_receipt_id=original["receipt_id"],
            original_leaf_hash=original["leaf_hash"],
            original_period=original["period"],
            original_amount_minor=original_amount,
            reason_code=reason["code"],
            reason_text=reason["text"],
            issued_at=issued_at,
            issuer_kid=kid,
            log=None,
        )
