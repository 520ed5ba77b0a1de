"""URL configuration."""

from django.contrib import admin
from django.urls import include, path, re_path, register_converter

from billing.api.attest import MeterEventAttestApi, MeterEventBatchAttestApi
from billing.api.bundles import BundleDetailApi, BundleListApi, BundleProofStatusApi
from billing.api.credit_notes import CreditNoteDetailApi, CreditNoteListApi
from billing.api.disputes import (
    DisputeDetailApi,
    DisputeEvidenceAddApi,
    DisputeListCreateApi,
    DisputeWithdrawApi,
)
from billing.api.keys import MeterKeyListCreateApi, MeterKeyRetireApi, MeterKeyRevokeApi
from billing.api.statements import (
    StatementBundlesCsvApi,
    StatementCreditNotesApi,
    StatementDetailApi,
    StatementListApi,
)
from billing.api.usage import UsageSummaryApi
from billing.api.verify import BundleVerifyApi, TrustAnchorsApi
from revocation.api import RevocationSnapshotFeedApi
from transparency.api import (
    CheckpointListApi,
    ConsistencyProofApi,
    InclusionProofApi,
    LogEntriesApi,
    LogHeadApi,
    TlogCheckpointApi,
    TlogEntriesTileApi,
    TlogTileApi,
)
from transparency.api_witness import CosignatureSubmitApi


class PrintableIdConverter:
    """``<printable:name>``: 1-128 printable ASCII characters other than ``/``
    (receipt ids, RFC 7638 kids). Anything else (``%00``, control characters,
    non-ASCII) matches no route and answers a JSON 404 ``not_found``."""

    regex = "[\x21-\x2e\x30-\x7e]{1,128}"

    def to_python(self, value: str) -> str:
        """Return the path segment unchanged."""
        return value

    def to_url(self, value: str) -> str:
        """Return ``value`` for ``reverse()``."""
        return value


register_converter(PrintableIdConverter, "printable")

handler400 = "config.exception_handler.api_bad_request"
handler404 = "config.exception_handler.api_not_found"
handler500 = "config.exception_handler.api_server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
    path("audit/", include("billing.auditor.urls")),
    path(
        "api/vdi/billing/attest", MeterEventAttestApi.as_view(), name="billing-attest"
    ),
    path(
        "api/vdi/billing/attest/batch",
        MeterEventBatchAttestApi.as_view(),
        name="billing-attest-batch",
    ),
    path("api/vdi/billing/verify", BundleVerifyApi.as_view(), name="billing-verify"),
    path(
        "api/vdi/billing/meter-keys",
        MeterKeyListCreateApi.as_view(),
        name="billing-meter-keys",
    ),
    path(
        "api/vdi/billing/meter-keys/<printable:kid>/retire",
        MeterKeyRetireApi.as_view(),
        name="billing-meter-key-retire",
    ),
    path(
        "api/vdi/billing/meter-keys/<printable:kid>/revoke",
        MeterKeyRevokeApi.as_view(),
        name="billing-meter-key-revoke",
    ),
    path(
        "api/vdi/billing/statements",
        StatementListApi.as_view(),
        name="billing-statements",
    ),
    re_path(
        r"^api/vdi/billing/statements/(?P<statement_id>[\x21-\x2e\x30-\x7e]{1,128}?)"
        r"(?P<suffix>\.json|\.csv|\.html)?$",
        StatementDetailApi.as_view(),
        name="billing-statement",
    ),
    re_path(
        r"^api/vdi/billing/statements/(?P<statement_id>[\x21-\x2e\x30-\x7e]{1,128})"
        r"/bundles\.csv$",
        StatementBundlesCsvApi.as_view(),
        name="billing-statement-bundles",
    ),
    re_path(
        r"^api/vdi/billing/statements/(?P<statement_id>[\x21-\x2e\x30-\x7e]{1,128})"
        r"/credit-notes(?P<suffix>\.json|\.csv)?$",
        StatementCreditNotesApi.as_view(),
        name="billing-statement-credit-notes",
    ),
    path("api/vdi/billing/bundles", BundleListApi.as_view(), name="billing-bundles"),
    path(
        "api/vdi/billing/bundles/<printable:receipt_id>",
        BundleDetailApi.as_view(),
        name="billing-bundle",
    ),
    path(
        "api/vdi/billing/bundles/<printable:receipt_id>/proof",
        BundleProofStatusApi.as_view(),
        name="billing-bundle-proof",
    ),
    path("api/vdi/billing/usage", UsageSummaryApi.as_view(), name="billing-usage"),
    path(
        "api/vdi/billing/disputes",
        DisputeListCreateApi.as_view(),
        name="billing-disputes",
    ),
    path(
        "api/vdi/billing/disputes/<printable:dispute_id>",
        DisputeDetailApi.as_view(),
        name="billing-dispute",
    ),
    path(
        "api/vdi/billing/disputes/<printable:dispute_id>/withdraw",
        DisputeWithdrawApi.as_view(),
        name="billing-dispute-withdraw",
    ),
    path(
        "api/vdi/billing/disputes/<printable:dispute_id>/evidence",
        DisputeEvidenceAddApi.as_view(),
        name="billing-dispute-evidence",
    ),
    path(
        "api/vdi/billing/credit-notes",
        CreditNoteListApi.as_view(),
        name="billing-credit-notes",
    ),
    path(
        "api/vdi/billing/credit-notes/<printable:credit_note_id>",
        CreditNoteDetailApi.as_view(),
        name="billing-credit-note",
    ),
    path(
        "api/vdi/billing/transparency/head",
        LogHeadApi.as_view(),
        name="transparency-head",
    ),
    path(
        "api/vdi/billing/transparency/inclusion",
        InclusionProofApi.as_view(),
        name="transparency-inclusion",
    ),
    path(
        "api/vdi/billing/transparency/consistency",
        ConsistencyProofApi.as_view(),
        name="transparency-consistency",
    ),
    path(
        "api/vdi/billing/transparency/entries",
        LogEntriesApi.as_view(),
        name="transparency-entries",
    ),
    path(
        "api/vdi/billing/transparency/checkpoints",
        CheckpointListApi.as_view(),
        name="transparency-checkpoints",
    ),
    path(
        "api/vdi/billing/transparency/cosignatures",
        CosignatureSubmitApi.as_view(),
        name="transparency-cosignatures",
    ),
    # C2SP tlog-tiles read path (mirrorable by any static host).
    path("tlog/checkpoint", TlogCheckpointApi.as_view(), name="tlog-checkpoint"),
    path(
        "tlog/tile/entries/<path:index>",
        TlogEntriesTileApi.as_view(),
        name="tlog-entries-tile",
    ),
    path("tlog/tile/<str:level>/<path:index>", TlogTileApi.as_view(), name="tlog-tile"),
    path(
        ".well-known/vdi-billing-trust.json",
        TrustAnchorsApi.as_view(),
        name="trust-anchors",
    ),
    path(
        ".well-known/vdi-billing-revocation.json",
        RevocationSnapshotFeedApi.as_view(),
        name="revocation-feed",
    ),
]
