"""The ``vdi-billing/3`` bundle: the signed ``sequence`` member (PROTOCOL.md
§4.1, §4.2, §10), verified beside ``vdi-billing/2`` with the same checks."""

from __future__ import annotations

import contextlib
import copy
from collections.abc import Callable
from typing import Any

import pytest

from billing.protocol.bundle import (
    FORMAT_V2,
    FORMAT_V3,
    SEQUENCE_NUMBER_MAX,
    Bundle,
    bundle_sequence,
)
from billing.protocol.errors import BundleFormatError
from billing.protocol.verify import verify_bundle
from kernel.protocol.errors import CanonicalizationError

from .builders import (
    Keys,
    event_json,
    log_bundles,
    make_attestation,
    resign,
)
from .check_names import STANDARD_CHECK_NAMES

WINDOW = event_json()["window"]


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Fresh issuer, meter and log keys for this module."""
    return Keys.generate()


def _v3(keys: Keys, number: int = 7, **kwargs: Any) -> dict[str, Any]:
    attestation = make_attestation(
        keys, sequence={"period": WINDOW, "number": number}, **kwargs
    )
    return log_bundles(keys, [attestation])[0]


@pytest.fixture(scope="module")
def v3_bundle(keys: Keys) -> dict[str, Any]:
    """One valid v3 bundle numbered 7; tests deep-copy it before mutating."""
    return _v3(keys)


def test_v3_bundle_passes_every_standard_check(
    keys: Keys, v3_bundle: dict[str, Any]
) -> None:
    """A v3 bundle passes exactly the v2 checks, no new check name."""
    assert v3_bundle["format"] == v3_bundle["attestation"]["format"] == FORMAT_V3
    assert v3_bundle["attestation"]["sequence"] == {"period": WINDOW, "number": 7}
    report = verify_bundle(v3_bundle, keys.trust())
    assert report.ok is True, report.failed
    assert [c.name for c in report.checks] == list(STANDARD_CHECK_NAMES)


def test_builder_without_sequence_still_builds_v2(keys: Keys) -> None:
    """``build_attestation`` without ``sequence`` gives an unchanged v2 bundle."""
    bundle = log_bundles(keys, [make_attestation(keys)])[0]
    assert bundle["format"] == bundle["attestation"]["format"] == FORMAT_V2
    assert "sequence" not in bundle["attestation"]
    assert verify_bundle(bundle, keys.trust()).ok is True
    assert bundle_sequence(bundle) is None


def test_bundle_sequence_reads_parsed_and_json_bundles(
    v3_bundle: dict[str, Any],
) -> None:
    """``bundle_sequence`` gives ``(period, number)`` of a JSON or parsed bundle."""
    assert bundle_sequence(v3_bundle) == (WINDOW, 7)
    parsed = Bundle.from_json(v3_bundle)
    assert (parsed.format, parsed.sequence) == (FORMAT_V3, (WINDOW, 7))
    assert bundle_sequence(parsed) == (WINDOW, 7)


def test_sequence_is_outside_commitments_fingerprint_and_charge(keys: Keys) -> None:
    """The number is signed but binds nothing the proof binds: v2 and v3
    attestations of one event share charge, fingerprint and commitments."""
    v2 = make_attestation(keys)
    v3 = make_attestation(keys, sequence={"period": WINDOW, "number": 3})
    for name in (
        "charge",
        "charge_hash",
        "meter_hash",
        "billing_verify_fingerprint",
        "billing_commitments",
    ):
        assert v2[name] == v3[name], name
    assert v2["sig"] != v3["sig"]


def test_largest_number_is_accepted(keys: Keys) -> None:
    """2^53-1 is a valid number (the oversize check's placeholder)."""
    bundle = _v3(keys, number=SEQUENCE_NUMBER_MAX)
    assert verify_bundle(bundle, keys.trust()).ok is True


def test_builder_refuses_a_bad_sequence(keys: Keys) -> None:
    """The builder checks the shape it signs: period = window, number >= 1."""
    with pytest.raises(BundleFormatError) as info:
        make_attestation(keys, sequence={"period": "2020-01", "number": 1})
    assert info.value.field == "attestation.sequence.period"
    with pytest.raises(BundleFormatError) as info:
        make_attestation(keys, sequence={"period": WINDOW, "number": 0})
    assert info.value.field == "attestation.sequence.number"


Mutation = Callable[[dict[str, Any]], None]


def _seq(**changes: Any) -> Mutation:
    def mutate(b: dict[str, Any]) -> None:
        seq = b["attestation"]["sequence"]
        for key, value in changes.items():
            if value is _DROP:
                del seq[key]
            else:
                seq[key] = value

    return mutate


_DROP = object()


def _set_att(name: str, value: Any) -> Mutation:
    def mutate(b: dict[str, Any]) -> None:
        if value is _DROP:
            del b["attestation"][name]
        else:
            b["attestation"][name] = value

    return mutate


def _v2_formats(b: dict[str, Any]) -> None:
    b["format"] = b["attestation"]["format"] = FORMAT_V2


SHAPE_MUTATIONS: list[tuple[str, Mutation, str]] = [
    ("sequence_missing", _set_att("sequence", _DROP), "attestation.sequence"),
    ("sequence_null", _set_att("sequence", None), "attestation.sequence"),
    ("sequence_list", _set_att("sequence", [WINDOW, 7]), "attestation.sequence"),
    ("sequence_extra_member", _seq(tenant="acme"), "attestation.sequence"),
    ("period_missing", _seq(period=_DROP), "attestation.sequence"),
    ("number_missing", _seq(number=_DROP), "attestation.sequence"),
    ("period_other_month", _seq(period="2020-01"), "attestation.sequence.period"),
    ("period_not_a_month", _seq(period="2026-13"), "attestation.sequence.period"),
    ("period_integer", _seq(period=202611), "attestation.sequence.period"),
    ("number_zero", _seq(number=0), "attestation.sequence.number"),
    ("number_negative", _seq(number=-1), "attestation.sequence.number"),
    ("number_too_large", _seq(number=2**53), "attestation.sequence.number"),
    ("number_string", _seq(number="7"), "attestation.sequence.number"),
    ("number_float", _seq(number=7.0), "attestation.sequence.number"),
    ("number_boolean", _seq(number=True), "attestation.sequence.number"),
    ("v2_with_sequence", _v2_formats, "attestation.sequence"),
    ("bundle_v3_attestation_v2", _set_att("format", FORMAT_V2), "attestation.format"),
]


@pytest.mark.parametrize(
    ("mutation", "field"),
    [pytest.param(m, f, id=i) for i, m, f in SHAPE_MUTATIONS],
)
def test_sequence_shape_violations_fail_bundle_format(
    keys: Keys, v3_bundle: dict[str, Any], mutation: Mutation, field: str
) -> None:
    """Each shape violation of ``sequence`` fails ``bundle_format`` alone
    (re-signed by the issuer where JCS can encode it), naming the offending
    field."""
    bundle = copy.deepcopy(v3_bundle)
    mutation(bundle)
    with contextlib.suppress(CanonicalizationError):  # a float, 2^53: unsignable
        bundle["attestation"] = resign(keys, bundle["attestation"])
    report = verify_bundle(bundle, keys.trust())
    assert report.ok is False
    assert set(report.failed) == {"bundle_format"}
    assert report.checks[0].code == "bundle_format_invalid"
    with pytest.raises(BundleFormatError) as info:
        Bundle.from_json(bundle)
    assert info.value.field == field


def test_changed_number_breaks_the_signature_and_the_log_leaf(
    keys: Keys, v3_bundle: dict[str, Any]
) -> None:
    """The number is signed and logged: changing it fails the issuer
    signature and the inclusion proof."""
    bundle = copy.deepcopy(v3_bundle)
    bundle["attestation"]["sequence"]["number"] = 8
    report = verify_bundle(bundle, keys.trust())
    assert report.ok is False
    assert {"issuer_signature", "log_inclusion"} <= set(report.failed)
