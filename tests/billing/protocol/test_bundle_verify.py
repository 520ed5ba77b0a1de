"""End-to-end bundles and the standard-profile verifier (billing.protocol.verify).

Bundles are built with the real code paths (tests/billing/protocol/builders.py).
Expected amounts come from Stripe's published graduated example (6 units =
5 x 700 + 1 x 650 = 4150 minor units); expected digests are recomputed here
with ``hashlib`` and ``rfc8785`` directly.
"""

from __future__ import annotations

import base64
import copy
import hashlib
import json
import random
from collections.abc import Callable
from typing import Any

import pytest
import rfc8785

from billing.protocol.errors import TrustAnchorError
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import (
    BundleVerifier,
    VerificationReport,
    verify_bundle,
)
from billing.protocol.verify import standard as verify_module
from kernel.protocol.ed25519 import KeyPair, b64url_encode, public_jwk
from transparency.protocol.note import NoteSigner

from .builders import (
    Keys,
    event_json,
    flip_b64url,
    flip_note_signature,
    log_bundles,
    make_attestation,
    make_bundle,
    resign,
    sign_checkpoint,
    tariff_json,
)
from .check_names import STANDARD_CHECK_NAMES


@pytest.fixture(scope="module")
def keys() -> Keys:
    """Fresh issuer, meter and log keys for this module."""
    return Keys.generate()


@pytest.fixture(scope="module")
def valid_bundle(keys: Keys) -> dict[str, Any]:
    """One valid bundle; tests deep-copy it before mutating."""
    return make_bundle(keys)


def sha256_jcs(value: Any) -> str:
    """SHA-256 over RFC 8785 bytes, computed without billing.protocol."""
    return hashlib.sha256(rfc8785.dumps(value)).hexdigest()


def checks_by_name(report: VerificationReport) -> dict[str, Any]:
    """Map check name to its result."""
    return {c.name: c for c in report.checks}


# -- valid bundle ------------------------------------------------------------


def test_valid_bundle_passes_every_check_and_skips_billing_proof(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """A freshly built bundle is ok: all checks pass, billing_proof is skipped."""
    report = verify_bundle(valid_bundle, keys.trust())
    assert report.ok is True
    assert [c.name for c in report.checks] == list(STANDARD_CHECK_NAMES)
    statuses = {c.name: c.status for c in report.checks}
    assert statuses.pop("billing_proof") == "skip"
    assert set(statuses.values()) == {"pass"}
    assert report.failed == []
    assert report.receipt_id == valid_bundle["attestation"]["receipt"]["receipt_id"]


def test_valid_bundle_billing_check_holds_recomputed_amount(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """billing_check carries the Stripe graduated amount 4150 and the digests."""
    report = verify_bundle(valid_bundle, keys.trust())
    check = report.billing_check
    assert check is not None
    assert check["ok"] is True
    assert check["quantity"] == 6
    assert check["amount_minor"] == check["expected_amount_minor"] == 4150
    assert check["currency"] == "USD"
    tariff_hash = sha256_jcs(tariff_json())
    assert check["tariff_hash"] == tariff_hash
    charge = {
        "quantity": 6,
        "amount_minor": 4150,
        "currency": "USD",
        "tariff_hash": tariff_hash,
    }
    fingerprint = sha256_jcs(
        {
            "meter_hash": sha256_jcs(event_json()),
            "tariff_hash": tariff_hash,
            "charge": charge,
        }
    )
    assert check["billing_verify_fingerprint"] == fingerprint


def test_valid_bundle_report_round_trips_through_json(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """The report's JSON form survives json.dumps/json.loads unchanged."""
    as_json = verify_bundle(valid_bundle, keys.trust()).to_json()
    assert json.loads(json.dumps(as_json)) == as_json
    assert as_json["ok"] is True
    assert as_json["profile"] == "standard"


def test_attestation_digests_match_an_independent_computation(
    valid_bundle: dict[str, Any],
) -> None:
    """meter_hash, charge_hash, fingerprint and the eight elements follow DESIGN.md."""
    att = valid_bundle["attestation"]
    tariff_hash = sha256_jcs(tariff_json())
    charge = {
        "quantity": 6,
        "amount_minor": 4150,
        "currency": "USD",
        "tariff_hash": tariff_hash,
    }
    meter_hash = sha256_jcs(event_json())
    charge_hash = sha256_jcs(charge)
    fingerprint = sha256_jcs(
        {"meter_hash": meter_hash, "tariff_hash": tariff_hash, "charge": charge}
    )
    assert att["charge"] == charge
    assert att["meter_hash"] == meter_hash
    assert att["charge_hash"] == charge_hash
    assert att["billing_verify_fingerprint"] == fingerprint
    elements = []
    for digest in (meter_hash, tariff_hash, charge_hash, fingerprint):
        elements += [str(int(digest[:32], 16)), str(int(digest[32:], 16))]
    assert att["billing_commitments"]["elements"] == elements
    assert att["billing_commitments"]["binding_version"] == "bn128-poseidon8-v1"
    leaf = hashlib.sha256(b"\x00" + rfc8785.dumps(att)).hexdigest()
    assert valid_bundle["log"]["leaf_hash"] == leaf


def test_bundle_without_log_is_valid_in_the_standard_profile(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """Log evidence is optional in the standard profile: both log checks skip."""
    bundle = copy.deepcopy(valid_bundle)
    del bundle["log"]
    report = verify_bundle(bundle, keys.trust())
    statuses = {c.name: c.status for c in report.checks}
    assert statuses["checkpoint_signature"] == statuses["log_inclusion"] == "skip"
    assert report.ok is True


def test_bulk_verifier_accepts_many_bundles_sharing_a_checkpoint(keys: Keys) -> None:
    """Every bundle of one log batch verifies with one reusable verifier."""
    atts = [
        make_attestation(keys, event=event_json(event_id=f"evt_{i}", quantity=i))
        for i in range(7)
    ]
    verifier = BundleVerifier(keys.trust())
    for bundle in log_bundles(keys, atts):
        assert verifier.verify(bundle).ok is True


def test_unknown_profile_is_refused(keys: Keys) -> None:
    """An unimplemented profile raises ValueError instead of downgrading."""
    with pytest.raises(ValueError):
        BundleVerifier(keys.trust(), profile="VDI_VERIFY_LAX_V0")


# -- determinism (claim 1) -----------------------------------------------------


def test_same_event_and_tariff_give_same_fingerprint_charge_and_commitments() -> None:
    """Different issuers still give identical derived values."""
    first_keys, second_keys = Keys.generate(), Keys.generate()
    first = make_bundle(first_keys)["attestation"]
    second = make_bundle(second_keys)["attestation"]
    assert first["receipt"]["kid"] != second["receipt"]["kid"]
    assert first["sig"] != second["sig"]
    for name in (
        "charge",
        "meter_hash",
        "charge_hash",
        "billing_verify_fingerprint",
        "billing_commitments",
    ):
        assert first[name] == second[name], name


def test_same_meter_key_gives_byte_identical_envelopes() -> None:
    """Ed25519 is deterministic: the same meter key signs an event identically."""
    keys = Keys.generate()
    other = Keys(KeyPair.generate(), keys.meter, KeyPair.generate())
    first = make_bundle(keys)["attestation"]["meter_envelope"]
    second = make_bundle(other)["attestation"]["meter_envelope"]
    assert first == second


# -- tampering (claim 2) --------------------------------------------------------

Mutation = Callable[[dict[str, Any], Keys], None]
SIGNED = {"issuer_signature", "log_inclusion"}  # any edit inside the attestation


def _att(b: dict[str, Any]) -> dict[str, Any]:
    return b["attestation"]


def _event(b: dict[str, Any]) -> dict[str, Any]:
    return b["attestation"]["meter_envelope"]["event"]


def _bump_digit(hex_text: str) -> str:
    return ("1" if hex_text[0] != "1" else "2") + hex_text[1:]


def _resign_checkpoint(b: dict[str, Any], signer: NoteSigner, origin: str) -> None:
    note = b["log"]["checkpoint"]
    lines = note.split("\n")
    root = base64.b64decode(lines[2])
    b["log"]["checkpoint"] = sign_checkpoint(signer, int(lines[1]), root, origin)


def _set(path: list[Any], value: Any) -> Mutation:
    def mutate(b: dict[str, Any], keys: Keys) -> None:
        target = b
        for key in path[:-1]:
            target = target[key]
        target[path[-1]] = value(target[path[-1]]) if callable(value) else value

    return mutate


def _other_kid(path: list[str]) -> Mutation:
    return _set(path, lambda _: KeyPair.generate().kid)


TAMPERING: list[tuple[str, Mutation, set[str], str | None]] = [
    # (id, mutation, exact set of failed checks, code of the first named check)
    (
        "amount_plus_one",
        _set(["attestation", "charge", "amount_minor"], lambda v: v + 1),
        SIGNED | {"charge_recompute", "charge_hash", "fingerprint"},
        "charge_mismatch",
    ),
    (
        "amount_minus_one",
        _set(["attestation", "charge", "amount_minor"], lambda v: v - 1),
        SIGNED | {"charge_recompute", "charge_hash", "fingerprint"},
        "charge_mismatch",
    ),
    (
        "event_quantity",
        lambda b, k: _event(b).update(quantity=7),
        SIGNED | {"meter_signature", "charge_recompute", "meter_hash"},
        "signature_invalid",
    ),
    (
        "event_attribute",
        lambda b, k: _event(b)["attributes"].update(status=500),
        SIGNED | {"meter_signature", "meter_hash"},
        "signature_invalid",
    ),
    (
        "event_tenant",
        lambda b, k: _event(b).update(tenant="globex"),
        SIGNED | {"meter_signature", "meter_hash"},
        "signature_invalid",
    ),
    (
        "meter_sig_flipped",
        _set(["attestation", "meter_envelope", "sig"], flip_b64url),
        SIGNED | {"meter_signature"},
        "signature_invalid",
    ),
    (
        "attestation_sig_flipped",
        _set(["attestation", "sig"], lambda s: flip_b64url(s, 63)),
        SIGNED,
        "signature_invalid",
    ),
    (
        "attestation_sig_truncated",
        _set(["attestation", "sig"], lambda s: s[:-2]),
        SIGNED,
        "signature_invalid",
    ),
    (
        "meter_kid_unknown",
        _other_kid(["attestation", "meter_envelope", "kid"]),
        SIGNED | {"meter_signature", "tenant_binding"},
        "unknown_kid",
    ),
    (
        "issuer_kid_unknown",
        _other_kid(["attestation", "receipt", "kid"]),
        SIGNED,
        "unknown_kid",
    ),
    (
        "tariff_price",
        lambda b, k: _att(b)["tariff"]["pricing"]["tiers"][0].update(
            unit_amount_decimal="701"
        ),
        SIGNED | {"tariff_hash", "charge_recompute", "fingerprint", "commitments"},
        "tariff_hash_mismatch",
    ),
    (
        "tariff_metric",
        lambda b, k: _att(b)["tariff"].update(metric="gpu_seconds"),
        SIGNED | {"tariff_hash", "charge_recompute", "fingerprint", "commitments"},
        "tariff_hash_mismatch",
    ),
    (
        "tariff_window_after_event",
        lambda b, k: _att(b)["tariff"].update(effective_from="2026-11-22T00:00:00Z"),
        SIGNED
        | {
            "tariff_in_force",
            "tariff_hash",
            "charge_recompute",
            "fingerprint",
            "commitments",
        },
        "tariff_not_in_force",
    ),
    (
        "fingerprint_digit",
        _set(["attestation", "billing_verify_fingerprint"], _bump_digit),
        SIGNED | {"fingerprint", "commitments"},
        "fingerprint_mismatch",
    ),
    (
        "commitment_element",
        _set(
            ["attestation", "billing_commitments", "elements", 3],
            lambda v: str(int(v) + 1),
        ),
        SIGNED | {"commitments"},
        "commitments_mismatch",
    ),
    (
        "public_signal_plus_one",
        _set(
            ["attestation", "billing_commitments", "public_signals", 0],
            lambda v: str(int(v) + 1),
        ),
        SIGNED | {"commitments"},
        "commitments_mismatch",
    ),
    (
        "binding_version",
        _set(["attestation", "billing_commitments", "binding_version"], "v0"),
        SIGNED | {"commitments"},
        "commitments_mismatch",
    ),
    (
        "meter_hash",
        _set(["attestation", "meter_hash"], _bump_digit),
        SIGNED | {"meter_hash", "fingerprint", "commitments"},
        "meter_hash_mismatch",
    ),
    (
        "charge_hash",
        _set(["attestation", "charge_hash"], _bump_digit),
        SIGNED | {"charge_hash", "commitments"},
        "charge_hash_mismatch",
    ),
    (
        "receipt_id",
        _set(["attestation", "receipt", "receipt_id"], "rcpt_other"),
        SIGNED | {"meter_hash"},
        "signature_invalid",
    ),
    (
        "backfilled",
        _set(["attestation", "receipt", "backfilled"], True),
        SIGNED,
        "signature_invalid",
    ),
    (
        "billing_proof_added",
        lambda b, k: _att(b).update(billing_proof={"proof": {}}),
        SIGNED | {"billing_proof"},
        "binding_malformed",
    ),
    # log evidence is outside the signed attestation: only log checks fail
    (
        "leaf_index",
        _set(["log", "leaf_index"], lambda v: v + 1),
        {"log_inclusion"},
        None,
    ),
    (
        "leaf_index_beyond_tree",
        _set(["log", "leaf_index"], 10**6),
        {"log_inclusion"},
        None,
    ),
    (
        "tree_size",
        _set(["log", "tree_size"], lambda v: v + 1),
        {"log_inclusion"},
        "tree_size_mismatch",
    ),
    (
        "proof_hash_flipped",
        _set(["log", "inclusion_proof", 0], _bump_digit),
        {"log_inclusion"},
        None,
    ),
    (
        "proof_hash_dropped",
        lambda b, k: b["log"]["inclusion_proof"].pop(),
        {"log_inclusion"},
        None,
    ),
    (
        "proof_hash_added",
        lambda b, k: b["log"]["inclusion_proof"].append("00" * 32),
        {"log_inclusion"},
        None,
    ),
    (
        "leaf_hash",
        _set(["log", "leaf_hash"], _bump_digit),
        {"log_inclusion"},
        "leaf_hash_mismatch",
    ),
    (
        "checkpoint_signature_flipped",
        _set(["log", "checkpoint"], flip_note_signature),
        {"checkpoint_signature", "log_inclusion"},
        None,
    ),
    (
        "checkpoint_untrusted_key",
        lambda b, k: _resign_checkpoint(
            b, NoteSigner(k.origin, KeyPair.generate().signing_key), k.origin
        ),
        {"checkpoint_signature", "log_inclusion"},
        None,
    ),
    (
        "checkpoint_other_origin",
        lambda b, k: _resign_checkpoint(b, k.signer, "evil.example/log"),
        {"checkpoint_signature", "log_inclusion"},
        "checkpoint_origin_mismatch",
    ),
    # shape errors stop at bundle_format
    (
        "unknown_attestation_field",
        lambda b, k: _att(b).update(discount=1),
        {"bundle_format"},
        "bundle_format_invalid",
    ),
    (
        "format",
        _set(["format"], "vdi-billing/1"),
        {"bundle_format"},
        "bundle_format_invalid",
    ),
    (
        "attestation_format",
        _set(["attestation", "format"], "vdi-billing/3"),
        {"bundle_format"},
        "bundle_format_invalid",
    ),
    (
        "unknown_bundle_field",
        lambda b, k: b.update(extra={}),
        {"bundle_format"},
        "bundle_format_invalid",
    ),
    (
        "leaf_hash_trailing_newline",
        _set(["log", "leaf_hash"], lambda v: v + "\n"),
        {"bundle_format"},
        "bundle_format_invalid",
    ),
    (
        "occurred_at_trailing_newline",
        lambda b, k: _event(b).update(occurred_at=_event(b)["occurred_at"] + "\n"),
        {"bundle_format"},
        "bundle_format_invalid",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected", "code"),
    [pytest.param(m, e, c, id=i) for i, m, e, c in TAMPERING],
)
def test_tampering_fails_exactly_the_named_checks(
    keys: Keys,
    valid_bundle: dict[str, Any],
    mutation: Mutation,
    expected: set[str],
    code: str | None,
) -> None:
    """Each edit makes the bundle invalid and fails exactly the checks it touches."""
    bundle = copy.deepcopy(valid_bundle)
    mutation(bundle, keys)
    assert bundle != valid_bundle
    report = verify_bundle(bundle, keys.trust())
    assert report.ok is False
    assert set(report.failed) == expected
    if code is not None:
        first = next(c for c in report.checks if c.status == "fail" and c.code == code)
        assert first.name in expected
    for check in report.checks:
        if check.status == "fail":
            assert check.code and check.message, check


TAMPERING_SIGNED_BY_ISSUER: list[tuple[str, Mutation, set[str], str]] = [
    (
        "amount_plus_one",
        _set(["attestation", "charge", "amount_minor"], lambda v: v + 1),
        {"charge_recompute", "charge_hash", "fingerprint"},
        "charge_mismatch",
    ),
    (
        "quantity_in_charge",
        _set(["attestation", "charge", "quantity"], 5),
        {"charge_recompute", "charge_hash", "fingerprint"},
        "charge_mismatch",
    ),
    (
        "fingerprint_digit",
        _set(["attestation", "billing_verify_fingerprint"], _bump_digit),
        {"fingerprint", "commitments"},
        "fingerprint_mismatch",
    ),
    (
        "public_signal_plus_one",
        _set(
            ["attestation", "billing_commitments", "public_signals", 0],
            lambda v: str(int(v) + 1),
        ),
        {"commitments"},
        "commitments_mismatch",
    ),
    (
        "meter_hash",
        _set(["attestation", "meter_hash"], _bump_digit),
        {"meter_hash", "fingerprint", "commitments"},
        "meter_hash_mismatch",
    ),
    (
        "charge_hash",
        _set(["attestation", "charge_hash"], _bump_digit),
        {"charge_hash", "commitments"},
        "charge_hash_mismatch",
    ),
]


@pytest.mark.parametrize(
    ("mutation", "expected", "code"),
    [pytest.param(m, e, c, id=i) for i, m, e, c in TAMPERING_SIGNED_BY_ISSUER],
)
def test_lying_issuer_is_caught_by_recomputation(
    keys: Keys,
    valid_bundle: dict[str, Any],
    mutation: Mutation,
    expected: set[str],
    code: str,
) -> None:
    """A re-signed, re-logged wrong attestation fails only the recompute checks."""
    bundle = copy.deepcopy(valid_bundle)
    mutation(bundle, keys)
    (relogged,) = log_bundles(keys, [resign(keys, bundle["attestation"])])
    report = verify_bundle(relogged, keys.trust())
    assert report.ok is False
    assert set(report.failed) == expected
    assert code in {c.code for c in report.checks}


def test_honest_signatures_over_wrong_tariff_metric_fail_tariff_hash_only(
    keys: Keys,
) -> None:
    """A correctly signed tariff for another metric fails tariff_metric_mismatch."""
    bundle = make_bundle(keys, tariff=tariff_json(metric="gpu_seconds"))
    report = verify_bundle(bundle, keys.trust())
    assert report.failed == ["tariff_hash"]
    assert checks_by_name(report)["tariff_hash"].code == "tariff_metric_mismatch"


@pytest.mark.parametrize(
    ("effective_from", "effective_to"),
    [
        ("2026-11-21T10:05:04Z", None),  # starts one second after occurred_at
        ("2026-11-01T00:00:00Z", "2026-11-21T10:05:03Z"),  # ends exactly then
    ],
)
def test_honest_signatures_over_tariff_not_in_force_fail_tariff_in_force_only(
    keys: Keys, effective_from: str, effective_to: str | None
) -> None:
    """A tariff outside [effective_from, effective_to) at occurred_at is refused."""
    tariff = tariff_json(effective_from=effective_from, effective_to=effective_to)
    report = verify_bundle(make_bundle(keys, tariff=tariff), keys.trust())
    assert report.failed == ["tariff_in_force"]
    assert checks_by_name(report)["tariff_in_force"].code == "tariff_not_in_force"


def test_signed_malformed_billing_proof_fails_closed(
    keys: Keys,
) -> None:
    """A correctly signed but malformed billing_proof fails billing_proof with
    the binding's code (circuits.protocol.binding)."""
    bundle = make_bundle(keys, billing_proof={"proof": {"pi_a": ["1"]}})
    report = verify_bundle(bundle, keys.trust())
    assert report.ok is False
    assert report.failed == ["billing_proof"]
    assert checks_by_name(report)["billing_proof"].code == "binding_malformed"
    assert report.incircuit_binding_verification is not None
    assert report.incircuit_binding_verification["ok"] is False
    assert report.incircuit_binding_verification["reason"] == "binding_malformed"


def test_valid_billing_proof_needs_a_trusted_verification_key() -> None:
    """A valid proof verifies only with its key in the trust anchors' circuits;
    without it billing_proof fails with binding_vkey_unknown."""
    from .builders import StrictKit

    kit = StrictKit.generate()
    bundle = kit.bundle()
    assert verify_bundle(bundle, kit.trust()).ok
    report = verify_bundle(bundle, kit.trust(verification_keys={}))
    assert report.failed == ["billing_proof"]
    assert checks_by_name(report)["billing_proof"].code == "binding_vkey_unknown"


def test_meter_key_bound_to_other_tenant_fails_tenant_binding(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """A tenant-bound meter key cannot sign another tenant's events."""
    report = verify_bundle(valid_bundle, keys.trust(meter_tenant="globex"))
    assert report.failed == ["tenant_binding"]
    assert checks_by_name(report)["tenant_binding"].code == "meter_tenant_mismatch"
    assert verify_bundle(valid_bundle, keys.trust(meter_tenant="acme")).ok is True


@pytest.mark.parametrize(
    ("drop_role", "expected"),
    [
        ("meter", {"meter_signature", "tenant_binding"}),
        ("issuer", {"issuer_signature"}),
    ],
)
def test_trust_without_the_signing_key_fails_with_unknown_kid(
    keys: Keys, valid_bundle: dict[str, Any], drop_role: str, expected: set[str]
) -> None:
    """Removing a role's key from the trust anchors fails its checks (unknown_kid)."""
    trust = keys.trust()
    trust = TrustAnchors(
        keys=tuple(k for k in trust.keys if k.role != drop_role),
        log_origin=trust.log_origin,
        log_verifier_keys=trust.log_verifier_keys,
    )
    report = verify_bundle(valid_bundle, trust)
    assert set(report.failed) == expected
    assert {checks_by_name(report)[n].code for n in expected} == {"unknown_kid"}


def test_issuer_kid_trusted_only_as_meter_is_refused(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """A kid is trusted per role: the meter key cannot stand in for the issuer."""
    bundle = copy.deepcopy(valid_bundle)
    bundle["attestation"]["receipt"]["kid"] = keys.meter.kid
    (relogged,) = log_bundles(
        keys,
        [
            resign(
                Keys(keys.meter, keys.meter, keys.log_operator),
                bundle["attestation"],
            )
        ],
    )
    report = verify_bundle(relogged, keys.trust())
    assert report.failed == ["issuer_signature"]
    assert checks_by_name(report)["issuer_signature"].code == "unknown_kid"


def test_trust_without_log_verifier_key_fails_log_checks(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """No log verifier key means no checkpoint can be trusted."""
    trust = keys.trust()
    trust = TrustAnchors(keys=trust.keys, log_origin=trust.log_origin)
    report = verify_bundle(valid_bundle, trust)
    assert set(report.failed) == {"checkpoint_signature", "log_inclusion"}


# -- garbage never raises ---------------------------------------------------------


def _nested(depth: int) -> Any:
    value: Any = "x"
    for _ in range(depth):
        value = {"a": [value]}
    return value


GARBAGE = [
    None,
    [],
    "str",
    {},
    0,
    True,
    1.5,
    float("nan"),
    2**200,
    -(2**200),
    b"bytes",
    {"format": "vdi-billing/2"},
    {"format": "vdi-billing/2", "attestation": []},
    {"format": "vdi-billing/2", "attestation": {}, "log": None},
    _nested(400),
    [[[[[[[[[[None]]]]]]]]]],
    {1: 2},
    {"format": ["vdi-billing/2"]},
]


@pytest.mark.parametrize("garbage", GARBAGE, ids=lambda g: type(g).__name__)
def test_garbage_input_is_a_failed_bundle_format_not_an_exception(
    keys: Keys, garbage: Any
) -> None:
    """Any non-bundle yields a report whose only check, bundle_format, failed."""
    report = verify_bundle(garbage, keys.trust())
    assert report.ok is False
    assert report.failed == ["bundle_format"]
    assert len(report.checks) == 1
    json.dumps(report.to_json())


FLOAT_OR_HUGE = [
    (["attestation", "charge", "amount_minor"], 4150.0),
    (["attestation", "charge", "quantity"], 6.0),
    (["attestation", "meter_envelope", "event", "quantity"], 6.0),
    (["attestation", "meter_envelope", "event", "quantity"], 2**70),
    (["attestation", "meter_envelope", "event", "attributes", "bytes"], 5120.0),
    (["attestation", "meter_envelope", "event", "attributes", "bytes"], 2**60),
    (["attestation", "tariff", "version"], 3.0),
    (["attestation", "tariff", "pricing", "tiers", 0, "flat_amount"], 0.0),
    (["attestation", "charge", "amount_minor"], 2**64),
    (["log", "leaf_index"], 2.0),
    (["log", "tree_size"], 2**80),
    (["log", "leaf_index"], True),
    (["attestation", "receipt", "backfilled"], 0),
]


@pytest.mark.parametrize(("path", "value"), FLOAT_OR_HUGE, ids=repr)
def test_floats_and_out_of_range_integers_are_rejected(
    keys: Keys, valid_bundle: dict[str, Any], path: list[Any], value: Any
) -> None:
    """Floats, bools and huge integers where integers belong make the bundle invalid."""
    bundle = copy.deepcopy(valid_bundle)
    _set(path, value)(bundle, keys)
    report = verify_bundle(bundle, keys.trust())
    assert report.ok is False
    assert report.failed


def _leaf_paths(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    if isinstance(value, dict):
        return [p for k, v in value.items() for p in _leaf_paths(v, (*path, k))]
    if isinstance(value, list) and value:
        return [p for i, v in enumerate(value) for p in _leaf_paths(v, (*path, i))]
    return [path]


def _random_json(rng: random.Random, depth: int = 0) -> Any:
    kind = rng.randrange(10 if depth < 3 else 7)
    if kind == 0:
        return None
    if kind == 1:
        return rng.choice([True, False])
    if kind == 2:
        return rng.choice([0, -1, 1, 2**53, -(2**63), 10**30, rng.randrange(10**6)])
    if kind == 3:
        return rng.choice([0.0, 1.5, -2.25, 1e308, float("inf")])
    if kind == 4:
        return rng.choice(["", "a", "\n", "00" * 32, "2026-11-21T10:05:03Z", "\u20ac"])
    if kind == 5:
        return "".join(
            rng.choice("abcXYZ019-_=+/\x00") for _ in range(rng.randrange(90))
        )
    if kind == 6:
        return "vdi-billing/2"
    if kind == 7:
        return [_random_json(rng, depth + 1) for _ in range(rng.randrange(4))]
    if kind == 8:
        return {
            rng.choice(["a", "format", "sig", "kid"]): _random_json(rng, depth + 1)
            for _ in range(rng.randrange(3))
        }
    return _nested(rng.randrange(1, 50))


def _same_json(a: Any, b: Any) -> bool:
    try:
        return json.dumps(a, sort_keys=True) == json.dumps(b, sort_keys=True)
    except (TypeError, ValueError):
        return False


def test_random_leaf_replacements_never_raise_and_never_pass(
    keys: Keys, valid_bundle: dict[str, Any]
) -> None:
    """200 seeded random edits: verify_bundle returns a report; only no-ops pass."""
    rng = random.Random(20261121)
    verifier = BundleVerifier(keys.trust())
    paths = _leaf_paths(valid_bundle)
    changed = 0
    for _ in range(200):
        bundle = copy.deepcopy(valid_bundle)
        for _ in range(rng.choice([1, 1, 1, 2, 3])):
            path = rng.choice(paths)
            target = bundle
            try:
                for key in path[:-1]:
                    target = target[key]
                if rng.random() < 0.1 and isinstance(target, dict):
                    del target[path[-1]]
                else:
                    target[path[-1]] = _random_json(rng)
            except (KeyError, IndexError, TypeError):
                continue  # an earlier edit removed this path
        report = verifier.verify(bundle)
        assert isinstance(report, VerificationReport)
        json.dumps(report.to_json())
        if not _same_json(bundle, valid_bundle):
            changed += 1
            assert report.ok is False, (path, report.failed)
    assert changed > 150


# -- fail closed on unexpected exceptions -----------------------------------------


def test_unexpected_exception_in_a_check_is_an_internal_error_failure(
    keys: Keys, valid_bundle: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    """A check that raises RuntimeError fails with code internal_error; ok is False."""

    def boom(*args: Any, **kwargs: Any) -> None:
        raise RuntimeError("disk on fire")

    monkeypatch.setattr(verify_module, "compute_charge", boom)
    report = verify_bundle(valid_bundle, keys.trust())
    assert report.ok is False
    assert report.failed == ["charge_recompute"]
    check = checks_by_name(report)["charge_recompute"]
    assert check.code == "internal_error"
    assert "RuntimeError" in (check.message or "")


def test_report_without_checks_is_not_ok() -> None:
    """An empty report (no check ran) is never a success."""
    assert VerificationReport(profile="standard").ok is False


# -- trust anchors -----------------------------------------------------------------


def _trust_doc(keys: Keys) -> dict[str, Any]:
    return keys.trust().to_json()


def test_trust_anchors_round_trip(keys: Keys) -> None:
    """from_json(to_json(t)) reproduces the same document and the same keys."""
    trust = keys.trust(meter_tenant="acme")
    doc = trust.to_json()
    again = TrustAnchors.from_json(json.loads(json.dumps(doc)))
    assert again.to_json() == doc
    assert again.key("meter", keys.meter.kid).tenant == "acme"  # type: ignore[union-attr]
    assert doc["format"] == "vdi-billing-trust/1"
    assert doc["log"]["origin"] == keys.origin


def test_trust_anchor_with_validity_window_round_trips(keys: Keys) -> None:
    """not_before and not_after survive a round trip as RFC 3339 UTC."""
    doc = _trust_doc(keys)
    doc["keys"][0]["not_before"] = "2026-01-01T00:00:00Z"
    doc["keys"][0]["not_after"] = "2027-01-01T00:00:00Z"
    assert TrustAnchors.from_json(doc).to_json() == doc


def _kid_of_other_key() -> str:
    return KeyPair.generate().kid


@pytest.mark.parametrize(
    ("edit", "field"),
    [
        (lambda d: d["keys"][0].update(kid=_kid_of_other_key()), "keys[0].kid"),
        (lambda d: d["keys"][1].update(kid=d["keys"][0]["kid"]), "keys[1].kid"),
        (lambda d: d["keys"][0].update(role="admin"), "keys[0].role"),
        (lambda d: d["keys"][0].update(role=None), "keys[0].role"),
        (lambda d: d["keys"][0]["jwk"].update(crv="Ed448"), "keys[0].jwk"),
        (lambda d: d["keys"][0]["jwk"].update(x="AAAA"), "keys[0].jwk"),
        (lambda d: d["keys"][0].update(tenant=5), "keys[0].tenant"),
        (
            lambda d: d["keys"][0].update(not_after="2027-01-01T00:00:00+00:00"),
            "keys[0].not_after",
        ),
        (lambda d: d.update(format="vdi-billing-trust/2"), "format"),
        (lambda d: d.update(keys={}), "keys"),
        (lambda d: d["keys"].append("key"), "keys[3]"),
        (lambda d: d.update(log=["x"]), "log"),
        (lambda d: d["log"].update(origin=7), "log.origin"),
        (lambda d: d["log"].update(verifier_keys=[1]), "log.verifier_keys"),
    ],
)
def test_malformed_trust_anchors_raise_trust_anchor_error(
    keys: Keys, edit: Callable[[dict[str, Any]], None], field: str
) -> None:
    """Each malformed member raises TrustAnchorError naming the field."""
    doc = _trust_doc(keys)
    edit(doc)
    with pytest.raises(TrustAnchorError) as info:
        TrustAnchors.from_json(doc)
    assert info.value.code == "trust_anchors_invalid"
    assert info.value.field == field


def test_trust_anchor_kid_is_the_rfc7638_thumbprint_of_the_rfc8037_key() -> None:
    """The RFC 8037 A.3 key is accepted only with its published thumbprint."""
    entry = {
        "kid": "kPrK_qmxVWaYVA9wwBF6Iuo3vVzz7TxHCTwXBygrS4k",
        "role": "issuer",
        "jwk": {
            "kty": "OKP",
            "crv": "Ed25519",
            "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo",
        },
    }
    doc = {"format": "vdi-billing-trust/1", "keys": [entry]}
    trust = TrustAnchors.from_json(doc)
    (key,) = trust.keys_for("issuer")
    assert public_jwk(key.verify_key) == entry["jwk"]
    entry["kid"] = b64url_encode(b"\x00" * 32)
    with pytest.raises(TrustAnchorError):
        TrustAnchors.from_json(doc)
