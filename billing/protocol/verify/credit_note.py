"""Verifying a ``vdi-billing-credit-note/1`` file offline (docs/PROTOCOL.md §12).

Named checks, in report order, each fail closed like a bundle's (an exception
inside a check is a ``fail`` with its code; a check passes only by
returning):

``credit_note_format`` · ``issuer_signature`` · ``credit_note_amount`` ·
``checkpoint_signature`` · ``log_inclusion``.

When ``credit_note_format`` fails no other check runs. The log checks skip
without a ``log`` member (``log_evidence_missing``); the strict profile turns
every skip into a failure. ``credit_note_amount`` compares the credit with
the original bundle when one is given (``original``): the bundle must be the
one the credit note names (its attestation's leaf hash is
``original.leaf_hash``) and agree on receipt id, tenant, period, currency and
amount.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from kernel.protocol.ed25519 import verify_object
from kernel.protocol.errors import ProtocolError
from kernel.protocol.verdict import verdict_ok
from transparency.protocol.merkle import verify_inclusion

from ..bundle import Bundle, attestation_leaf_hash
from ..contexts import CONTEXT_CREDIT_NOTE
from ..credit_note import CreditNote
from ..errors import CheckFailed, SkipCheck, UnknownKeyError
from ..trust import TrustAnchors
from .checkpoints import CheckpointOpener
from .options import PROFILE_STANDARD, PROFILE_STRICT, resolve_profile
from .report import CheckResult

__all__ = [
    "CREDIT_NOTE_CHECK_NAMES",
    "CreditNoteReport",
    "CreditNoteVerifier",
    "verify_credit_note",
]

#: The credit note's checks in report order.
CREDIT_NOTE_CHECK_NAMES: tuple[str, ...] = (
    "credit_note_format",
    "issuer_signature",
    "credit_note_amount",
    "checkpoint_signature",
    "log_inclusion",
)


@dataclass
class CreditNoteReport:
    """The result of :func:`verify_credit_note`; ``ok`` is the verdict.

    Attributes:
        profile: the canonical profile name.
        checks: the checks in report order.
        credit_note_id: the credit note's id once it parsed.
        original_receipt_id: ``original.receipt_id`` once it parsed.
        original_checked: whether an original bundle was compared.
        billing_check: ``{"amount_minor" (negative, minor units),
            "currency", "period", "original_amount_minor"}`` once parsed.
    """

    profile: str
    checks: list[CheckResult] = field(default_factory=list)
    credit_note_id: str | None = None
    original_receipt_id: str | None = None
    original_checked: bool = False
    billing_check: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True iff at least one check passed and none failed (fail closed)."""
        return verdict_ok(self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        """Return ``{ok, kind: "credit_note", profile, credit_note_id,
        receipt_id: null, original_receipt_id, original_checked, checks,
        billing_check}`` (``receipt_id`` is null: a credit note has none; the
        key keeps the bundle report's shape)."""
        return {
            "ok": self.ok,
            "kind": "credit_note",
            "profile": self.profile,
            "credit_note_id": self.credit_note_id,
            "receipt_id": None,
            "original_receipt_id": self.original_receipt_id,
            "original_checked": self.original_checked,
            "checks": [c.to_json() for c in self.checks],
            "billing_check": self.billing_check,
        }


class CreditNoteVerifier:
    """Verifies credit notes against fixed trust anchors (reusable; opened
    checkpoints are cached like the bundle verifier's)."""

    def __init__(self, trust: TrustAnchors, *, profile: str = PROFILE_STANDARD):
        """Bind the verifier to ``trust`` and a profile (``standard`` or
        ``VDI_VERIFY_STRICT_V1``/``strict``: no check may skip).

        Raises:
            ProfileUnsupportedError: an unknown profile name.
        """
        self.trust = trust
        self.profile = resolve_profile(profile)
        self.strict = self.profile == PROFILE_STRICT
        self.checkpoints = CheckpointOpener(trust)

    def verify(self, document: Any, *, original: Any = None) -> CreditNoteReport:
        """Run the named checks on ``document`` (the file's bytes or parsed
        JSON); ``original`` is the original bundle (bytes or parsed JSON) or
        ``None``. Returns the report; never raises for bad input."""
        report = CreditNoteReport(profile=self.profile)
        parsed: list[CreditNote] = []

        def parse() -> None:
            if isinstance(document, (bytes, bytearray)):
                parsed.append(CreditNote.from_bytes(document))
            else:
                parsed.append(CreditNote.from_json(document))

        self._run(report, "credit_note_format", parse)
        if not parsed:
            return report
        note = parsed[0]
        report.credit_note_id = note.credit_note_id
        report.original_receipt_id = note.original_receipt_id
        report.original_checked = original is not None
        report.billing_check = {
            "amount_minor": note.amount_minor,
            "currency": note.currency,
            "period": note.period,
            "original_amount_minor": note.original_amount_minor,
        }
        self._run(report, "issuer_signature", lambda: self._issuer_signature(note))
        self._run(report, "credit_note_amount", lambda: _amount(note, original))
        self._run(report, "checkpoint_signature", lambda: self._checkpoint(note))
        self._run(report, "log_inclusion", lambda: self._inclusion(note))
        return report

    def _run(
        self, report: CreditNoteReport, name: str, check: Callable[[], None]
    ) -> None:
        """Run one check and append its result (fail closed)."""
        try:
            check()
        except SkipCheck as exc:
            if self.strict:
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

    def _issuer_signature(self, note: CreditNote) -> None:
        """``issuer_signature``: the kid is a trusted issuer key and its
        signature over JCS(credit_note without sig), context
        ``meterproof/credit-note/v1``, verifies.

        Raises:
            UnknownKeyError: ``unknown_kid``.
            SignatureError: ``signature_invalid``.
        """
        key = self.trust.key("issuer", note.issuer_kid)
        if key is None:
            raise UnknownKeyError(
                f"issuer kid {note.issuer_kid} is not a trusted issuer key",
                field="credit_note.kid",
            )
        verify_object(
            key.verify_key,
            CONTEXT_CREDIT_NOTE,
            note.unsigned,
            note.body["sig"],
            field="credit_note.sig",
        )

    def _require_log(self, note: CreditNote) -> Any:
        if note.log is None:
            raise SkipCheck(
                "no log evidence (optional in the standard profile)",
                code="log_evidence_missing",
            )
        return note.log

    def _checkpoint(self, note: CreditNote) -> None:
        """``checkpoint_signature``: the checkpoint opens against the trust
        anchors (log key, origin, witness threshold), as for a bundle."""
        self.checkpoints.open(self._require_log(note).checkpoint)

    def _inclusion(self, note: CreditNote) -> None:
        """``log_inclusion``: ``log.leaf_hash`` is SHA-256(0x00 ||
        JCS(credit_note)) and its RFC 9162 §2.1.3.2 inclusion proof leads to
        the checkpoint's root.

        Raises:
            CheckFailed: ``leaf_hash_mismatch``, ``tree_size_mismatch``.
            InclusionProofError: the proof does not verify.
        """
        log = self._require_log(note)
        expected = note.leaf_hash
        if log.leaf_hash != expected:
            raise CheckFailed(
                "leaf_hash_mismatch",
                "log.leaf_hash is not SHA-256(0x00 || JCS(credit_note))",
                field="log.leaf_hash",
            )
        checkpoint, _ = self.checkpoints.open(log.checkpoint)
        if checkpoint.tree_size != log.tree_size:
            raise CheckFailed(
                "tree_size_mismatch",
                f"log.tree_size {log.tree_size} != checkpoint size "
                f"{checkpoint.tree_size}",
                field="log.tree_size",
            )
        verify_inclusion(
            expected,
            log.leaf_index,
            log.tree_size,
            list(log.inclusion_proof),
            checkpoint.root_hash,
        )


def _amount(note: CreditNote, original: Any) -> None:
    """``credit_note_amount``: the amount is negative, its magnitude at most
    ``original.amount_minor``, and, with the original bundle, the bundle is
    the one named (leaf hash) and agrees with ``original``.

    Raises:
        CheckFailed: ``credit_note_amount_invalid`` (zero or positive),
            ``credit_note_exceeds_original``, ``credit_note_original_mismatch``.
        BundleFormatError, JsonInputError: the original does not parse.
    """
    if note.amount_minor >= 0:
        raise CheckFailed(
            "credit_note_amount_invalid",
            f"amount_minor must be negative, found {note.amount_minor}",
            field="credit_note.amount_minor",
        )
    if -note.amount_minor > note.original_amount_minor:
        raise CheckFailed(
            "credit_note_exceeds_original",
            f"credit of {-note.amount_minor} exceeds the original amount "
            f"{note.original_amount_minor} (minor units)",
            field="credit_note.amount_minor",
        )
    if original is None:
        return
    if isinstance(original, (bytes, bytearray)):
        bundle = Bundle.from_bytes(original)
    else:
        bundle = Bundle.from_json(original)
    found = attestation_leaf_hash(bundle.attestation).hex()
    event = bundle.envelope.event
    differences = [
        (name, want, have)
        for name, want, have in (
            ("leaf_hash", note.original_leaf_hash, found),
            ("receipt_id", note.original_receipt_id, bundle.receipt_id),
            ("amount_minor", note.original_amount_minor, bundle.charge.amount_minor),
            ("period", note.original_period, event.window),
        )
        if want != have
    ]
    if note.currency != bundle.charge.currency:
        differences.append(("currency", note.currency, bundle.charge.currency))
    if note.tenant != event.tenant:
        differences.append(("tenant", note.tenant, event.tenant))
    if differences:
        name, want, have = differences[0]
        raise CheckFailed(
            "credit_note_original_mismatch",
            f"the original bundle does not match the credit note: {name} is "
            f"{have!r} in the bundle, {want!r} in the credit note",
            field=f"credit_note.original.{name}"
            if name not in ("currency", "tenant")
            else f"credit_note.{name}",
        )


def verify_credit_note(
    document: Any,
    trust: TrustAnchors,
    *,
    original: Any = None,
    profile: str = PROFILE_STANDARD,
) -> CreditNoteReport:
    """Verify one credit note (bytes or parsed JSON) against ``trust``;
    ``original`` is the original bundle (bytes or parsed JSON) or ``None``.
    Never raises for bad input (every problem is a failed check).

    Raises:
        ProfileUnsupportedError: only for an unknown ``profile``.
    """
    return CreditNoteVerifier(trust, profile=profile).verify(
        document, original=original
    )
