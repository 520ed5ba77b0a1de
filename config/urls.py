"""URL configuration."""

from django.contrib import admin
from django.urls import path

from billing.api import (
    BundleDetailApi,
    BundleVerifyApi,
    MeterEventAttestApi,
    MeterEventBatchAttestApi,
    TrustAnchorsApi,
)
from transparency.api import LogHeadApi

handler400 = "config.exception_handler.api_bad_request"
handler404 = "config.exception_handler.api_not_found"
handler500 = "config.exception_handler.api_server_error"

urlpatterns = [
    path("admin/", admin.site.urls),
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
        "api/vdi/billing/bundles/<str:receipt_id>",
        BundleDetailApi.as_view(),
        name="billing-bundle",
    ),
    path(
        "api/vdi/billing/transparency/head",
        LogHeadApi.as_view(),
        name="transparency-head",
    ),
    path(
        ".well-known/vdi-billing-trust.json",
        TrustAnchorsApi.as_view(),
        name="trust-anchors",
    ),
]
