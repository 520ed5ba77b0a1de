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

``meter_hash`` also recomputes ``receipt.receipt_id`` from the signed event
(``rcpt_`` + 24 hex of SHA-256(JCS([tenant, window, event_id])),
``receipt_id_mismatch``). When ``bundle_format`` fails, no other check runs and
the report lists that one check only.

When the trust anchors set ``log.witness_threshold`` k > 0, ``checkpoint_signature``
(every profile) also requires k distinct verified C2SP tlog-cosignatures by
listed witness keys (``witness_cosignatures_insufficient``).

Strict profile ``VDI_VERIFY_STRICT_V1``: every standard check, then
``kids_valid`` · ``revocation_snapshot`` · ``not_revoked`` · ``authority_binding``.
No check may skip: a skipped check is reported as ``fail`` with the skip's code
(``billing_proof_missing``, ``log_evidence_missing``). Signing time per role
(``kids_valid``): meter key -> the event's ``occurred_at``; issuer ->
``receipt.issued_at``; log operator -> the checkpoint's ``Timestamp: <unix
seconds>`` extension line, else ``receipt.issued_at``. A key is valid at ``t``
iff ``not_before <= t < not_after`` (open bounds when null).
"""

from __future__ import annotations

import importlib
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import ModuleType
from typing import Any

from billing.protocol.contexts import CONTEXT_ATTESTATION, CONTEXT_METER_ENVELOPE
from kernel.protocol.ed25519 import verify_object
from kernel.protocol.errors import ProtocolError, SignatureError
from kernel.protocol.jcs import canonical_hash
from kernel.protocol.trustedkey import TrustedKey
from revocation.protocol.snapshot import (
    RevocationSnapshot,
    attestation_bundle_hash,
    snapshot_check_fresh,
)
from transparency.protocol.checkpoint import Checkpoint, parse_checkpoint
from transparency.protocol.merkle import verify_inclusion
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    ED25519_TYPE,
    Note,
    NoteVerifier,
    open_note,
)

from .bundle import (
    Bundle,
    attestation_leaf_hash,
    billing_commitments,
    billing_fingerprint,
    receipt_id_for,
    unsigned,
)
from .errors import BillingProtocolError, UnknownKeyError
from .tariff import compute_charge
from .trust import TrustAnchors

PROFILE_STANDARD = "standard"
PROFILE_STRICT = "VDI_VERIFY_STRICT_V1"
PROFILES = (PROFILE_STANDARD, PROFILE_STRICT)
#: Aliases accepted by the CLI and the API (``--profile strict``).
PROFILE_ALIASES = {"strict": PROFILE_STRICT}
#: Default freshness bound of a revocation snapshot (seconds).
DEFAULT_MAX_SNAPSHOT_AGE_SECONDS = 3600  # = VDI_BILLING_REVOCATION_MAX_AGE_SEC
GROTH16_BACKENDS = ("fast", "reference")
#: Names of the checks only the strict profile runs, in order.
STRICT_CHECKS = (
    "kids_valid",
    "revocation_snapshot",
    "not_revoked",
    "authority_binding",
)
_TIMESTAMP_PREFIX = "Timestamp: "


def resolve_profile(name: str) -> str:
    """Return the canonical profile name for ``name`` (``strict`` is an alias
    of ``VDI_VERIFY_STRICT_V1``); unknown names are returned unchanged."""
    return PROFILE_ALIASES.get(name, name)


class CheckFailed(BillingProtocolError):
    """A verification check found a mismatch (generic; ``code`` is per check)."""

    code = "check_failed"

    def __init__(self, code: str, message: str, *, field: str | None = None) -> None:
        super().__init__(message, field=field)
        self.code = code


class SkipCheck(Exception):
    """Raised by a check whose optional input is absent (reported as ``skip``).

    ``code`` names what is absent; the strict profile reports the skip as a
    ``fail`` with that code.
    """

    def __init__(self, message: str, *, code: str = "required_check_skipped") -> None:
        """Record ``message`` and the ``code`` used when a skip is a failure."""
        super().__init__(message)
        self.code = code


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
    revocation: dict[str, Any] | None = None

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
        incircuit_binding_verification[, revocation]}``; ``revocation``
        (strict profile) is ``{sequence, snapshot_time, age_seconds,
        issuer_kid}`` of the snapshot used, or null without one."""
        extra: dict[str, Any] = {}
        if self.profile == PROFILE_STRICT:
            extra["revocation"] = self.revocation
        return {
            "ok": self.ok,
            "profile": self.profile,
            "receipt_id": self.receipt_id,
            "checks": [c.to_json() for c in self.checks],
            "billing_check": self.billing_check,
            "incircuit_binding_verification": self.incircuit_binding_verification,
            **extra,
        }


class BundleVerifier:
    """Verifies bundles against fixed trust anchors; reusable for bulk audits.

    Verified checkpoints are cached by their exact note text, so a bulk audit of
    bundles that share a checkpoint checks its signature once.
    """

    def __init__(
        self,
        trust: TrustAnchors,
        *,
        profile: str = PROFILE_STANDARD,
        revocation: RevocationSnapshot | None = None,
        now: int | None = None,
        max_snapshot_age_seconds: int = DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
        groth16_backend: str = "fast",
        revocation_problem: ProtocolError | None = None,
    ) -> None:
        """Bind the verifier to ``trust`` and a profile name.

        Args:
            trust: the trust anchors (the only thing trusted).
            profile: ``standard`` or ``VDI_VERIFY_STRICT_V1`` (alias
                ``strict``).
            revocation: an opened revocation snapshot (strict profile; its
                issuer kid is checked against ``trust``).
            now: the clock in unix seconds for snapshot freshness; ``None``
                reads ``time.time()`` at each :meth:`verify`.
            max_snapshot_age_seconds: oldest acceptable snapshot (seconds).
            groth16_backend: ``fast`` or ``reference`` (py_ecc).
            revocation_problem: why no snapshot could be opened (its code is
                reported by ``revocation_snapshot`` when ``revocation`` is
                ``None``).

        Raises:
            ValueError: if ``profile`` or ``groth16_backend`` is not
                implemented (never silently downgraded).
        """
        profile = resolve_profile(profile)
        if profile not in PROFILES:
            raise ValueError(f"verification profile {profile!r} is not supported")
        if groth16_backend not in GROTH16_BACKENDS:
            raise ValueError(f"groth16 backend {groth16_backend!r} is not supported")
        self.trust = trust
        self.profile = profile
        self.strict = profile == PROFILE_STRICT
        self.revocation = revocation
        self.now = now
        self.max_snapshot_age_seconds = max_snapshot_age_seconds
        self.groth16_backend = groth16_backend
        self.revocation_problem = revocation_problem
        self._checkpoints: dict[str, tuple[Checkpoint, Note]] = {}

    def verify(self, bundle_json: Any) -> VerificationReport:
        """Run every check of the profile on ``bundle_json``: parsed JSON, or
        the bundle file's bytes (read by the strict I-JSON reader inside
        ``bundle_format``, so a duplicate member or over-deep nesting fails
        that check with ``duplicate_member`` / ``json_too_deep``)."""
        report = VerificationReport(profile=self.profile)
        state: dict[str, Any] = {}

        def run(name: str, check: Callable[[], None]) -> None:
            try:
                check()
            except SkipCheck as exc:
                if self.strict:  # no optional member in the strict profile
                    report.checks.append(
                        CheckResult(name, "fail", exc.code, f"strict: {exc}")
                    )
                else:
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
            if isinstance(bundle_json, (bytes, bytearray)):
                state["bundle"] = Bundle.from_bytes(bundle_json)
            else:
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
            expected_receipt = receipt_id_for(
                event.tenant, event.window, event.event_id
            )
            if bundle.receipt_id != expected_receipt:
                raise CheckFailed(
                    "receipt_id_mismatch",
                    f"receipt.receipt_id is {bundle.receipt_id!r}, expected "
                    f"{expected_receipt!r} = 'rcpt_' + 24 hex of "
                    "SHA-256(JCS([tenant, window, event_id]))",
                    field="attestation.receipt.receipt_id",
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
            proof, where = bundle.billing_proof
            if not where:
                raise SkipCheck(
                    "no billing_proof (optional in the standard profile; an "
                    "async proof may not be attached yet)",
                    code="billing_proof_missing",
                )
            self._verify_billing_proof(att, proof, where, report)

        def checkpoint_signature() -> None:
            if bundle.log is None:
                raise SkipCheck(
                    "no log evidence (optional in the standard profile)",
                    code="log_evidence_missing",
                )
            self._open_checkpoint(bundle.log.checkpoint)

        def log_inclusion() -> None:
            if bundle.log is None:
                raise SkipCheck(
                    "no log evidence (optional in the standard profile)",
                    code="log_evidence_missing",
                )
            log = bundle.log
            expected_leaf = attestation_leaf_hash(att)
            if log.leaf_hash != expected_leaf:
                raise CheckFailed(
                    "leaf_hash_mismatch",
                    "log.leaf_hash is not SHA-256(0x00 || JCS(attestation))",
                    field="log.leaf_hash",
                )
            checkpoint, _ = self._open_checkpoint(log.checkpoint)
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

        checks = [
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
        if self.strict:
            checks.extend(self._strict_checks(bundle, report))
        return checks

    def _strict_checks(
        self, bundle: Bundle, report: VerificationReport
    ) -> list[tuple[str, Callable[[], None]]]:
        """Return the strict profile's extra checks (see the module docstring)."""
        att = bundle.attestation
        event = bundle.envelope.event
        trust = self.trust

        def kids_valid() -> None:
            meter = _require_key(trust, "meter", bundle.envelope.kid)
            _require_valid_at(meter, event.occurred_at_dt, "event.occurred_at")
            issuer = _require_key(trust, "issuer", bundle.issuer_kid)
            _require_valid_at(issuer, bundle.issued_at, "receipt.issued_at")
            if bundle.log is None:
                return  # absence is the log checks' failure, not this one's
            checkpoint, note = self._open_checkpoint(bundle.log.checkpoint)
            signed_at = checkpoint_time(checkpoint) or bundle.issued_at
            operators = self._log_operator_keys(note)
            if not operators:
                raise UnknownKeyError(
                    "the checkpoint's log signature is by no trusted log_operator key",
                    field="log.checkpoint",
                )
            if not any(key.is_valid_at(signed_at) for key in operators):
                _require_valid_at(operators[0], signed_at, "checkpoint Timestamp")

        def revocation_snapshot() -> None:
            if self.revocation is None and self.revocation_problem is not None:
                raise self.revocation_problem
            snapshot = self._require_snapshot()
            now = self._now()
            report.revocation = {
                "sequence": snapshot.sequence,
                "snapshot_time": snapshot.snapshot_time,
                "age_seconds": snapshot.age_seconds(now),
                "issuer_kid": snapshot.issuer_kid,
            }
            issuer = trust.key("issuer", snapshot.issuer_kid)
            made_at = datetime.fromtimestamp(snapshot.snapshot_time, UTC)
            if issuer is None or not issuer.is_valid_at(made_at):
                raise CheckFailed(
                    "revocation_issuer_untrusted",
                    f"revocation snapshot is signed by issuer kid "
                    f"{snapshot.issuer_kid}, which is not a trusted issuer key "
                    f"valid at its snapshot_time {snapshot.snapshot_time}",
                    field="revocation.issuer_kid",
                )
            snapshot_check_fresh(
                snapshot, now=now, max_age_seconds=self.max_snapshot_age_seconds
            )

        def not_revoked() -> None:
            snapshot = self._require_snapshot()
            kids = [("meter", bundle.envelope.kid), ("issuer", bundle.issuer_kid)]
            if bundle.log is not None:
                try:
                    _, note = self._open_checkpoint(bundle.log.checkpoint)
                except ProtocolError:
                    note = None  # reported by checkpoint_signature
                if note is not None:
                    kids.extend(
                        ("log_operator", key.kid)
                        for key in self._log_operator_keys(note)
                    )
            for role, kid in kids:
                listed = trust.key(role, kid)
                if snapshot.is_kid_revoked(kid) or (
                    listed is not None and listed.status == "revoked"
                ):
                    raise CheckFailed(
                        "kid_revoked",
                        f"{role} kid {kid} is revoked (snapshot sequence "
                        f"{snapshot.sequence})",
                        field=role,
                    )
            if snapshot.is_attestation_revoked(
                bundle.receipt_id, attestation_bundle_hash(att)
            ):
                raise CheckFailed(
                    "attestation_revoked",
                    f"attestation {bundle.receipt_id} is revoked (snapshot "
                    f"sequence {snapshot.sequence})",
                    field="attestation.receipt.receipt_id",
                )

        def authority_binding() -> None:
            proof, where = bundle.billing_proof
            self._check_authority_binding(proof, where or "attestation.billing_proof")

        return [
            ("kids_valid", kids_valid),
            ("revocation_snapshot", revocation_snapshot),
            ("not_revoked", not_revoked),
            ("authority_binding", authority_binding),
        ]

    def _now(self) -> int:
        return self.now if self.now is not None else int(time.time())

    def _require_snapshot(self) -> RevocationSnapshot:
        if self.revocation is None:
            raise CheckFailed(
                "revocation_snapshot_missing",
                "the strict profile needs an opened revocation snapshot",
                field="revocation",
            )
        return self.revocation

    def _verify_billing_proof(
        self,
        att: dict[str, Any],
        proof: Any,
        where: str,
        report: VerificationReport,
    ) -> None:
        """Verify the ``billing_proof`` member found at ``where`` (inside the
        signed attestation, or detached at the bundle's top level) with
        ``circuits.protocol.binding``: Groth16 against the trust anchors'
        verification keys, public signal recomputed from the signed
        ``billing_commitments``. Fails closed without a Groth16 backend; the
        report's ``incircuit_binding_verification`` gains ``attachment``
        (``embedded`` or ``detached``)."""
        binding = _optional_module("circuits.protocol.binding")
        if binding is None:
            report.incircuit_binding_verification = {
                "ok": False,
                "reason": "groth16_verifier_unavailable",
            }
            raise CheckFailed(
                "groth16_verifier_unavailable",
                "bundle carries a billing_proof but this verifier has no Groth16 "
                "backend; failing closed",
            )
        circuits = self.trust.circuits
        result: dict[str, Any] = binding.verify_billing_proof(
            proof,
            commitments=att["billing_commitments"],
            verification_keys=circuits.verification_keys if circuits else {},
            backend=self.groth16_backend,
        )
        result["attachment"] = "detached" if where == "billing_proof" else "embedded"
        report.incircuit_binding_verification = result
        if result.get("ok") is not True:
            raise CheckFailed(
                str(result.get("reason") or "billing_proof_invalid"),
                f"billing_proof does not verify: {result.get('reason')}",
                field=where,
            )

    def _check_authority_binding(self, proof: Any, where: str) -> None:
        """Require the proof's ``vkey_hash`` to be listed in a manifest signed by
        a trusted manifest authority, and the trusted verification key to hash
        to it (DESIGN.md "Circuit artifacts"). ``where`` is the proof's path
        in the bundle, used in error fields."""
        if not isinstance(proof, dict):
            raise CheckFailed(
                "billing_proof_missing",
                "no billing_proof, so no verification key to authorise",
                field=where,
            )
        vkey_hash = proof.get("vkey_hash")
        if not isinstance(vkey_hash, str):
            raise CheckFailed(
                "vkey_hash_missing",
                "billing_proof.vkey_hash must be a string",
                field=f"{where}.vkey_hash",
            )
        circuits = self.trust.circuits
        if circuits is None or not circuits.manifests:
            raise CheckFailed(
                "artifact_manifest_missing",
                "trust anchors list no signed artifact manifest (circuits.manifests)",
                field="circuits.manifests",
            )
        authorities = {
            key.kid: key.verify_key
            for key in self.trust.keys_for("manifest_authority")
            if key.status != "revoked"
        }
        if not authorities:
            raise CheckFailed(
                "manifest_authority_untrusted",
                "trust anchors list no manifest_authority key",
                field="keys",
            )
        manifest_module = _optional_module("circuits.protocol.manifest")
        if manifest_module is None:
            raise CheckFailed(
                "manifest_verifier_unavailable",
                "circuits.protocol.manifest is not installed; failing closed",
            )
        authorised: dict[str, Any] | None = None
        errors: list[str] = []
        for index, manifest in enumerate(circuits.manifests):
            try:
                manifest_module.verify_manifest_signature(manifest, authorities)
            except ProtocolError as exc:
                errors.append(f"manifests[{index}]: {exc.code}")
                continue
            if vkey_hash in manifest_vkey_hashes(manifest):
                authorised = manifest
                break
        if authorised is None:
            detail = f" (rejected: {', '.join(errors)})" if errors else ""
            raise CheckFailed(
                "vkey_not_authorised",
                f"vkey_hash {vkey_hash} is in no artifact manifest signed by a "
                f"trusted manifest authority{detail}",
                field=f"{where}.vkey_hash",
            )
        vkey = circuits.verification_keys.get(vkey_hash)
        if vkey is None:
            raise CheckFailed(
                "verification_key_missing",
                f"trust anchors hold no verification key for vkey_hash {vkey_hash}",
                field="circuits.verification_keys",
            )
        actual = verification_key_hash(vkey)
        if actual != vkey_hash:
            raise CheckFailed(
                "vkey_hash_mismatch",
                f"the verification key listed under {vkey_hash} hashes to {actual}",
                field="circuits.verification_keys",
            )
        circuit_hash = proof.get("circuit_hash")
        manifest_circuit = authorised.get("circuit_hash")
        if (
            circuit_hash is not None
            and manifest_circuit is not None
            and circuit_hash != manifest_circuit
        ):
            raise CheckFailed(
                "circuit_hash_mismatch",
                f"billing_proof.circuit_hash {circuit_hash} != manifest "
                f"circuit_hash {manifest_circuit}",
                field=f"{where}.circuit_hash",
            )

    def _note_verifiers(self) -> dict[tuple[str, bytes], NoteVerifier]:
        parsed = [NoteVerifier.from_vkey(v) for v in self.trust.log_verifier_keys]
        return {(v.name, v.key_id): v for v in parsed}

    def _log_operator_keys(self, note: Note) -> list[TrustedKey]:
        """Return the ``log_operator`` key entries behind the note's verified
        Ed25519 (0x01) signatures."""
        verifiers = self._note_verifiers()
        found: list[TrustedKey] = []
        for sig in note.sigs:
            verifier = verifiers.get((sig.name, sig.key_id))
            if sig.key_type != ED25519_TYPE or verifier is None:
                continue
            key = self.trust.key_by_public_bytes("log_operator", verifier.public_key)
            if key is not None:
                found.append(key)
        return found

    def _open_checkpoint(self, text: str) -> tuple[Checkpoint, Note]:
        """Open the signed checkpoint: a verified log signature (a listed 0x01
        vkey), the trusted origin, and ``witness_threshold`` distinct verified
        witness cosignatures. Cached by exact text.

        Raises:
            SignatureError, NoteError, CheckpointError, CheckFailed
            (``checkpoint_origin_mismatch``,
            ``witness_cosignatures_insufficient``).
        """
        cached = self._checkpoints.get(text)
        if cached is not None:
            return cached
        trust = self.trust
        if not trust.log_verifier_keys:
            raise SignatureError("trust anchors list no log verifier key", field="log")
        log_keys = self._note_verifiers()
        witnesses = [NoteVerifier.from_vkey(v) for v in trust.log_witnesses]
        note = open_note(text, [*log_keys.values(), *witnesses])
        if not any(
            sig.key_type == ED25519_TYPE and (sig.name, sig.key_id) in log_keys
            for sig in note.sigs
        ):
            raise SignatureError(
                "checkpoint has no verified signature by a log verifier key "
                "(only witness cosignatures)",
                field="log.checkpoint",
            )
        checkpoint = parse_checkpoint(note.text)
        if trust.log_origin is not None and checkpoint.origin != trust.log_origin:
            raise CheckFailed(
                "checkpoint_origin_mismatch",
                f"checkpoint origin {checkpoint.origin!r} is not the trusted log "
                f"{trust.log_origin!r}",
            )
        if trust.witness_threshold > 0:
            witness_ids = {(w.name, w.key_id) for w in witnesses}
            cosigners = {
                (sig.name, sig.key_id)
                for sig in note.sigs
                if sig.key_type == COSIGNATURE_TYPE
                and (sig.name, sig.key_id) in witness_ids
            }
            if len(cosigners) < trust.witness_threshold:
                raise CheckFailed(
                    "witness_cosignatures_insufficient",
                    f"checkpoint has {len(cosigners)} verified witness "
                    f"cosignature(s), the trust anchors require "
                    f"{trust.witness_threshold}",
                    field="log.checkpoint",
                )
        if len(self._checkpoints) > 4096:
            self._checkpoints.clear()
        self._checkpoints[text] = (checkpoint, note)
        return checkpoint, note


def checkpoint_time(checkpoint: Checkpoint) -> datetime | None:
    """Return the checkpoint's ``Timestamp: <unix seconds>`` extension as an
    aware UTC datetime, or ``None`` without one.

    Raises:
        CheckFailed: ``checkpoint_timestamp_invalid`` when the line is not a
            plain non-negative decimal or appears twice.
    """
    values = [
        line[len(_TIMESTAMP_PREFIX) :]
        for line in checkpoint.extensions
        if line.startswith(_TIMESTAMP_PREFIX)
    ]
    if not values:
        return None
    value = values[0]
    if len(values) > 1 or not value.isascii() or not value.isdigit():
        raise CheckFailed(
            "checkpoint_timestamp_invalid",
            f"checkpoint Timestamp extension must appear once as unix seconds, "
            f"found {values!r}",
            field="log.checkpoint",
        )
    return datetime.fromtimestamp(int(value), UTC)


def manifest_vkey_hashes(manifest: dict[str, Any]) -> set[str]:
    """Return the ``vkey_hash`` a ``vdi-artifact-manifest/1`` document
    authorises (its top-level member; empty when absent)."""
    value = manifest.get("vkey_hash")
    return {value} if isinstance(value, str) else set()


def verification_key_hash(vkey: dict[str, Any]) -> str:
    """Return ``vkey_hash`` of a snarkjs verification key: the definition of
    ``circuits.protocol`` when it provides one, else SHA-256(JCS(vkey))."""
    for name in ("circuits.protocol.manifest", "circuits.protocol.binding"):
        module = _optional_module(name)
        function = getattr(module, "vkey_hash", None) if module else None
        if callable(function):
            return str(function(vkey))
    return canonical_hash(vkey)


def _optional_module(name: str) -> ModuleType | None:
    """Import a sibling protocol module that may not be installed yet.

    Keeps the interpreter's recursion limit: ``py_ecc`` (imported by the
    Groth16 backends) raises it to 100000 at import, after which parsing a
    deeply nested JSON document (``[[[[...``) overflows the C stack and
    crashes the process instead of raising ``RecursionError``.
    """
    limit = sys.getrecursionlimit()
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise
    finally:
        sys.setrecursionlimit(limit)


def _require_key(trust: TrustAnchors, role: str, kid: str) -> TrustedKey:
    key = trust.key(role, kid)
    if key is None:
        raise UnknownKeyError(f"{role} kid {kid} is not trusted", field=role)
    return key


def _require_valid_at(key: TrustedKey, moment: datetime, what: str) -> None:
    if not key.is_valid_at(moment):
        window = (
            f"[{key.not_before.isoformat() if key.not_before else '-inf'}, "
            f"{key.not_after.isoformat() if key.not_after else '+inf'})"
        )
        raise CheckFailed(
            "kid_not_valid_at_signing_time",
            f"{key.role} kid {key.kid} is valid in {window}, but signed at "
            f"{moment.isoformat()} ({what})",
            field=key.role,
        )


def verify_bundle(
    bundle_json: Any,
    trust: TrustAnchors,
    *,
    profile: str = PROFILE_STANDARD,
    **options: Any,
) -> VerificationReport:
    """Verify one bundle (parsed JSON) against ``trust`` under ``profile``.

    ``options`` are :class:`BundleVerifier`'s keyword arguments
    (``revocation``, ``now``, ``max_snapshot_age_seconds``,
    ``groth16_backend``). Returns a report; never raises for a bad bundle
    (fail closed: every problem is a failed check).

    Raises:
        ValueError: only for an unsupported ``profile`` or backend name.
    """
    return BundleVerifier(trust, profile=profile, **options).verify(bundle_json)
