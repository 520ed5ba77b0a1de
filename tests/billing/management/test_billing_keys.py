"""``manage.py billing_keys rotate`` and retired keys in the trust anchors.

For each role the test generates a key set with ``billing_keys``, signs a
bundle with the current key, rotates, reloads the server's keyring from the
rewritten ``.env`` (parsed by django-environ, as the server does), and checks
with the strict profile that:

- the bundle signed before rotation still verifies (the old key is published
  with ``status: retired`` and ``not_after`` = the rotation time);
- a bundle signed by the retired key after its window fails ``kids_valid``.

Signing times: meter -> ``occurred_at``, issuer -> ``receipt.issued_at``, log
operator -> the checkpoint's ``Timestamp:`` line.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from io import StringIO
from pathlib import Path
from typing import Any

import environ
import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from billing.keyring import Keyring, get_keyring
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import PROFILE_STRICT, BundleVerifier
from kernel.errors import SigningKeysUnconfigured
from kernel.protocol.ed25519 import KeyPair
from kernel.protocol.trustedkey import TrustedKey
from tests.billing.protocol.builders import Keys, StrictKit, event_json, tariff_json
from tests.billing.protocol.groth16_trapdoor import TrapdoorKey

#: Environment variable (as billing_keys writes it) -> Django setting.
ENV_NAMES = {
    "MP_SIGNING_KEY": "VDI_SIGNING_KEY",
    "MP_BILLING_METER_PRIVATE_KEY_PEM": "VDI_BILLING_METER_PRIVATE_KEY_PEM",
    "MP_BILLING_METER_KID": "VDI_BILLING_METER_KID",
    "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": (
        "VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM"
    ),
    "MP_BILLING_LOG_OPERATOR_KID": "VDI_BILLING_LOG_OPERATOR_KID",
    "MP_MANIFEST_AUTHORITY_SIGNING_KEY": "VDI_MANIFEST_AUTHORITY_SIGNING_KEY",
    "MP_BILLING_RETIRED_KEYS": "VDI_BILLING_RETIRED_KEYS",
}


def load_env(path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch) -> Keyring:
    """Parse ``path`` with django-environ into ``settings``; return the keyring."""
    parsed: dict[str, str] = {}
    monkeypatch.setattr(environ.Env, "ENVIRON", parsed)
    environ.Env.read_env(str(path), overwrite=True)
    for name, setting in ENV_NAMES.items():
        setattr(settings, setting, parsed.get(name, ""))
    settings.VDI_BILLING_LOG_ORIGIN = "meterproof.test/billing-log"
    return get_keyring()


def kit_for(keyring: Keyring, circuit: TrapdoorKey, **pairs: KeyPair) -> StrictKit:
    """A StrictKit signing with the keyring's keys (or the given overrides)."""
    keys = Keys(
        pairs.get("issuer", keyring.issuer),
        pairs.get("meter", keyring.meter),
        pairs.get("log_operator", keyring.log_operator),
        keyring.log_origin,
    )
    return StrictKit(keys, KeyPair.generate(), circuit)


def published(keyring: Keyring, kit: StrictKit) -> TrustAnchors:
    """The server's trust anchors plus the kit's manifest and circuit key."""
    base = TrustAnchors.from_json(keyring.trust_anchors().to_json())
    circuits = kit.trust().circuits
    return TrustAnchors(
        keys=(
            *base.keys,
            TrustedKey(
                kit.authority.kid, "manifest_authority", kit.authority.verify_key
            ),
        ),
        log_origin=base.log_origin,
        log_verifier_keys=base.log_verifier_keys,
        circuits=circuits,
    )


def bundle_at(kit: StrictKit, moment: datetime) -> dict[str, Any]:
    """A bundle whose event, receipt and checkpoint are all at ``moment``."""
    stamp = moment.replace(microsecond=0)
    event = event_json(
        occurred_at=stamp.strftime("%Y-%m-%dT%H:%M:%SZ"), window=stamp.strftime("%Y-%m")
    )
    tariff = tariff_json(effective_from="2000-01-01T00:00:00Z")
    att = kit.attestation(event=event, tariff=tariff, issued_at=stamp)
    return kit.bundle(attestation=att, timestamp=int(stamp.timestamp()))


def verify_strict(bundle: dict[str, Any], trust: TrustAnchors, kit: StrictKit) -> Any:
    """Strict verification now, with a fresh snapshot by the current issuer."""
    now = int(datetime.now(UTC).timestamp())
    snapshot = kit.opened(kit.snapshot(snapshot_time=now - 5))
    return BundleVerifier(
        trust, profile=PROFILE_STRICT, revocation=snapshot, now=now
    ).verify(bundle)


@pytest.mark.parametrize("role", ["meter", "issuer", "log-operator"])
def test_rotation_keeps_old_bundles_valid_and_bounds_the_retired_key(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch, role: str
) -> None:
    """Before rotation -> still verifies; retired key after its window -> fails
    kids_valid with kid_not_valid_at_signing_time."""
    env = tmp_path / ".env"
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    old = load_env(env, settings, monkeypatch)
    circuit = TrapdoorKey.generate()
    old_kit = kit_for(old, circuit)
    before = bundle_at(old_kit, datetime.now(UTC) - timedelta(days=1))

    out = StringIO()
    call_command("billing_keys", "rotate", role=role, env_file=str(env), stdout=out)
    assert "rotated" in out.getvalue()
    new = load_env(env, settings, monkeypatch)
    attr = role.replace("-", "_")
    old_pair, new_pair = getattr(old, attr), getattr(new, attr)
    assert old_pair.kid != new_pair.kid
    for other in {"meter", "issuer", "log_operator"} - {attr}:
        assert getattr(old, other).kid == getattr(new, other).kid

    (retired,) = new.retired
    assert (retired.role, retired.kid, retired.status) == (
        attr,
        old_pair.kid,
        "retired",
    )
    assert retired.not_after is not None
    assert abs(retired.not_after - datetime.now(UTC)) < timedelta(minutes=5)
    document = new.trust_anchors().to_json()
    entry = next(k for k in document["keys"] if k["kid"] == old_pair.kid)
    assert entry["status"] == "retired" and entry["not_after"] is not None
    if attr == "log_operator":
        assert len(document["log"]["verifier_keys"]) == 2

    new_kit = kit_for(new, circuit)
    trust = published(new, new_kit)
    report = verify_strict(before, trust, new_kit)
    assert report.ok, [c.to_json() for c in report.checks if c.status == "fail"]
    fresh = verify_strict(bundle_at(new_kit, datetime.now(UTC)), trust, new_kit)
    assert fresh.ok

    # The retired key keeps signing after its window: strict refuses it.
    late_kit = kit_for(new, circuit, **{attr: old_pair})
    late = bundle_at(late_kit, datetime.now(UTC) + timedelta(days=1))
    assert BundleVerifier(trust).verify(late).ok  # standard: only "listed"
    report = verify_strict(late, trust, new_kit)
    failed = {c.name: c.code for c in report.checks if c.status == "fail"}
    assert failed == {"kids_valid": "kid_not_valid_at_signing_time"}


def test_rotate_twice_keeps_both_retired_keys(
    tmp_path: Path, settings: Any, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A second rotation appends; public keys only are written."""
    env = tmp_path / ".env"
    call_command("billing_keys", env_file=str(env), stdout=StringIO())
    for _ in range(2):
        call_command(
            "billing_keys",
            "rotate",
            role="issuer",
            env_file=str(env),
            stdout=StringIO(),
        )
    keyring = load_env(env, settings, monkeypatch)
    assert [k.role for k in keyring.retired] == ["issuer", "issuer"]
    raw = json.loads(settings.VDI_BILLING_RETIRED_KEYS)
    assert all(set(e) == {"role", "kid", "jwk", "not_before", "not_after"} for e in raw)
    assert all(set(e["jwk"]) == {"kty", "crv", "x"} for e in raw)
    assert oct(env.stat().st_mode & 0o777) == "0o600"


def test_rotate_needs_role_and_existing_key(tmp_path: Path) -> None:
    """rotate without --role, or without a key to rotate, is a CommandError."""
    from billing.management.commands.billing_keys import rotate_env_values

    env = tmp_path / ".env"
    with pytest.raises(CommandError):
        call_command("billing_keys", "rotate", env_file=str(env), stdout=StringIO())
    with pytest.raises(CommandError):
        rotate_env_values({}, "meter", now=datetime.now(UTC))
    with pytest.raises(CommandError):
        rotate_env_values({"MP_SIGNING_KEY": "zz"}, "issuer", now=datetime.now(UTC))


@pytest.mark.parametrize(
    "value",
    [
        "not json",
        '{"role": "meter"}',
        '[{"role": "auditor", "kid": "x", "jwk": {}}]',
        '[{"role": "meter", "kid": "wrong", "jwk": {"kty": "OKP", "crv": '
        '"Ed25519", "x": "11qYAYKxCrfVS_7TyWQHOg7hcvPapiMlrwIaaPcHURo"}}]',
    ],
)
def test_malformed_retired_keys_are_refused(
    settings: Any, signing_keys: Any, value: str
) -> None:
    """VDI_BILLING_RETIRED_KEYS must be a list of well-formed public keys."""
    settings.VDI_BILLING_RETIRED_KEYS = value
    with pytest.raises(SigningKeysUnconfigured):
        get_keyring()


def test_active_key_cannot_also_be_retired(settings: Any, signing_keys: Any) -> None:
    """Listing the active meter key as retired is a configuration error."""
    from kernel.protocol.ed25519 import public_jwk

    meter = signing_keys.meter
    settings.VDI_BILLING_RETIRED_KEYS = json.dumps(
        [
            {
                "role": "meter",
                "kid": meter.kid,
                "jwk": public_jwk(meter.verify_key),
                "not_before": None,
                "not_after": "2026-01-01T00:00:00Z",
            }
        ]
    )
    with pytest.raises(SigningKeysUnconfigured):
        get_keyring()


def test_witness_settings_are_published(settings: Any, signing_keys: Any) -> None:
    """Witness keys and threshold go into the trust anchors' log member."""
    from transparency.protocol.note import COSIGNATURE_TYPE, generate_key

    vkeys = [generate_key(f"w{i}.test", COSIGNATURE_TYPE)[1] for i in range(2)]
    settings.VDI_BILLING_LOG_WITNESS_KEYS = vkeys
    settings.VDI_BILLING_LOG_WITNESS_THRESHOLD = 2
    log = get_keyring().trust_anchors().to_json()["log"]
    assert log["witnesses"] == vkeys and log["witness_threshold"] == 2
    settings.VDI_BILLING_LOG_WITNESS_THRESHOLD = 3
    with pytest.raises(SigningKeysUnconfigured):
        get_keyring()
