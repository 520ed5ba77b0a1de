"""Bundle verdicts of the auditor UI: a log entry with the bundle stored for
it, checked by the one bundle verifier
(:func:`billing.protocol.verify.verify_bundle`) as
``POST /api/vdi/billing/verify`` checks it, and its revocation status."""

from __future__ import annotations

import json
from dataclasses import dataclass, fields
from typing import Any

from billing.auditor.selectors_trust import AuditTrust, audit_trust_get
from billing.models import Bundle
from billing.protocol.verify import (
    CheckResult,
    VerificationReport,
    resolve_profile,
    verify_bundle,
)
from billing.selectors import (
    bundle_get,
    bundle_revocation_check,
    verification_options_get,
)
from billing.settings import billing_settings
from kernel.errors import SigningKeysUnconfigured
from transparency.selectors_audit.entries import EntryLogAudit, entry_log_audit_get


@dataclass
class EntryAudit(EntryLogAudit):
    """An entry with its log verdicts (:class:`EntryLogAudit`), its bundle and
    the bundle's verdicts.

    Attributes:
        receipt_id, tenant: of the bundle stored for this leaf, if any.
        bundle_pretty: that bundle (with current log evidence), indented.
        report: :func:`billing.protocol.verify.verify_bundle`'s report on
            the bundle, ``None`` without a bundle.
        bundle_problem: why the bundle could not be verified at all.
        revocation: the strict profile's ``not_revoked`` check on the bundle
            against the revocation snapshot in force (``skip`` when there is
            none), whatever profile ``report`` ran; ``None`` without a bundle.
    """

    receipt_id: str | None = None
    tenant: str | None = None
    bundle_pretty: str = ""
    report: VerificationReport | None = None
    bundle_problem: str = ""
    revocation: CheckResult | None = None

    @property
    def ok(self) -> bool:
        """True iff the log checks passed, the bundle (if any) verified, and
        neither it nor a key that signed it is revoked."""
        return (
            super().ok
            and (self.report is None or self.report.ok)
            and (self.revocation is None or self.revocation.status != "fail")
        )

    @property
    def every_check_passed(self) -> bool:
        """True iff :attr:`ok` and revocation was checked (and passed), the
        only case the page may say the bundle "passes every check"."""
        return self.ok and (
            self.report is None
            or (self.revocation is not None and self.revocation.status == "pass")
        )


def bundle_report_get(*, bundle_json: Any, trust: AuditTrust) -> VerificationReport:
    """Return :func:`billing.protocol.verify.verify_bundle`'s report on
    ``bundle_json`` under the server's profile (``VDI_BILLING_VERIFY_PROFILE``),
    with the revocation snapshot the strict profile needs, as
    ``POST /api/vdi/billing/verify`` does.

    Raises:
        SigningKeysUnconfigured: ``trust`` has no trust anchors.
        ValueError: an unsupported profile name.
    """
    if trust.anchors is None:
        raise SigningKeysUnconfigured(f"no trust anchors: {trust.problem}")
    profile = resolve_profile(billing_settings.verify_profile)
    options, _ = verification_options_get(profile=profile)
    return verify_bundle(bundle_json, trust.anchors, profile=profile, **options)


def bundle_revocation_get(
    *, bundle_json: Any, report: VerificationReport
) -> CheckResult:
    """Return the ``not_revoked`` verdict on a bundle: ``report``'s own when
    it ran the strict profile, else the strict check run against the
    revocation snapshot in force
    (:func:`billing.selectors.bundle_revocation_check`)."""
    for check in report.checks:
        if check.name == "not_revoked":
            return check
    return bundle_revocation_check(bundle_json=bundle_json)


def entry_audit_get(*, leaf_index: int) -> EntryAudit:
    """Return entry ``leaf_index`` with its proof against the latest checkpoint
    and every verdict: the log's
    (:func:`transparency.selectors_audit.entries.entry_log_audit_get`) against
    the published trust anchors, then, when a bundle is stored for the leaf,
    the bundle's report and revocation status. A bundle that cannot be read
    or verified is shown (``bundle_problem``), never raised.

    Raises:
        LeafNotFound: no sequenced entry ``leaf_index``.
    """
    trust = audit_trust_get()
    log_audit = entry_log_audit_get(leaf_index=leaf_index, trust=trust)
    result = EntryAudit(
        **{f.name: getattr(log_audit, f.name) for f in fields(EntryLogAudit)}
    )
    row = (
        Bundle.objects.filter(leaf_hash=log_audit.entry.leaf_hash)
        .values_list("receipt_id", "tenant__slug")
        .first()
    )
    if row is not None:
        result.receipt_id, result.tenant = row
        try:
            bundle = bundle_get(receipt_id=row[0])
            result.bundle_pretty = json.dumps(bundle, indent=2, ensure_ascii=False)
            result.report = bundle_report_get(bundle_json=bundle, trust=trust)
            result.revocation = bundle_revocation_get(
                bundle_json=bundle, report=result.report
            )
        except Exception as exc:  # shown, never a 500
            result.bundle_problem = getattr(exc, "message", str(exc))
    return result


__all__ = [
    "EntryAudit",
    "bundle_report_get",
    "bundle_revocation_get",
    "entry_audit_get",
]
