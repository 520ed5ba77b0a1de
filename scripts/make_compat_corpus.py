"""Write a frozen compatibility corpus of ``vdi-billing/2`` or ``/3`` bundles.

Run ONCE per format, from the repository root, with the release whose bundles
are being frozen::

    python scripts/make_compat_corpus.py tests/vectors/compat/vdi-billing-2
    python scripts/make_compat_corpus.py tests/vectors/compat/vdi-billing-3 \
        --format vdi-billing/3

A ``vdi-billing/3`` corpus numbers its bundles 1..16 in one tenant's period
(the events' window), as the server does.

It writes one JSON file per bundle (under ``bundles/``), ``trust.json`` (the trust anchors),
``revocation.json`` (a signed revocation snapshot for the strict profile) and
``corpus.json`` (the ``now`` to verify at and the expected charge of each
bundle). The corpus covers every pricing model, embedded and detached Groth16
proofs (a test verification key with a known trapdoor, authorised by a signed
artifact manifest), a tenant's gateway meter key and the server's own meter
key, receipts derived as the server derives them, and log evidence with a
witness-cosigned checkpoint. Keys are fresh and their private halves are
discarded: nothing can be added to the corpus later, only a new corpus made.

The tests never regenerate it (``tests/billing/protocol/test_compat_corpus.py``
verifies the committed files on every run); a format change is a new format
version that verifiers accept beside this one.
"""

from __future__ import annotations

import json
import sys
from datetime import timedelta
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from billing.protocol.trust import TrustAnchors  # noqa: E402
from kernel.protocol.ed25519 import KeyPair  # noqa: E402
from kernel.protocol.jcs import canonical_hash  # noqa: E402
from kernel.protocol.trustedkey import TrustedKey  # noqa: E402
from tests.billing.protocol.builders import (  # noqa: E402
    ISSUED_AT,
    STRICT_NOW,
    STRIPE_TIERS,
    Keys,
    StrictKit,
    event_json,
    tariff_json,
)

TENANT = "acme"

PRICINGS: dict[str, dict[str, Any]] = {
    "per_unit": {"model": "per_unit", "unit_amount_decimal": "0.05"},
    "package": {
        "model": "package",
        "unit_amount_decimal": "1000",
        "package": {"divide_by": 60, "round": "up"},
    },
    "tiered_graduated": {"model": "tiered_graduated", "tiers": STRIPE_TIERS},
    "tiered_volume": {"model": "tiered_volume", "tiers": STRIPE_TIERS},
}


def receipt_id(tenant: str, window: str, event_id: str) -> str:
    """Return the receipt id the server derives (``rcpt_`` + 24 hex)."""
    return "rcpt_" + canonical_hash([tenant, window, event_id])[:24]


FORMATS = ("vdi-billing/2", "vdi-billing/3")


def main(out: Path, fmt: str = "vdi-billing/2") -> None:
    """Write the corpus of format ``fmt`` into ``out`` (created; must be empty
    or absent)."""
    if fmt not in FORMATS:
        raise SystemExit(f"format must be one of {FORMATS}, found {fmt!r}")
    out.mkdir(parents=True, exist_ok=True)
    if any(out.iterdir()):
        raise SystemExit(f"{out} is not empty: a frozen corpus is never rewritten")
    (out / "bundles").mkdir()
    base = StrictKit.generate(witnesses=1, threshold=1)
    gateway = KeyPair.generate()  # a tenant's gateway key, bound to TENANT
    kit = StrictKit(
        Keys(base.keys.issuer, base.keys.meter, base.keys.log_operator),
        base.authority,
        base.circuit,
        base.witnesses,
        base.witness_threshold,
    )
    not_before = ISSUED_AT - timedelta(days=60)
    anchors = kit.trust()
    keys = tuple(
        TrustedKey(k.kid, k.role, k.verify_key, k.tenant, not_before, None, k.status)
        for k in anchors.keys
    ) + (
        TrustedKey(gateway.kid, "meter", gateway.verify_key, TENANT, not_before, None),
    )
    trust = TrustAnchors(
        keys=keys,
        log_origin=anchors.log_origin,
        log_verifier_keys=anchors.log_verifier_keys,
        log_witnesses=anchors.log_witnesses,
        witness_threshold=anchors.witness_threshold,
        circuits=anchors.circuits,
    )
    expected: dict[str, Any] = {}
    quantities = {"per_unit": 7, "package": 61, "tiered_graduated": 6}
    quantities["tiered_volume"] = 12
    number = 0
    for model, pricing in PRICINGS.items():
        for attachment in ("embedded", "detached"):
            for meter_name, meter in (("gateway", gateway), ("server", None)):
                number += 1
                event_id = f"evt_{model}_{attachment}_{meter_name}"
                event = event_json(event_id=event_id, quantity=quantities[model])
                tariff = tariff_json(pricing=json.loads(json.dumps(pricing)))
                rid = receipt_id(TENANT, event["window"], event_id)
                sequence = (
                    {"period": event["window"], "number": number}
                    if fmt == "vdi-billing/3"
                    else None
                )
                att = kit.attestation(
                    sequence=sequence,
                    with_proof=attachment == "embedded",
                    meter=meter,
                    event=event,
                    tariff=tariff,
                    receipt_id=rid,
                )
                bundle = kit.bundle(attestation=att)
                if attachment == "detached":
                    signal = att["billing_commitments"]["public_signals"][0]
                    bundle["billing_proof"] = kit.billing_proof(signal)
                name = f"{number:02d}-{model}-{attachment}-{meter_name}.json"
                (out / "bundles" / name).write_text(json.dumps(bundle, indent=1) + "\n")
                expected[name] = {
                    "amount_minor": att["charge"]["amount_minor"],
                    "receipt_id": rid,
                    "attachment": attachment,
                    "meter": meter_name,
                    "model": model,
                }
                if sequence is not None:
                    expected[name]["sequence"] = sequence
    (out / "trust.json").write_text(json.dumps(trust.to_json(), indent=1) + "\n")
    snapshot = kit.snapshot(
        revoked_attestations=("rcpt_" + "0" * 24,), snapshot_time=STRICT_NOW - 60
    )
    (out / "revocation.json").write_text(json.dumps(snapshot, indent=1) + "\n")
    meta = {
        "format": fmt,
        "now": STRICT_NOW,
        "max_snapshot_age_seconds": 3600,
        "bundles": expected,
    }
    (out / "corpus.json").write_text(json.dumps(meta, indent=1) + "\n")


if __name__ == "__main__":
    args = sys.argv[1:]
    if len(args) == 3 and args[1] == "--format":
        main(Path(args[0]), args[2])
    elif len(args) == 1:
        main(Path(args[0]))
    else:
        raise SystemExit("usage: make_compat_corpus.py OUT_DIR [--format FORMAT]")
