"""The revocation feed: ``GET /.well-known/vdi-billing-revocation.json``."""

from __future__ import annotations

from django.http import HttpResponse
from django.utils.http import http_date
from rest_framework.request import Request
from rest_framework.views import APIView

from revocation.selectors import revocation_snapshot_latest
from revocation.services.snapshots import revocation_snapshot_ensure
from revocation.settings import revocation_settings


class RevocationSnapshotFeedApi(APIView):
    """Serve the latest signed snapshot this server published.

    Body: the exact signed JSON (``docs/PROTOCOL.md``, "Revocation snapshot").
    Headers: ``Cache-Control: public, max-age=VDI_BILLING_REVOCATION_CACHE_SEC``,
    ``ETag: "<sequence>"``, ``Last-Modified`` (= ``snapshotTime``);
    ``If-None-Match`` with the current ETag answers 304. An empty log gets its
    first snapshot (sequence 0) on the first request.
    """

    def get(self, request: Request) -> HttpResponse:
        """Return the latest snapshot (publishing sequence 0 if none)."""
        row = revocation_snapshot_latest() or revocation_snapshot_ensure()
        etag = f'"{row.sequence}"'
        headers = {
            "Cache-Control": (
                f"public, max-age={revocation_settings.revocation_cache_seconds}"
            ),
            "ETag": etag,
            "Last-Modified": http_date(row.snapshot_time),
        }
        candidates = [
            tag.strip().removeprefix("W/")
            for tag in request.headers.get("If-None-Match", "").split(",")
        ]
        if etag in candidates or "*" in candidates:
            response = HttpResponse(status=304)
        else:
            response = HttpResponse(row.document, content_type="application/json")
        for name, value in headers.items():
            response[name] = value
        return response
