"""The tenant's disputes (``/api/vdi/billing/disputes``): open one on a
bundle, list and read them, add evidence, withdraw (issue 12).

States and rules are :mod:`billing.services.disputes`'; these views only
parse, call and serialize.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from typing import Any, Final

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.api.shared import check_body_size, json_object
from billing.authentication import TenantApiKeyAuthentication
from billing.errors import DisputeEvidenceInvalid, InvalidParameter
from billing.models import Dispute
from billing.selectors_disputes import DisputeCursor, dispute_get, dispute_page_list
from billing.services.disputes import (
    MAX_EVIDENCE_FILES,
    MAX_EVIDENCE_NAME_CHARS,
    MAX_EVIDENCE_TEXT_CHARS,
    EvidenceFile,
    dispute_evidence_add,
    dispute_open,
    dispute_withdraw,
)
from billing.settings import billing_settings
from kernel.protocol.timefmt import format_rfc3339_utc

__all__ = [
    "DisputeDetailApi",
    "DisputeEvidenceAddApi",
    "DisputeListCreateApi",
    "DisputeOutputSerializer",
    "DisputeWithdrawApi",
]

_LIMIT_RE: Final = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)


def _time(value: Any) -> str | None:
    return None if value is None else format_rfc3339_utc(value)


class EvidenceFileInputSerializer(serializers.Serializer[dict[str, Any]]):
    """``{"name", "sha256", "content_base64"}``: one evidence file, its
    content in standard base64 with padding and its SHA-256 in lowercase
    hex (checked against the content by the service)."""

    name = serializers.CharField(
        max_length=MAX_EVIDENCE_NAME_CHARS, trim_whitespace=False
    )
    sha256 = serializers.CharField(max_length=64)
    content_base64 = serializers.CharField(trim_whitespace=False)


class EvidenceInputSerializer(serializers.Serializer[dict[str, Any]]):
    """Evidence members shared by open and add: ``evidence_text`` (at most
    20,000 characters) and ``evidence_files`` (at most 20)."""

    evidence_text = serializers.CharField(
        required=False,
        allow_blank=True,
        max_length=MAX_EVIDENCE_TEXT_CHARS,
        trim_whitespace=False,
        default="",
    )
    evidence_files = serializers.ListField(
        child=EvidenceFileInputSerializer(),
        required=False,
        max_length=MAX_EVIDENCE_FILES,
        default=list,
    )


def evidence_files_decode(items: Iterable[dict[str, Any]]) -> list[EvidenceFile]:
    """Return the validated ``evidence_files`` items with their content
    decoded from base64 (RFC 4648 §4, with padding, canonical).

    Raises:
        DisputeEvidenceInvalid: (``dispute_evidence_invalid``, field
            ``evidence_files[i].content_base64``) content that is not
            canonical standard base64.
    """
    files = []
    for index, item in enumerate(items):
        text = item["content_base64"]
        try:
            content = base64.b64decode(text.encode("ascii"), validate=True)
            if base64.b64encode(content).decode("ascii") != text:
                raise ValueError("not canonical")
        except (ValueError, UnicodeError, binascii.Error):
            raise DisputeEvidenceInvalid(
                "content_base64 must be standard base64 with padding (RFC 4648 §4)",
                field=f"evidence_files[{index}].content_base64",
            ) from None
        files.append(
            EvidenceFile(name=item["name"], sha256=item["sha256"], content=content)
        )
    return files


class DisputeOutputSerializer(serializers.Serializer[Dispute]):
    """A dispute as its tenant sees it.

    ``{"dispute_id", "receipt_id", "reason", "state", "evidence_text",
    "evidence_files": [{"name", "sha256", "size_bytes", "added_at"}],
    "evidence_due_by", "verification": {"ok", "report"}, "decision": null |
    {"outcome", "note", "decided_at"}, "credit_note_id" (null until one is
    issued), "opened_at", "review_started_at", "withdrawn_at",
    "updated_at"}``; times RFC 3339 UTC, ``size_bytes`` bytes, the report
    PROTOCOL.md §5.1's (standard profile, at opening).
    """

    def to_representation(self, instance: Dispute) -> dict[str, Any]:
        """Return the dispute's JSON object (above)."""
        decision = None
        if instance.decided_at is not None:
            decision = {
                "outcome": instance.state,
                "note": instance.decision_note,
                "decided_at": _time(instance.decided_at),
            }
        return {
            "dispute_id": instance.dispute_id,
            "receipt_id": instance.bundle.receipt_id,
            "reason": instance.reason,
            "state": instance.state,
            "evidence_text": instance.evidence_text,
            "evidence_files": [
                {
                    "name": item.name,
                    "sha256": item.sha256,
                    "size_bytes": item.size_bytes,
                    "added_at": _time(item.added_at),
                }
                for item in instance.evidence_files.all()
            ],
            "evidence_due_by": _time(instance.evidence_due_by),
            "verification": {
                "ok": instance.verification_ok,
                "report": instance.verification,
            },
            "decision": decision,
            "credit_note_id": instance.credit_note_id or None,
            "opened_at": _time(instance.opened_at),
            "review_started_at": _time(instance.review_started_at),
            "withdrawn_at": _time(instance.withdrawn_at),
            "updated_at": _time(instance.updated_at),
        }


class DisputeListCreateApi(APIView):
    """List the tenant's disputes (newest first, cursor) or open one."""

    authentication_classes = [TenantApiKeyAuthentication]
    #: Rows per page without ``limit`` / the largest ``limit`` accepted.
    default_limit = 20
    max_limit = 100
    parameters = ("state", "cursor", "limit")

    class InputSerializer(EvidenceInputSerializer):
        """``{"receipt_id", "reason", "evidence_text"?, "evidence_files"?}``."""

        receipt_id = serializers.CharField(max_length=64)
        reason = serializers.ChoiceField(choices=Dispute.Reason.choices)

    class OutputSerializer(serializers.Serializer[Dispute]):
        """A list item: ``{"dispute_id", "receipt_id", "reason", "state",
        "evidence_due_by", "verification_ok", "opened_at", "updated_at",
        "url"}`` (``url``: the dispute's detail)."""

        def to_representation(self, instance: Dispute) -> dict[str, Any]:
            """Return the list item (above)."""
            path = reverse("billing-dispute", args=[instance.dispute_id])
            return {
                "dispute_id": instance.dispute_id,
                "receipt_id": instance.bundle.receipt_id,
                "reason": instance.reason,
                "state": instance.state,
                "evidence_due_by": _time(instance.evidence_due_by),
                "verification_ok": instance.verification_ok,
                "opened_at": _time(instance.opened_at),
                "updated_at": _time(instance.updated_at),
                "url": self.context["request"].build_absolute_uri(path),
            }

    def _parameters(self, request: Request) -> dict[str, Any]:
        """Return the ``dispute_page_list`` keyword arguments of the query.

        Raises:
            InvalidParameter: (``invalid_parameter``) an unknown, repeated or
                empty parameter, a ``state`` that is not a dispute state, a
                ``limit`` not an integer from 1 to 100.
            InvalidCursor: (``invalid_cursor``) a cursor not issued here.
        """
        query = request.query_params
        values: dict[str, str] = {}
        for name in query:
            if name not in self.parameters:
                raise InvalidParameter(
                    f"unknown parameter {name!r}; expected one of "
                    f"{', '.join(self.parameters)}",
                    field=name,
                )
            given = query.getlist(name)
            if len(given) != 1 or not given[0]:
                raise InvalidParameter(
                    f"{name} must be given once, non-empty", field=name
                )
            values[name] = given[0]
        state = values.get("state")
        if state is not None and state not in Dispute.State.values:
            raise InvalidParameter(
                f"state must be one of {', '.join(Dispute.State.values)}, "
                f"found {state!r}",
                field="state",
            )
        limit = self.default_limit
        if "limit" in values:
            text = values["limit"]
            if not _LIMIT_RE.fullmatch(text) or int(text) > self.max_limit:
                raise InvalidParameter(
                    f"limit must be an integer from 1 to {self.max_limit}, "
                    f"found {text!r}",
                    field="limit",
                )
            limit = int(text)
        cursor = values.get("cursor")
        return {
            "limit": limit,
            "after": DisputeCursor.decode(cursor) if cursor is not None else None,
            "state": state,
        }

    def get(self, request: Request) -> Response:
        """Return ``{"data": [items], "has_more", "next_cursor"}`` (200);
        pass ``next_cursor`` as ``cursor`` (with the same ``state``) for the
        next page. 400 ``invalid_parameter`` / ``invalid_cursor``."""
        page = dispute_page_list(tenant=request.user, **self._parameters(request))
        items = self.OutputSerializer(
            page.rows, many=True, context={"request": request}
        ).data
        return Response(
            {
                "data": items,
                "has_more": page.next_cursor is not None,
                "next_cursor": page.next_cursor.encode()
                if page.next_cursor is not None
                else None,
            }
        )

    def post(self, request: Request) -> Response:
        """Open a dispute; return it (201, :class:`DisputeOutputSerializer`).

        Errors: 404 ``bundle_not_found`` (unknown receipt or another
        tenant's; nothing stored), 409 ``dispute_exists``, 400
        ``dispute_evidence_invalid`` / ``dispute_evidence_sha256_mismatch``
        / a field's validation code, 409 ``dispute_evidence_limit``, 413
        ``payload_too_large`` above ``MP_DISPUTE_MAX_BODY_BYTES``.
        """
        check_body_size(request, billing_settings.dispute_max_body_bytes)
        serializer = self.InputSerializer(data=json_object(request, "a dispute"))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dispute = dispute_open(
            tenant=request.user,
            receipt_id=data["receipt_id"],
            reason=data["reason"],
            evidence_text=data["evidence_text"],
            evidence_files=evidence_files_decode(data["evidence_files"]),
        )
        return Response(
            DisputeOutputSerializer(dispute_get(dispute_id=dispute.dispute_id)).data,
            status=201,
        )


class DisputeDetailApi(APIView):
    """Fetch one of the tenant's disputes."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, dispute_id: str) -> Response:
        """Return the dispute (:class:`DisputeOutputSerializer`) or 404
        ``dispute_not_found`` (unknown, or another tenant's)."""
        dispute = dispute_get(dispute_id=dispute_id, tenant=request.user)
        return Response(DisputeOutputSerializer(dispute).data)


class DisputeWithdrawApi(APIView):
    """Withdraw one of the tenant's open disputes."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request, dispute_id: str) -> Response:
        """Return the withdrawn dispute (200); 404 ``dispute_not_found``, 409
        ``dispute_state_invalid`` when it is already closed."""
        dispute = dispute_get(dispute_id=dispute_id, tenant=request.user)
        dispute_withdraw(dispute=dispute)
        dispute = dispute_get(dispute_id=dispute_id, tenant=request.user)
        return Response(DisputeOutputSerializer(dispute).data)


class DisputeEvidenceAddApi(APIView):
    """Add evidence text or files to a dispute in ``needs_response``."""

    authentication_classes = [TenantApiKeyAuthentication]

    class InputSerializer(EvidenceInputSerializer):
        """``{"evidence_text"?, "evidence_files"?}`` (at least one)."""

    def post(self, request: Request, dispute_id: str) -> Response:
        """Return the dispute with the evidence added (200).

        Errors: 404 ``dispute_not_found``, 409 ``dispute_state_invalid`` (not
        ``needs_response``) / ``dispute_evidence_overdue`` (after
        ``evidence_due_by``) / ``dispute_evidence_limit``, 400
        ``dispute_evidence_invalid`` / ``dispute_evidence_sha256_mismatch``,
        413 ``payload_too_large``.
        """
        check_body_size(request, billing_settings.dispute_max_body_bytes)
        dispute = dispute_get(dispute_id=dispute_id, tenant=request.user)
        serializer = self.InputSerializer(data=json_object(request, "evidence"))
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        dispute_evidence_add(
            dispute=dispute,
            evidence_text=data["evidence_text"],
            evidence_files=evidence_files_decode(data["evidence_files"]),
        )
        dispute = dispute_get(dispute_id=dispute_id, tenant=request.user)
        return Response(DisputeOutputSerializer(dispute).data)
