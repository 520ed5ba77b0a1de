"""Service-level errors of the billing app (Django side).

They derive from the project root :class:`MeterproofError` (``code``,
``message``, ``field``); ``config/exception_handler.py`` maps each class to an
HTTP status. ``SigningKeysUnconfigured`` is the kernel's
(:mod:`kernel.errors`).
"""

from __future__ import annotations

from kernel.protocol.errors import MeterproofError


class BillingServiceError(MeterproofError):
    """Root of the billing service errors."""

    code = "billing_error"


class ReplayConflict(BillingServiceError):
    """The ``(tenant, event_id, window)`` was already attested with another body."""

    code = "replay_conflict"


class AttestInProgress(BillingServiceError):
    """The same event is being attested by another request right now; retry."""

    code = "attest_in_progress"


class ReservationLost(AttestInProgress):
    """This request's replay reservation expired (or its holder was judged
    dead) and another request took the event over before this one committed.

    Nothing of this request was stored; a retry returns the other request's
    bundle (``replayed``) or answers ``attest_in_progress`` while it runs.
    HTTP 409, like its parent.
    """

    code = "reservation_lost"


class EventTooOld(BillingServiceError):
    """``occurred_at`` is older than the late-event window (default 35 days)."""

    code = "event_too_old"


class EventInFuture(BillingServiceError):
    """``occurred_at`` is further in the future than the allowed skew (5 min)."""

    code = "event_in_future"


class NoTariffInForce(BillingServiceError):
    """No published tariff version prices the event's metric at ``occurred_at``."""

    code = "no_tariff_in_force"


class NoSubscription(NoTariffInForce):
    """The tenant has subscriptions, but none to a tariff of the event's
    metric is in force at ``occurred_at`` (HTTP 422, like its parent).

    A tenant with no subscription at all is on the default plan instead
    (``MP_DEFAULT_TARIFF_ID``) and never gets this error.
    """

    code = "no_subscription"


class SubscriptionOverlap(BillingServiceError):
    """The subscription would overlap in time another subscription of the
    same tenant to a tariff of the same metric (HTTP 409)."""

    code = "subscription_overlap"


class SubscriptionInvalid(BillingServiceError):
    """A subscription change is inconsistent: ``ends_at`` not after
    ``starts_at``, or a later end for a subscription that already ended
    (HTTP 400)."""

    code = "subscription_invalid"


class TenantMismatch(BillingServiceError):
    """The event names a tenant other than the authenticated one."""

    code = "tenant_mismatch"


class UnknownTenant(BillingServiceError):
    """The named tenant does not exist or is inactive."""

    code = "unknown_tenant"


class AttestDisabled(BillingServiceError):
    """Attestation is switched off (``MP_ATTEST_ENABLED=false``)."""

    code = "attest_disabled"


class TariffImmutable(BillingServiceError):
    """A published tariff version cannot be changed; create a new version."""

    code = "tariff_immutable"


class TariffStateError(BillingServiceError):
    """A tariff transition is not allowed from the current status."""

    code = "tariff_state_invalid"


class PayloadTooLarge(BillingServiceError):
    """The request body exceeds the endpoint's size limit (bytes)."""

    code = "payload_too_large"


class AttestationTooLarge(BillingServiceError):
    """The event's signed attestation (JCS bytes) would exceed the 65,535 bytes
    one transparency-log entry can hold (C2SP tlog-tiles entry bundles prefix
    each entry with a uint16 length); HTTP 413, and in a batch that event alone
    is rejected."""

    code = "attestation_too_large"


class BundleNotFound(BillingServiceError):
    """No bundle with that receipt id for this tenant."""

    code = "bundle_not_found"


class MeterKeyConflict(BillingServiceError):
    """The meter key (its RFC 7638 kid) is already registered."""

    code = "meter_key_conflict"


class MeterKeyInvalid(BillingServiceError):
    """A meter key registration is inconsistent (e.g. an empty window)."""

    code = "meter_key_invalid"


class MeterKeyRevoked(BillingServiceError):
    """The meter envelope's kid is revoked (by its tenant or by staff): the
    key may not sign new charges (HTTP 403; bundles it signed before still
    verify under the standard profile, strict fails them with
    ``kid_revoked``)."""

    code = "meter_key_revoked"


class MeterKeyNotFound(BillingServiceError):
    """No meter key with this kid for the tenant."""

    code = "meter_key_not_found"


class TariffVersionConflict(BillingServiceError):
    """A tariff import clashes with what is stored: the file's ``version``
    is already published with another ``tariff_hash``, or the tariff exists
    with another ``metric`` or ``currency`` (HTTP 409; ``field`` names it)."""

    code = "tariff_version_conflict"


class TariffPublishConflict(BillingServiceError):
    """Another version of the tariff is already published with the same
    ``effective_from`` (at most one published version per start; HTTP 409)."""

    code = "tariff_publish_conflict"


class InvalidParameter(BillingServiceError):
    """A query parameter of a billing list endpoint is malformed or out of
    range (HTTP 400; ``field`` names the parameter)."""

    code = "invalid_parameter"


class InvalidCursor(InvalidParameter):
    """The ``cursor`` query parameter is not a cursor this server issued
    (HTTP 400, ``field`` ``cursor``)."""

    code = "invalid_cursor"


class UsageQueryInvalid(BillingServiceError):
    """A usage query's range is empty or reversed (``from`` >= ``to``);
    HTTP 400, ``field`` is ``"to"``."""

    code = "usage_query_invalid"


class UsageRangeTooLarge(UsageQueryInvalid):
    """A usage query spans more than its grouping allows (31 days for
    ``group_by=hour``, 366 days for ``day``); HTTP 400, ``field`` ``"to"``."""

    code = "usage_range_too_large"


class UsageCurrencyMixed(BillingServiceError):
    """The tenant's metric was charged in more than one currency inside the
    query's range: amounts in different currencies are never summed
    (HTTP 422, ``field`` ``"metric"``; narrow ``from``/``to``)."""

    code = "usage_currency_mixed"


class DisputeNotFound(BillingServiceError):
    """No dispute with that id for this tenant (HTTP 404, ``field``
    ``dispute_id``)."""

    code = "dispute_not_found"


class DisputeExists(BillingServiceError):
    """The bundle already has an open dispute (``needs_response`` or
    ``under_review``); at most one is open per bundle (HTTP 409, ``field``
    ``receipt_id``)."""

    code = "dispute_exists"


class DisputeStateInvalid(BillingServiceError):
    """The dispute's state does not allow this transition, e.g. deciding a
    dispute that is not ``under_review`` or withdrawing a closed one
    (HTTP 409, ``field`` ``state``; the message names both states)."""

    code = "dispute_state_invalid"


class DisputeEvidenceOverdue(DisputeStateInvalid):
    """Evidence was added after the dispute's ``evidence_due_by``
    (HTTP 409, like its parent)."""

    code = "dispute_evidence_overdue"


class DisputeEvidenceLimit(BillingServiceError):
    """The dispute would hold more evidence files, or longer evidence text,
    than allowed (HTTP 409; the message gives the limit)."""

    code = "dispute_evidence_limit"


class DisputeEvidenceInvalid(BillingServiceError):
    """An evidence file is malformed: an empty or over-long name, a
    ``sha256`` not 64 lowercase hex, content that is not canonical base64
    (HTTP 400; ``field`` names the member, e.g.
    ``evidence_files[0].content_base64``)."""

    code = "dispute_evidence_invalid"


class DisputeEvidenceHashMismatch(DisputeEvidenceInvalid):
    """An evidence file's content does not hash to its stated ``sha256``;
    nothing is stored (HTTP 400, ``field`` ``evidence_files[i].sha256``)."""

    code = "dispute_evidence_sha256_mismatch"


class DisputeDecisionInvalid(BillingServiceError):
    """A staff decision is malformed: an outcome other than ``won`` or
    ``lost``, or ``lost`` without a note (HTTP 400, ``field`` names it)."""

    code = "dispute_decision_invalid"


class CreditNoteError(BillingServiceError):
    """Root of the credit-note refusals (HTTP 422 unless a subclass says
    otherwise)."""

    code = "credit_note_error"


class CreditNoteAmountInvalid(CreditNoteError):
    """A credit note's ``amount_minor`` is not a negative integer (zero or
    positive; HTTP 422, ``field`` ``amount_minor``)."""

    code = "credit_note_amount_invalid"


class CreditNoteExceedsOriginal(CreditNoteError):
    """The credit is larger in magnitude than what is left of the original
    bundle's amount after its earlier credit notes (HTTP 422, ``field``
    ``amount_minor``); nothing is stored."""

    code = "credit_note_exceeds_original"


class CreditNoteReasonInvalid(CreditNoteError):
    """A credit note's reason code is not one the server issues
    (``revocation``, ``dispute``, ``correction``) or its text is too long or
    unstorable (HTTP 400)."""

    code = "credit_note_reason_invalid"


class CreditNotePeriodClosed(CreditNoteError):
    """Neither the original's billing period nor the current one is open, so
    the credit has no statement to net into (HTTP 409)."""

    code = "credit_note_period_closed"


class CreditNoteImmutable(CreditNoteError):
    """A credit note is never edited or deleted once issued (HTTP 409)."""

    code = "credit_note_immutable"


class CreditNoteNotFound(BillingServiceError):
    """No credit note with that id for this tenant (HTTP 404)."""

    code = "credit_note_not_found"


class PeriodClosed(BillingServiceError):
    """The tenant's billing period (the event's ``window``) is closed: its
    statement is final, so no bundle numbered after it can be issued
    (HTTP 409, field ``event.window``; docs/PROTOCOL.md §10)."""

    code = "period_closed"


class StatementError(BillingServiceError):
    """Root of the statement (period close) errors."""

    code = "statement_error"


class StatementPeriodInvalid(StatementError):
    """The period is not a billing month ``YYYY-MM``."""

    code = "statement_period_invalid"


class StatementPeriodOpen(StatementError):
    """The period's month has not ended yet: it cannot be closed (HTTP 422)."""

    code = "statement_period_open"


class StatementPeriodClosed(StatementError):
    """The period is already closed and has its statement (HTTP 409);
    nothing changed."""

    code = "statement_period_closed"


class StatementCurrencyMixed(StatementError):
    """The period's bundles are in more than one currency: one statement has
    one currency (HTTP 422)."""

    code = "statement_currency_mixed"


class StatementSequenceGap(StatementError):
    """The period's stored sequence numbers are not exactly 1..N (a database
    inconsistency: the period is left open, HTTP 409)."""

    code = "statement_sequence_gap"


class StatementNotFound(StatementError):
    """No statement with that id (for this tenant), HTTP 404."""

    code = "statement_not_found"


class StatementImmutable(StatementError):
    """A statement is never edited after it is issued."""

    code = "statement_immutable"


class StatementTooLarge(StatementError):
    """The signed statement would not fit one transparency-log entry
    (65,535 bytes): a period with too many ``vdi-billing/2`` receipts to
    list (HTTP 422); nothing changed."""

    code = "statement_too_large"
