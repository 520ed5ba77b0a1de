"""The verification report: one :class:`CheckResult` per named check.

:class:`CheckResult` lives in :mod:`kernel.protocol.verdict` (the auditor's
log-only verdicts use it too) and is re-exported here.

Spec: docs/PROTOCOL.md §5.1 (Report). The JSON forms below are the wire format
of ``POST /api/vdi/billing/verify`` and of the offline CLI; they never change.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kernel.protocol.verdict import CheckResult, verdict_ok

from .options import PROFILE_STRICT

__all__ = ["CheckResult", "VerificationReport"]


@dataclass
class VerificationReport:
    """The result of :func:`~billing.protocol.verify.verify_bundle`; ``ok`` is
    the verdict.

    Attributes:
        profile: the canonical profile name.
        checks: the checks in report order.
        billing_check: the charge recomputation (``charge_recompute``).
        incircuit_binding_verification: the Groth16 binding result
            (``billing_proof``).
        receipt_id: the bundle's ``receipt.receipt_id`` once it parsed.
        revocation: the snapshot used by the strict profile.
    """

    profile: str
    checks: list[CheckResult] = field(default_factory=list)
    billing_check: dict[str, Any] | None = None
    incircuit_binding_verification: dict[str, Any] | None = None
    receipt_id: str | None = None
    revocation: dict[str, Any] | None = None

    @property
    def ok(self) -> bool:
        """True iff at least one check passed and none failed (fail closed)."""
        return verdict_ok(self.checks)

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
