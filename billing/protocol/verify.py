"""Bundle verification: named checks that fail closed (DESIGN.md, "Verification
profiles").

One verifier: the server's ``POST /api/vdi/billing/verify``, the offline CLI
(``meterproof verify``) and the tests all call :func:`verify_bundle`.

Every check is reported as ``{"name", "status", "ok", "code", "message"}`` with
``status`` in ``pass``/``fail``/``skip``. A check passes only by returning
normally; any exception inside it, expected or not, is a ``fail`` carrying the
exception's ``code``. A ``skip`` is only allowed where the profile says a member
is optional and it is absent. The bundle is valid iff at least one check ran and
none failed.

Standard profile checks, in order:

``bundle_format`` · ``meter_signature`` · ``issuer_signature`` · ``tenant_binding``
· ``tariff_hash`` · ``tariff_in_force`` · ``charge_recompute`` · ``meter_hash`` ·
``charge_hash`` · ``fingerprint`` · ``commitments`` · ``billing_proof`` ·
``checkpoint_signature`` · ``log_inclusion``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from transparency.protocol.checkpoint import Checkpoint, parse_checkpoint
from transparency.protocol.errors import ProtocolError
from transparency.protocol.merkle import verify_inclusion
from transparency.protocol.note import open_note

from .bundle import (
    Bundle,
    attestation_leaf_hash,
    billing_commitments,
    billing_fingerprint,
    unsigned,
)
from .canonical import canonical_hash
from .errors import BillingProtocolError, SignatureError, UnknownKeyError
from .keys import CONTEXT_ATTESTATION, CONTEXT_METER_ENVELOPE, verify_object
from .tariff import compute_charge
from .trust import TrustAnchors

PROFILE_STANDARD = "standard"
PROFILE_STRICT = "VDI_VERIFY_STRICT_V1"
PROFILES = (PROFILE_STANDARD,)


class CheckFailed(BillingProtocolError):
    """A verification check found a mismatch (generic; ``code`` is per check)."""

    code = "check_failed"

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SkipCheck(Exception):
    """Raised by a check whose optional input is absent (reported as ``skip``)."""


@dataclass
class CheckResult:
    """The outcome of one named check."""

    name: str
    status: str  # "pass" | "fail" | "skip"
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool | None:
        """True on pass, False on fail, None on skip."""
        return {"pass": True, "fail": False}.get(self.status)

    def to_json(self) -> dict[str, Any]:
        """Return the JSON form used by the API and the CLI."""
        return {
            "name": self.name,
            "status": self.status,
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
        }


@dataclass
class VerificationReport:
    """The result of :func:`verify_bundle`; ``ok`` is the verdict."""

    profile: str
    checks: list[CheckResult] = field(default_factory=list)
    billing_check: dict[str, Any] | None = None
    incircuit_binding_verification: dict[str, Any] | None = None
    receipt_id: str | None = None

    @property
    def ok(self) -> bool:
        """True iff at least one check passed and none failed (fail closed)."""
        ran = [c for c in self.checks if c.status != "skip"]
        return bool(ran) and all(c.status == "pass" for c in ran)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        """Return ``{ok, profile, receipt_id, checks, billing_check,
        incircuit_binding_verification}``."""
        return {
            "ok": self.ok,
            "profile": self.profile,
            "receipt_id": self.receipt_id,
            "checks": [c.to_json() for c in self.checks],
            "billing_check": self.billing_check,
            "incircuit_binding_verification": self.incircuit_binding_verification,
        }


class BundleVerifier:
    """Verifies bundles against fixed trust anchors; reusable for bulk audits.

    Verified checkpoints are cached by their exact note text, so a bulk audit of
    bundles that share a checkpoint checks its signature once.
    """

    def __init__(self, trust: TrustAnchors, *, profile: str = PROFILE_STANDARD) -> None:
        """Bind the verifier to ``trust`` and a profile name.

        Raises:
            ValueError: if ``profile`` is not implemented (never silently
                downgraded to another profile).
        """
        if profile not in PROFILES:
            raise ValueError(f"verification profile {profile!r} is not supported")
        self.trust = trust
        self.profile = profile
        self._checkpoints: dict[str, Checkpoint] = {}

    def verify(self, bundle_json: Any) -> VerificationReport:
        """Run every check of the profile on ``bundle_json`` (parsed JSON)."""
        report = VerificationReport(profile=self.profile)
        state: dict[str, Any] = {}

        def run(name: str, check: Callable[[], None]) -> None:
            try:
                check()
            except SkipCheck as exc:
                report.checks.append(CheckResult(name, "skip", message=str(exc)))
            except ProtocolError as exc:
                report.checks.append(CheckResult(name, "fail", exc.code, exc.message))
            except Exception as exc:  # fail closed on anything unexpected
                report.checks.append(
                    CheckResult(
                        name, "fail", "internal_error", f"{type(exc).__name__}: {exc}"
                    )
                )
            else:
                report.checks.append(CheckResult(name, "pass"))

        def parse() -> None:
            state["bundle"] = Bundle.from_json(bundle_json)

        run("bundle_format", parse)
        bundle: Bundle | None = state.get("bundle")
        if bundle is None:
            return report
        report.receipt_id = bundle.receipt_id
        for name, check in self._checks(bundle, report):
            run(name, check)
        return report

    def _checks(
        self, bundle: Bundle, report: VerificationReport
    ) -> list[tuple[str, Callable[[], None]]]:
        att = bundle.attestation
        event = bundle.envelope.event
        trust = self.trust

        def meter_signature() -> None:
            key = trust.key("meter", bundle.envelope.kid)
            if key is None:
                raise UnknownKeyError(
                    f"meter kid {bundle.envelope.kid} is not a trusted meter key",
                    field="attestation.meter_envelope.kid",
                )
            verify_object(
                key.verify_key,
                CONTEXT_METER_ENVELOPE,
                att["meter_envelope"]["event"],
                bundle.envelope.sig,
                field="attestation.meter_envelope.sig",
            )

        def tenant_binding() -> None:
            key = trust.key("meter", bundle.envelope.kid)
            if key is None:
                raise UnknownKeyError(
                    "meter kid is not trusted", field="attestation.meter_envelope.kid"
                )
            if key.tenant is not None and key.tenant != event.tenant:
                raise CheckFailed(
                    "meter_tenant_mismatch",
                    f"meter key is bound to tenant {key.tenant!r}, event is for "
                    f"{event.tenant!r}",
                )

        def issuer_signature() -> None:
            key = trust.key("issuer", bundle.issuer_kid)
            if key is None:
                raise UnknownKeyError(
                    f"issuer kid {bundle.issuer_kid} is not a trusted issuer key",
                    field="attestation.receipt.kid",
                )
            verify_object(
                key.verify_key,
                CONTEXT_ATTESTATION,
                unsigned(att),
                att["sig"],
                field="attestation.sig",
            )

        def tariff_hash() -> None:
            if bundle.charge.tariff_hash != bundle.tariff.tariff_hash:
                raise CheckFailed(
                    "tariff_hash_mismatch",
                    f"charge.tariff_hash {bundle.charge.tariff_hash} != SHA-256(JCS("
                    f"tariff)) {bundle.tariff.tariff_hash}",
                )
            if bundle.tariff.metric != event.metric:
                raise CheckFailed(
                    "tariff_metric_mismatch",
                    f"tariff prices {bundle.tariff.metric!r}, event metric is {event.metric!r}",
                )

        def tariff_in_force() -> None:
            if not bundle.tariff.is_effective_at(event.occurred_at_dt):
                raise CheckFailed(
                    "tariff_not_in_force",
                    f"tariff {bundle.tariff.tariff_id} v{bundle.tariff.version} is not in "
                    f"force at occurred_at {event.occurred_at}",
                )

        def charge_recompute() -> None:
            expected = compute_charge(bundle.tariff, event.quantity)
            report.billing_check = {
                "ok": expected == bundle.charge,
                "quantity": event.quantity,
                "amount_minor": bundle.charge.amount_minor,
                "expected_amount_minor": expected.amount_minor,
                "currency": expected.currency,
                "tariff_id": bundle.tariff.tariff_id,
                "tariff_version": bundle.tariff.version,
                "tariff_hash": expected.tariff_hash,
                "billing_verify_fingerprint": billing_fingerprint(
                    event.event_hash, bundle.tariff.tariff_hash, expected.to_json()
                ),
            }
            if expected != bundle.charge:
                raise CheckFailed(
                    "charge_mismatch",
                    f"charge says {bundle.charge.to_json()}, recomputed "
                    f"{expected.to_json()}",
                )

        def meter_hash() -> None:
            if att["meter_hash"] != canonical_hash(att["meter_envelope"]["event"]):
                raise CheckFailed(
                    "meter_hash_mismatch", "meter_hash != SHA-256(JCS(event))"
                )

        def charge_hash() -> None:
            if att["charge_hash"] != canonical_hash(att["charge"]):
                raise CheckFailed(
                    "charge_hash_mismatch", "charge_hash != SHA-256(JCS(charge))"
                )

        def fingerprint() -> None:
            expected = billing_fingerprint(
                att["meter_hash"], bundle.tariff.tariff_hash, att["charge"]
            )
            if att["billing_verify_fingerprint"] != expected:
                raise CheckFailed(
                    "fingerprint_mismatch",
                    f"billing_verify_fingerprint is {att['billing_verify_fingerprint']}, "
                    f"recomputed {expected}",
                )

        def commitments() -> None:
            expected = billing_commitments(
                att["meter_hash"],
                bundle.tariff.tariff_hash,
                att["charge_hash"],
                att["billing_verify_fingerprint"],
            )
            if att["billing_commitments"] != expected:
                raise CheckFailed(
                    "commitments_mismatch",
                    "billing_commitments do not match the digests (elements or "
                    "Poseidon public signal differ)",
                )

        def billing_proof() -> None:
            if "billing_proof" not in att:
                raise SkipCheck("no billing_proof (optional in the standard profile)")
            report.incircuit_binding_verification = {
                "ok": False,
                "reason": "groth16_verifier_unavailable",
            }
            raise CheckFailed(
                "groth16_verifier_unavailable",
                "bundle carries a billing_proof but this verifier has no Groth16 "
                "backend; failing closed",
            )

        def checkpoint_signature() -> None:
            if bundle.log is None:
                raise SkipCheck("no log evidence (optional in the standard profile)")
            self._open_checkpoint(bundle.log.checkpoint)

        def log_inclusion() -> None:
            if bundle.log is None:
                raise SkipCheck("no log evidence (optional in the standard profile)")
            log = bundle.log
            expected_leaf = attestation_leaf_hash(att)
            if log.leaf_hash != expected_leaf:
                raise CheckFailed(
                    "leaf_hash_mismatch",
                    "log.leaf_hash is not SHA-256(0x00 || JCS(attestation))",
                    field="log.leaf_hash",
                )
            checkpoint = self._open_checkpoint(log.checkpoint)
            if checkpoint.tree_size != log.tree_size:
                raise CheckFailed(
                    "tree_size_mismatch",
                    f"log.tree_size {log.tree_size} != checkpoint size {checkpoint.tree_size}",
                    field="log.tree_size",
                )
            verify_inclusion(
                expected_leaf,
                log.leaf_index,
                log.tree_size,
                list(log.inclusion_proof),
                checkpoint.root_hash,
            )

        return [
            ("meter_signature", meter_signature),
            ("issuer_signature", issuer_signature),
            ("tenant_binding", tenant_binding),
            ("tariff_hash", tariff_hash),
            ("tariff_in_force", tariff_in_force),
            ("charge_recompute", charge_recompute),
            ("meter_hash", meter_hash),
            ("charge_hash", charge_hash),
            ("fingerprint", fingerprint),
            ("commitments", commitments),
            ("billing_proof", billing_proof),
            ("checkpoint_signature", checkpoint_signature),
            ("log_inclusion", log_inclusion),
        ]

    def _open_checkpoint(self, text: str) -> Checkpoint:
        cached = self._checkpoints.get(text)
        if cached is not None:
            return cached
        if not self.trust.log_verifier_keys:
            raise SignatureError("trust anchors list no log verifier key", field="log")
        note = open_note(text, self.trust.log_verifier_keys)
        checkpoint = parse_checkpoint(note.text)
        if (
            self.trust.log_origin is not None
            and checkpoint.origin != self.trust.log_origin
        ):
            raise CheckFailed(
                "checkpoint_origin_mismatch",
                f"checkpoint origin {checkpoint.origin!r} is not the trusted log "
                f"{self.trust.log_origin!r}",
            )
        if len(self._checkpoints) > 4096:
            self._checkpoints.clear()
        self._checkpoints[text] = checkpoint
        return checkpoint


def verify_bundle(
    bundle_json: Any, trust: TrustAnchors, *, profile: str = PROFILE_STANDARD
) -> VerificationReport:
    """Verify one bundle (parsed JSON) against ``trust`` under ``profile``.

    Returns a report; never raises for a bad bundle (fail closed: every problem
    is a failed check).

    Raises:
        ValueError: only for an unsupported ``profile`` name.
    """
    return BundleVerifier(trust, profile=profile).verify(bundle_json)
