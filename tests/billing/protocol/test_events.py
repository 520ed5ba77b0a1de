"""Meter events and envelopes (events.py) and RFC 3339 UTC timestamps (timefmt.py)."""

from __future__ import annotations

import copy
import hashlib
from datetime import UTC, datetime, timedelta, timezone
from typing import Any

import nacl.signing
import pytest
import rfc8785

from billing.protocol.errors import MeterEventError
from billing.protocol.events import (
    MeterEnvelope,
    MeterEventBody,
    meter_envelope_sign,
    meter_envelope_verify,
)
from kernel.protocol.ed25519 import KeyPair, b64url_decode
from kernel.protocol.errors import SignatureError
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc

from .builders import event_json


def test_valid_event_round_trips() -> None:
    """from_json(e).to_json() == e, and meter_hash is SHA-256(JCS(e))."""
    obj = event_json()
    event = MeterEventBody.from_json(copy.deepcopy(obj))
    assert event.to_json() == obj
    assert MeterEventBody.from_json(event.to_json()) == event
    assert event.meter_hash == hashlib.sha256(rfc8785.dumps(obj)).hexdigest()
    assert event.occurred_at_dt == datetime(2026, 11, 21, 10, 5, 3, tzinfo=UTC)


@pytest.mark.parametrize(
    "overrides",
    [
        {"quantity": 0},
        {"quantity": 10**15},
        {"occurred_at": "2026-11-01T00:00:00Z"},
        {"occurred_at": "2026-11-30T23:59:59.999999Z"},
        {"window": "2026-02", "occurred_at": "2026-02-28T12:00:00Z"},
        {"attributes": {}},
        {"attributes": {f"k{i}": i for i in range(32)}},
        {"attributes": {"a": "x" * 1024, "b": None, "c": True, "d": -(2**53 - 1)}},
        {"tenant": "a", "event_id": "A" * 128, "metric": "x.y:z-1_2"},
    ],
)
def test_boundary_values_are_accepted(overrides: dict[str, Any]) -> None:
    """Values at the documented limits are valid."""
    MeterEventBody.from_json(event_json(**overrides))


def _without(key: str) -> dict[str, Any]:
    obj = event_json()
    del obj[key]
    return obj


def _attrs(attributes: dict[Any, Any]) -> dict[str, Any]:
    return event_json(attributes=attributes)


INVALID: list[tuple[str, Any, str]] = [
    ("not-object", ["tenant"], "event"),
    ("missing-tenant", _without("tenant"), "tenant"),
    ("missing-attributes", _without("attributes"), "attributes"),
    ("missing-quantity", _without("quantity"), "quantity"),
    ("unknown-field", event_json(price=1), "price"),
    ("tenant-empty", event_json(tenant=""), "tenant"),
    ("tenant-space", event_json(tenant="ac me"), "tenant"),
    ("tenant-leading-dot", event_json(tenant=".acme"), "tenant"),
    ("tenant-int", event_json(tenant=5), "tenant"),
    ("tenant-trailing-newline", event_json(tenant="acme\n"), "tenant"),
    ("event-id-too-long", event_json(event_id="e" * 129), "event_id"),
    ("event-id-slash", event_json(event_id="evt/1"), "event_id"),
    ("event-id-unicode", event_json(event_id="évt"), "event_id"),
    ("metric-none", event_json(metric=None), "metric"),
    ("window-day", event_json(window="2026-11-21"), "window"),
    ("window-month-13", event_json(window="2026-13"), "window"),
    ("window-month-00", event_json(window="2026-00"), "window"),
    ("window-short", event_json(window="26-11"), "window"),
    ("window-int", event_json(window=202611), "window"),
    ("window-trailing-newline", event_json(window="2026-11\n"), "window"),
    ("window-fullwidth-digits", event_json(window="２０２６-11"), "window"),
    (
        "occurred-before-window",
        event_json(occurred_at="2026-10-31T23:59:59Z"),
        "occurred_at",
    ),
    (
        "occurred-after-window",
        event_json(occurred_at="2026-12-01T00:00:00Z"),
        "occurred_at",
    ),
    (
        "occurred-offset",
        event_json(occurred_at="2026-11-21T10:05:03+00:00"),
        "occurred_at",
    ),
    (
        "occurred-offset-2",
        event_json(occurred_at="2026-11-21T12:05:03+02:00"),
        "occurred_at",
    ),
    (
        "occurred-lowercase-z",
        event_json(occurred_at="2026-11-21T10:05:03z"),
        "occurred_at",
    ),
    ("occurred-no-zone", event_json(occurred_at="2026-11-21T10:05:03"), "occurred_at"),
    ("occurred-space", event_json(occurred_at="2026-11-21 10:05:03Z"), "occurred_at"),
    (
        "occurred-feb-30",
        event_json(window="2026-02", occurred_at="2026-02-30T00:00:00Z"),
        "occurred_at",
    ),
    ("occurred-hour-24", event_json(occurred_at="2026-11-21T24:00:00Z"), "occurred_at"),
    (
        "occurred-nanos",
        event_json(occurred_at="2026-11-21T10:05:03.1234567Z"),
        "occurred_at",
    ),
    ("occurred-unix", event_json(occurred_at=1795255503), "occurred_at"),
    (
        "occurred-trailing-newline",
        event_json(occurred_at="2026-11-21T10:05:03Z\n"),
        "occurred_at",
    ),
    (
        "occurred-fullwidth-digits",
        event_json(occurred_at="２０２６-11-21T10:05:03Z"),
        "occurred_at",
    ),
    ("quantity-bool", event_json(quantity=True), "quantity"),
    ("quantity-float", event_json(quantity=6.0), "quantity"),
    ("quantity-str", event_json(quantity="6"), "quantity"),
    ("quantity-negative", event_json(quantity=-1), "quantity"),
    ("quantity-too-big", event_json(quantity=10**15 + 1), "quantity"),
    ("quantity-none", event_json(quantity=None), "quantity"),
    ("attributes-list", event_json(attributes=[]), "attributes"),
    ("attributes-too-many", _attrs({f"k{i}": i for i in range(33)}), "attributes"),
    ("attribute-key-upper", _attrs({"Route": "x"}), "attributes.Route"),
    ("attribute-key-dash", _attrs({"user-agent": "x"}), "attributes.user-agent"),
    ("attribute-key-digit", _attrs({"1st": "x"}), "attributes.1st"),
    ("attribute-key-long", _attrs({"k" * 65: "x"}), "attributes." + "k" * 65),
    ("attribute-key-newline", _attrs({"route\n": "x"}), "attributes.route\n"),
    ("attribute-value-long", _attrs({"route": "x" * 1025}), "attributes.route"),
    ("attribute-value-float", _attrs({"latency": 1.5}), "attributes.latency"),
    ("attribute-value-list", _attrs({"tags": ["a"]}), "attributes.tags"),
    ("attribute-value-object", _attrs({"meta": {}}), "attributes.meta"),
    ("attribute-value-huge-int", _attrs({"bytes": 2**53}), "attributes.bytes"),
]


@pytest.mark.parametrize(
    ("obj", "field"), [pytest.param(o, f, id=i) for i, o, f in INVALID]
)
def test_invalid_event_raises_with_field(obj: Any, field: str) -> None:
    """Each broken rule raises MeterEventError naming the offending field."""
    with pytest.raises(MeterEventError) as info:
        MeterEventBody.from_json(obj)
    assert info.value.code == "meter_event_invalid"
    assert info.value.field == field


def _envelope(**overrides: Any) -> dict[str, Any]:
    obj: dict[str, Any] = {"event": event_json(), "kid": "k" * 43, "sig": "s" * 86}
    obj.update(overrides)
    return obj


def test_envelope_round_trips() -> None:
    """The envelope keeps event, kid and sig as given (signature not checked here)."""
    obj = _envelope()
    assert MeterEnvelope.from_json(copy.deepcopy(obj)).to_json() == obj


@pytest.mark.parametrize(
    ("obj", "field"),
    [
        pytest.param("x", "meter_envelope", id="not-object"),
        pytest.param(_envelope(extra=1), "extra", id="unknown-field"),
        pytest.param(_envelope(kid=""), "kid", id="empty-kid"),
        pytest.param(_envelope(sig=None), "sig", id="sig-none"),
        pytest.param(
            _envelope(event=event_json(quantity=-1)), "event.quantity", id="event"
        ),
    ],
)
def test_invalid_envelope_raises_with_field(obj: Any, field: str) -> None:
    """Envelope errors name the field; event errors are prefixed with event."""
    with pytest.raises(MeterEventError) as info:
        MeterEnvelope.from_json(obj)
    assert info.value.field == field


def test_meter_envelope_sign_is_ed25519_over_context_and_jcs() -> None:
    """The signature verifies with plain PyNaCl over ``context || 0x00 ||
    JCS(event)`` (RFC 8785 by the independent ``rfc8785`` package), and
    meter_envelope_verify accepts it."""
    meter = KeyPair.generate()
    event = MeterEventBody.from_json(event_json())
    envelope = meter_envelope_sign(event, kid=meter.kid, signing_key=meter.signing_key)
    assert envelope.kid == meter.kid and envelope.event == event
    message = b"meterproof/meter-envelope/v1\x00" + rfc8785.dumps(event_json())
    nacl.signing.VerifyKey(bytes(meter.verify_key)).verify(
        message, b64url_decode(envelope.sig)
    )
    meter_envelope_verify(envelope, meter.verify_key)
    meter_envelope_verify(envelope, meter.verify_key, signed=event_json())


def test_meter_envelope_verify_refuses_a_wrong_signature() -> None:
    """Another key, another event body or a forged ``sig`` each fail with
    SignatureError naming the caller's field."""
    meter, other = KeyPair.generate(), KeyPair.generate()
    envelope = meter_envelope_sign(
        MeterEventBody.from_json(event_json()),
        kid=meter.kid,
        signing_key=meter.signing_key,
    )
    forged = MeterEnvelope(event=envelope.event, kid=envelope.kid, sig="A" * 86)
    cases = [
        (envelope, other.verify_key, None, "sig"),
        (envelope, meter.verify_key, event_json(quantity=2), "sig"),
        (forged, meter.verify_key, None, "attestation.meter_envelope.sig"),
    ]
    for bad, key, signed, field in cases:
        with pytest.raises(SignatureError) as info:
            meter_envelope_verify(bad, key, signed=signed, field=field)
        assert info.value.field == field


# -- timefmt -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "moment"),
    [
        ("2026-11-21T10:05:03Z", datetime(2026, 11, 21, 10, 5, 3, tzinfo=UTC)),
        (
            "2026-11-21T10:05:03.5Z",
            datetime(2026, 11, 21, 10, 5, 3, 500000, tzinfo=UTC),
        ),
        ("2024-02-29T00:00:00Z", datetime(2024, 2, 29, tzinfo=UTC)),
    ],
)
def test_parse_rfc3339_utc(text: str, moment: datetime) -> None:
    """Z-suffixed RFC 3339 parses to an aware UTC datetime."""
    assert parse_rfc3339_utc(text) == moment


def test_format_rfc3339_utc_converts_offsets_and_drops_zero_micros() -> None:
    """Aware datetimes print in UTC with Z; microseconds only when non-zero."""
    plus2 = timezone(timedelta(hours=2))
    assert format_rfc3339_utc(datetime(2026, 11, 21, 12, 5, 3, tzinfo=plus2)) == (
        "2026-11-21T10:05:03Z"
    )
    assert format_rfc3339_utc(datetime(2026, 1, 1, 0, 0, 0, 7, tzinfo=UTC)) == (
        "2026-01-01T00:00:00.000007Z"
    )
    moment = datetime(2026, 1, 1, 0, 0, 0, 7, tzinfo=UTC)
    assert parse_rfc3339_utc(format_rfc3339_utc(moment)) == moment
    with pytest.raises(ValueError):
        format_rfc3339_utc(datetime(2026, 1, 1))
