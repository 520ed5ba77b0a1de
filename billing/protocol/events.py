"""Meter events and meter envelopes (DESIGN.md, "The bundle").

A **meter event** is the usage fact a tenant is billed for::

    {"tenant": "acme", "event_id": "evt_123", "window": "2026-11",
     "metric": "api_requests", "quantity": 1,
     "occurred_at": "2026-11-21T10:05:03Z",
     "attributes": {"route": "/v1/search", "method": "GET", "status": 200,
                    "bytes": 5120}}

A **meter envelope** ``{"event", "kid", "sig"}`` carries the event signed by a
meter key under the context ``meterproof/meter-envelope/v1``: the one signing
rule is :func:`meter_envelope_sign`, the one signature check
:func:`meter_envelope_verify` (attest and the verifier's ``meter_signature``
check both call it).
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from functools import cached_property
from typing import Any

import nacl.signing

from billing.protocol.contexts import CONTEXT_METER_ENVELOPE
from kernel.protocol.ed25519 import sign_object, verify_object
from kernel.protocol.jcs import canonical_hash
from kernel.protocol.shape import require_integer
from kernel.protocol.text import unstorable_char
from kernel.protocol.timefmt import parse_rfc3339_utc

from .errors import MeterEventError

#: Largest accepted quantity (10**15): far above any real meter reading, far
#: below the I-JSON integer limit (2**53 - 1) that RFC 8785 can encode.
MAX_QUANTITY = 10**15
MAX_ATTRIBUTES = 32
MAX_ATTRIBUTE_VALUE_CHARS = 1024

_ID_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}\Z")
_WINDOW_RE = re.compile(r"^([0-9]{4})-(0[1-9]|1[0-2])\Z")


def is_identifier(value: object) -> bool:
    """Return whether ``value`` is a valid meter-event identifier (``tenant``,
    ``event_id``, ``metric``): 1-128 characters of ``[A-Za-z0-9._:-]``
    starting with a letter or digit (PROTOCOL.md §4.4)."""
    return isinstance(value, str) and _ID_RE.match(value) is not None


def parse_window(text: str) -> str:
    """Return ``text`` if it is a billing month ``YYYY-MM`` (month 01..12), the
    ``window`` grammar of a meter event.

    Raises:
        MeterEventError: anything else (``field`` is ``"window"``).
    """
    if not _WINDOW_RE.match(text):
        raise MeterEventError(
            f"window must be a billing month YYYY-MM, found {text!r}", field="window"
        )
    return text


_ATTR_KEY_RE = re.compile(r"^[a-z][a-z0-9_]{0,63}\Z")
_EVENT_KEYS = {
    "tenant",
    "event_id",
    "window",
    "metric",
    "quantity",
    "occurred_at",
    "attributes",
}
_ENVELOPE_KEYS = {"event", "kid", "sig"}
#: A kid is 1-128 printable ASCII characters (RFC 7638 thumbprints are 43).
_KID_RE = re.compile(r"[\x21-\x7e]{1,128}\Z")


def _require_id(obj: dict[str, Any], key: str) -> str:
    value = obj.get(key)
    if not isinstance(value, str) or not _ID_RE.match(value):
        raise MeterEventError(
            f"{key} must be 1-128 characters of [A-Za-z0-9._:-] starting with a letter "
            f"or digit, found {value!r}",
            field=key,
        )
    return value


@dataclass(frozen=True)
class MeterEventBody:
    """A validated meter event: the body a meter signs (PROTOCOL.md §4.4).

    ``to_json()`` gives the exact signed object; :class:`MeterEnvelope` wraps
    it with the meter's ``kid`` and ``sig``. Not the Django row
    :class:`billing.models.MeterEvent`, which stores an attested event.
    """

    tenant: str
    event_id: str
    window: str
    metric: str
    quantity: int
    occurred_at: str
    attributes: dict[str, str | int | bool | None]

    @property
    def occurred_at_dt(self) -> datetime:
        """``occurred_at`` as an aware UTC datetime."""
        return parse_rfc3339_utc(self.occurred_at)

    @cached_property
    def meter_hash(self) -> str:
        """SHA-256(JCS(event)), lowercase hex: the bundle's ``meter_hash``."""
        return canonical_hash(self.to_json())

    def to_json(self) -> dict[str, Any]:
        """Return the event as the JSON object that the meter signs."""
        return {
            "tenant": self.tenant,
            "event_id": self.event_id,
            "window": self.window,
            "metric": self.metric,
            "quantity": self.quantity,
            "occurred_at": self.occurred_at,
            "attributes": dict(self.attributes),
        }

    @classmethod
    def from_json(cls, obj: Any) -> MeterEventBody:
        """Validate and return a meter event.

        Rules: every key of the example above is present and no other; ids are
        1-128 characters of ``[A-Za-z0-9._:-]``; ``window`` is ``YYYY-MM`` and
        ``occurred_at`` (RFC 3339 UTC) falls inside that calendar month (UTC);
        ``quantity`` is an integer in ``[0, 10**15]`` (not a bool, not a float);
        ``attributes`` has at most 32 snake_case keys whose values are strings
        (at most 1024 characters, no U+0000 and no lone surrogate: neither
        can be stored in PostgreSQL text nor encoded as UTF-8), integers,
        booleans or null.

        Raises:
            MeterEventError: naming the offending ``field``.
        """
        if not isinstance(obj, dict):
            raise MeterEventError("meter event must be a JSON object", field="event")
        missing = sorted(_EVENT_KEYS - obj.keys())
        if missing:
            raise MeterEventError(f"missing field {missing[0]!r}", field=missing[0])
        unknown = sorted(obj.keys() - _EVENT_KEYS)
        if unknown:
            raise MeterEventError(f"unknown field {unknown[0]!r}", field=unknown[0])
        tenant = _require_id(obj, "tenant")
        event_id = _require_id(obj, "event_id")
        metric = _require_id(obj, "metric")
        window = obj["window"]
        match = _WINDOW_RE.match(window) if isinstance(window, str) else None
        if not match:
            raise MeterEventError(
                f"window must be a billing month YYYY-MM, found {window!r}",
                field="window",
            )
        quantity = require_integer(
            obj["quantity"],
            error=MeterEventError,
            field="quantity",
            maximum=MAX_QUANTITY,
            message="quantity must be an integer, found {type}",
            range_message="quantity must be between 0 and {maximum}, found {value}",
        )
        try:
            occurred = parse_rfc3339_utc(obj["occurred_at"])
        except ValueError as exc:
            raise MeterEventError(str(exc), field="occurred_at") from exc
        if (occurred.year, occurred.month) != (
            int(match.group(1)),
            int(match.group(2)),
        ):
            raise MeterEventError(
                f"occurred_at {obj['occurred_at']} is outside window {window}",
                field="occurred_at",
            )
        attributes = obj["attributes"]
        if not isinstance(attributes, dict):
            raise MeterEventError(
                "attributes must be a JSON object", field="attributes"
            )
        if len(attributes) > MAX_ATTRIBUTES:
            raise MeterEventError(
                f"at most {MAX_ATTRIBUTES} attributes, found {len(attributes)}",
                field="attributes",
            )
        for key, value in attributes.items():
            path = f"attributes.{key}"
            if not isinstance(key, str) or not _ATTR_KEY_RE.match(key):
                raise MeterEventError(
                    f"attribute name {key!r} must be snake_case", field=path
                )
            if isinstance(value, str):
                bad = unstorable_char(value)
                if bad is not None:
                    raise MeterEventError(
                        f"attribute values must be Unicode text without NUL or "
                        f"lone surrogates, found {bad}",
                        field=path,
                    )
                if len(value) > MAX_ATTRIBUTE_VALUE_CHARS:
                    raise MeterEventError(
                        f"attribute is {len(value)} characters, at most "
                        f"{MAX_ATTRIBUTE_VALUE_CHARS}",
                        field=path,
                    )
            elif isinstance(value, int) and not isinstance(value, bool):
                if abs(value) > 2**53 - 1:
                    raise MeterEventError(
                        "integer attribute exceeds 2**53 - 1", field=path
                    )
            elif value is not None and not isinstance(value, bool):
                raise MeterEventError(
                    f"attribute values are strings, integers, booleans or null, found "
                    f"{type(value).__name__}",
                    field=path,
                )
        return cls(
            tenant=tenant,
            event_id=event_id,
            window=window,
            metric=metric,
            quantity=quantity,
            occurred_at=obj["occurred_at"],
            attributes=dict(attributes),
        )


MeterEvent = MeterEventBody  # deprecated alias, removed in a later release


@dataclass(frozen=True)
class MeterEnvelope:
    """A meter event signed by a meter key: ``{"event", "kid", "sig"}``."""

    event: MeterEventBody
    kid: str
    sig: str

    def to_json(self) -> dict[str, Any]:
        """Return the envelope as JSON."""
        return {"event": self.event.to_json(), "kid": self.kid, "sig": self.sig}

    @classmethod
    def from_json(cls, obj: Any) -> MeterEnvelope:
        """Validate the envelope's shape (not its signature): ``kid`` is 1-128
        printable ASCII characters, ``sig`` a non-empty string.

        Raises:
            MeterEventError: on a malformed envelope or event (``field`` is
                prefixed with ``event.``).
        """
        if not isinstance(obj, dict):
            raise MeterEventError(
                "meter envelope must be a JSON object", field="meter_envelope"
            )
        unknown = sorted(obj.keys() - _ENVELOPE_KEYS)
        if unknown:
            raise MeterEventError(f"unknown field {unknown[0]!r}", field=unknown[0])
        for key in ("kid", "sig"):
            if not isinstance(obj.get(key), str) or not obj[key]:
                raise MeterEventError(f"{key} must be a non-empty string", field=key)
        if not _KID_RE.match(obj["kid"]):
            raise MeterEventError(
                "kid must be 1-128 printable ASCII characters (RFC 7638 "
                f"thumbprint), found {obj['kid'][:40]!r}",
                field="kid",
            )
        try:
            event = MeterEventBody.from_json(obj.get("event"))
        except MeterEventError as exc:
            raise MeterEventError(
                exc.message,
                field=f"event.{exc.field}" if exc.field != "event" else "event",
            ) from exc
        return cls(event=event, kid=obj["kid"], sig=obj["sig"])


def meter_envelope_sign(
    event: MeterEventBody, *, kid: str, signing_key: nacl.signing.SigningKey
) -> MeterEnvelope:
    """Return ``event`` signed by a meter key as a meter envelope.

    ``sig`` is the base64url (no padding) 64-byte Ed25519 signature over
    ``"meterproof/meter-envelope/v1" || 0x00 || JCS(event)`` (DESIGN.md,
    "Keys"); ``kid`` is the key's RFC 7638 thumbprint.
    """
    sig = sign_object(signing_key, CONTEXT_METER_ENVELOPE, event.to_json())
    return MeterEnvelope(event=event, kid=kid, sig=sig)


def meter_envelope_verify(
    envelope: MeterEnvelope,
    verify_key: nacl.signing.VerifyKey,
    *,
    signed: dict[str, Any] | None = None,
    field: str = "sig",
) -> None:
    """Check ``envelope.sig`` is ``verify_key``'s meter signature over the event.

    The signed message is ``"meterproof/meter-envelope/v1" || 0x00 ||
    JCS(event)``; ``verify_key`` is the meter key the caller chose for
    ``envelope.kid`` (trust lookup, revocation and validity windows are the
    caller's policy).

    Args:
        envelope: the parsed envelope.
        verify_key: the 32-byte Ed25519 public key of the meter.
        signed: the event JSON exactly as received, when the caller has it
            (a verifier checks received bytes, never a re-serialisation);
            ``envelope.event.to_json()`` otherwise.
        field: the error's ``field`` (``"sig"`` for the attest API,
            ``"attestation.meter_envelope.sig"`` in a bundle).

    Raises:
        SignatureError: ``sig`` is malformed or does not verify.
    """
    verify_object(
        verify_key,
        CONTEXT_METER_ENVELOPE,
        envelope.event.to_json() if signed is None else signed,
        envelope.sig,
        field=field,
    )
