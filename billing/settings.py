"""The billing app's settings (``billing_settings``).

Read at call time through :class:`kernel.settings.Setting`; the defaults live
in ``config/settings.py`` only (the rule is in :mod:`kernel.settings`).
Billing also reads the settings of the apps below it
(:data:`kernel.settings.kernel_settings`,
:data:`transparency.settings.transparency_settings`,
:data:`revocation.settings.revocation_settings`,
:data:`circuits.settings.circuits_settings`).
"""

from __future__ import annotations

from kernel.settings import AppSettings, Setting, text

__all__ = ["BillingSettings", "billing_settings"]


class BillingSettings(AppSettings):
    """Attest, verify and import settings.

    Attributes (Django setting, environment variable ``MP_...``):
        max_body_bytes: ``MP_MAX_BODY_BYTES``: largest single attest or
            verify request body (bytes); larger is 413 ``payload_too_large``.
        attest_enabled: ``VDI_ATTEST_ENABLED``: the attest API answers.
        attest_secret: ``VDI_ATTEST_SECRET``: when set, the attest API
            requires it in the ``X-VDI-Attest-Secret`` header.
        default_tariff_id: ``VDI_DEFAULT_TARIFF_ID``: tariff of an event that
            names none.
        verify_profile: ``VDI_BILLING_VERIFY_PROFILE``: profile of
            ``POST /api/vdi/billing/verify`` when the request names none.
        replay_reserve_ttl_seconds: ``VDI_BILLING_REPLAY_RESERVE_TTL_SEC``:
            how long a replay reservation holds (seconds).
        max_event_age_seconds: ``VDI_BILLING_MAX_EVENT_AGE_SEC``: oldest
            accepted event timestamp (seconds before now; Stripe: 35 days).
        max_future_skew_seconds: ``VDI_BILLING_MAX_FUTURE_SKEW_SEC``: newest
            accepted event timestamp (seconds after now; Stripe: 5 minutes).
        proof_max_attempts: ``VDI_BILLING_PROOF_MAX_ATTEMPTS``: async proving
            attempts per bundle before it is marked failed.
        proof_batch: ``VDI_BILLING_PROOF_BATCH``: bundles per async proving
            worker run.
        tenant_surrogate_key: ``VDI_TENANT_SURROGATE_KEY``: keyed-hash key
            of the tenant surrogates of client IPs (``import_access_log``).
        dispute_evidence_days: ``MP_DISPUTE_EVIDENCE_DAYS``: days a tenant
            has to add evidence to a dispute after opening it (its
            ``evidence_due_by``).
        dispute_max_body_bytes: ``MP_DISPUTE_MAX_BODY_BYTES``: largest
            dispute open or evidence request body (bytes, base64 evidence
            included); larger is 413 ``payload_too_large``.


        statement_close_grace_days: ``MP_STATEMENT_CLOSE_GRACE_DAYS``: days
            after a period's month ends before the beat job closes it.
    """

    max_body_bytes = Setting("MP_MAX_BODY_BYTES", int)
    attest_enabled = Setting("VDI_ATTEST_ENABLED", bool)
    attest_secret = Setting("VDI_ATTEST_SECRET", text)
    default_tariff_id = Setting("VDI_DEFAULT_TARIFF_ID", text)
    verify_profile = Setting("VDI_BILLING_VERIFY_PROFILE", text)
    replay_reserve_ttl_seconds = Setting("VDI_BILLING_REPLAY_RESERVE_TTL_SEC", int)
    max_event_age_seconds = Setting("VDI_BILLING_MAX_EVENT_AGE_SEC", int)
    max_future_skew_seconds = Setting("VDI_BILLING_MAX_FUTURE_SKEW_SEC", int)
    proof_max_attempts = Setting("VDI_BILLING_PROOF_MAX_ATTEMPTS", int)
    proof_batch = Setting("VDI_BILLING_PROOF_BATCH", int)
    tenant_surrogate_key = Setting("VDI_TENANT_SURROGATE_KEY", text)
    dispute_evidence_days = Setting("MP_DISPUTE_EVIDENCE_DAYS", int)
    dispute_max_body_bytes = Setting("MP_DISPUTE_MAX_BODY_BYTES", int)

    statement_close_grace_days = Setting("MP_STATEMENT_CLOSE_GRACE_DAYS", int)


#: The billing app's settings.
billing_settings = BillingSettings()
