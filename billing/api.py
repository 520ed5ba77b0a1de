"""The billing REST API: one view per operation (CONVENTIONS.md §1).

* ``POST /api/vdi/billing/attest`` (tenant API key): meter envelope or bare meter
  event in, ``vdi-billing/2`` bundle out (201; 200 with
  ``Idempotent-Replayed: true`` for a retry of the same body).
* ``POST /api/vdi/billing/attest/batch`` (tenant API key): ``{"events": [...]}``,
  1-100 envelopes or events (Stripe's meter-event stream limit), one outcome per
  event, one log append and checkpoint for the whole batch.
* ``POST /api/vdi/billing/verify[?profile=standard|VDI_VERIFY_STRICT_V1]`` (no
  auth): bundle in (or ``{"bundle": ..., "profile": ...}``), verification report
  out; the strict profile uses the revocation snapshot in force.
* ``GET|POST /api/vdi/billing/meter-keys`` (tenant API key): list / register the
  tenant's gateway meter keys (JWK in, kid out; 409 ``meter_key_conflict``).
* ``POST /api/vdi/billing/meter-keys/<kid>/retire`` and ``.../revoke`` (tenant
  API key): end the key's window now / revoke the kid (revocation snapshot).
* ``GET /api/vdi/billing/bundles?window=&metric=&from=&to=&cursor=&limit=``
  (tenant API key): the tenant's own bundles, newest first, cursor-paginated
  (``{"data", "has_more", "next_cursor"}``).
* ``GET /api/vdi/billing/bundles/<receipt_id>`` (tenant API key): a stored bundle
  (with a detached ``billing_proof`` once the async prover attached it).
* ``GET /api/vdi/billing/bundles/<receipt_id>/proof`` (tenant API key): the
  bundle's proof status (``none``/``embedded``/``pending``/``attached``/
  ``failed``); attest answers carry it too (``Billing-Proof-Status`` header,
  ``proof_status`` in batch results).
* ``GET /api/vdi/billing/usage?metric=&from=&to=&group_by=hour|day|window``
  (tenant API key): the tenant's usage of one metric, summed per group.
* ``GET /.well-known/vdi-billing-trust.json``: the trust anchors.
"""

from __future__ import annotations

import re
from datetime import datetime
from typing import Any, Final

from django.urls import reverse
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from billing.authentication import TenantApiKeyAuthentication, check_attest_secret
from billing.errors import InvalidParameter, PayloadTooLarge
from billing.models import MeterKey
from billing.pagination import BundleCursor
from billing.protocol.errors import BundleFormatError
from billing.protocol.verify import (
    PROFILE_STRICT,
    PROFILES,
    BundleVerifier,
    resolve_profile,
)
from billing.selectors import (
    bundle_page_list,
    bundle_proof_status_get,
    meter_key_get,
    meter_key_list,
    trust_anchors_get,
    verification_options_get,
)
from billing.selectors_usage import GROUP_BY_CHOICES, usage_summary_get
from billing.services.attest import meter_event_attest, meter_events_attest
from billing.services.bundles import bundle_get_sequenced
from billing.services.tenants import (
    meter_key_register,
    meter_key_retire,
    meter_key_revoke,
)
from billing.settings import billing_settings
from kernel.protocol.errors import MeterproofError, TimestampError
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc


class ProfileUnsupported(MeterproofError):
    """The requested verification profile is not implemented here."""

    code = "profile_unsupported"


def _json_object(request: Request, name: str) -> dict[str, Any]:
    data = request.data
    if not isinstance(data, dict):
        raise BundleFormatError(
            f"request body must be a JSON object ({name})", field=None
        )
    return data


def _check_body_size(request: Request, limit: int) -> None:
    length = request.META.get("CONTENT_LENGTH") or "0"
    size = int(length) if length.isdigit() else 0
    if size > limit:
        raise PayloadTooLarge(f"request body is {size} bytes, the limit is {limit}")


class MeterEventAttestApi(APIView):
    """Attest one meter event for the authenticated tenant."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request) -> Response:
        """Return the bundle (201 new, 200 replayed)."""
        check_attest_secret(request)
        _check_body_size(request, billing_settings.max_body_bytes)
        payload = _json_object(request, "a meter envelope or meter event")
        outcome = meter_event_attest(payload=payload, tenant=request.user)
        replayed = outcome.status == "replayed"
        response = Response(outcome.bundle, status=200 if replayed else 201)
        response["Idempotent-Replayed"] = "true" if replayed else "false"
        response["Billing-Proof-Status"] = str(outcome.proof_status or "none")
        return response


class MeterEventBatchAttestApi(APIView):
    """Attest up to 100 meter events of the authenticated tenant in one call."""

    authentication_classes = [TenantApiKeyAuthentication]
    max_events = 100

    def post(self, request: Request) -> Response:
        """Return ``{"results": [{status, bundle, error}], "attested",
        "replayed", "rejected"}`` (200; per-event errors inside ``results``)."""
        check_attest_secret(request)
        body = _json_object(request, '{"events": [...]}')
        events = body.get("events")
        if not isinstance(events, list) or not 1 <= len(events) <= self.max_events:
            raise BundleFormatError(
                f"events must be a list of 1 to {self.max_events} meter envelopes or events",
                field="events",
            )
        outcomes = meter_events_attest(payloads=events, tenant=request.user)
        results = [
            {
                "status": o.status,
                "proof_status": o.proof_status,
                "bundle": o.bundle,
                "error": o.error.as_dict() if o.error is not None else None,
            }
            for o in outcomes
        ]
        counts = {
            s: sum(o.status == s for o in outcomes)
            for s in ("attested", "replayed", "rejected")
        }
        return Response({"results": results, **counts})


class BundleVerifyApi(APIView):
    """Verify a bundle against this server's trust anchors (no auth)."""

    def post(self, request: Request) -> Response:
        """Return ``{ok, profile, checks, billing_check, ...}`` (200 even when
        the bundle is invalid; 400 only for a body that is not JSON or an
        unsupported profile; 413 ``payload_too_large`` above
        ``MP_MAX_BODY_BYTES``).

        The profile is the ``profile`` query parameter, else the ``profile``
        member of a ``{"bundle", "profile"}`` body, else
        ``VDI_BILLING_VERIFY_PROFILE``. Under ``VDI_VERIFY_STRICT_V1`` the
        report's ``revocation`` adds the snapshot's ``source``.
        """
        # Bounded like attest: a bundle is a few KB, and a huge deeply nested
        # body must not reach the JSON parser (C stack, see
        # kernel.protocol.strictjson and circuits.protocol.groth16).
        _check_body_size(request, billing_settings.max_body_bytes)
        body = request.data
        bundle: Any = body
        requested = request.query_params.get("profile")
        if isinstance(body, dict) and "bundle" in body and "attestation" not in body:
            bundle = body["bundle"]
            requested = requested or body.get("profile")
        profile = resolve_profile(str(requested or billing_settings.verify_profile))
        if profile not in PROFILES:
            raise ProfileUnsupported(
                f"profile {profile!r} is not supported; use one of {list(PROFILES)}",
                field="profile",
            )
        options, meta = verification_options_get(profile=profile)
        verifier = BundleVerifier(trust_anchors_get(), profile=profile, **options)
        report = verifier.verify(bundle).to_json()
        if profile == PROFILE_STRICT and report.get("revocation") is not None:
            report["revocation"]["source"] = meta.get("source")
        return Response(report)


class MeterKeyOutputSerializer(serializers.ModelSerializer):
    """A tenant meter key as the API shows it (public key as a JWK)."""

    jwk = serializers.SerializerMethodField()

    class Meta:
        model = MeterKey
        fields = ("kid", "jwk", "not_before", "not_after", "created_at")

    def get_jwk(self, obj: MeterKey) -> dict[str, str]:
        """Return the OKP JWK (RFC 8037) of the stored public key."""
        return {"kty": "OKP", "crv": "Ed25519", "x": obj.public_key_b64url}


class MeterKeyListCreateApi(APIView):
    """List or register the authenticated tenant's gateway meter keys."""

    authentication_classes = [TenantApiKeyAuthentication]

    class InputSerializer(serializers.Serializer[Any]):
        """``{"jwk": {kty, crv, x}, "not_before"?, "not_after"?}`` or the bare
        JWK with the optional window members beside ``kty``/``crv``/``x``."""

        jwk = serializers.DictField(required=False)
        kty = serializers.CharField(required=False)
        crv = serializers.CharField(required=False)
        x = serializers.CharField(required=False)
        not_before = serializers.DateTimeField(required=False, allow_null=True)
        not_after = serializers.DateTimeField(required=False, allow_null=True)

    def get(self, request: Request) -> Response:
        """Return ``{"data": [meter keys]}``."""
        rows = meter_key_list(tenant=request.user)
        return Response({"data": MeterKeyOutputSerializer(rows, many=True).data})

    def post(self, request: Request) -> Response:
        """Register a key; 201 with the key (``kid`` = RFC 7638 thumbprint),
        409 ``meter_key_conflict`` if already registered."""
        data = _json_object(request, "a JWK")
        serializer = self.InputSerializer(data=data)
        serializer.is_valid(raise_exception=True)
        fields = serializer.validated_data
        jwk = fields.get("jwk") or {
            name: fields[name] for name in ("kty", "crv", "x") if name in fields
        }
        row = meter_key_register(
            tenant=request.user,
            jwk=jwk,
            not_before=fields.get("not_before"),
            not_after=fields.get("not_after"),
        )
        return Response(MeterKeyOutputSerializer(row).data, status=201)


class MeterKeyRetireApi(APIView):
    """End one of the tenant's meter keys' window now (idempotent)."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request, kid: str) -> Response:
        """Return the key with its new ``not_after``; 404 for another
        tenant's or an unknown kid."""
        row = meter_key_retire(meter_key=meter_key_get(tenant=request.user, kid=kid))
        return Response(MeterKeyOutputSerializer(row).data)


class MeterKeyRevokeApi(APIView):
    """Revoke one of the tenant's meter keys (listed in the next revocation
    snapshot; strict verification then refuses everything it signed)."""

    authentication_classes = [TenantApiKeyAuthentication]

    def post(self, request: Request, kid: str) -> Response:
        """Return ``{"kid", "revoked_at"}`` (201); 404 for another tenant's
        or an unknown kid; 409 ``already_revoked``; 400
        ``revocation_input_invalid`` for a ``reason`` over 500 characters."""
        row = meter_key_get(tenant=request.user, kid=kid)
        body = request.data if isinstance(request.data, dict) else {}
        revoked = meter_key_revoke(
            tenant=request.user, meter_key=row, reason=str(body.get("reason") or "")
        )
        return Response(
            {"kid": row.kid, "revoked_at": revoked.revoked_at.isoformat()},
            status=201,
        )


_WINDOW_RE: Final = re.compile(r"[0-9]{4}-(0[1-9]|1[0-2])", re.ASCII)
_LIMIT_RE: Final = re.compile(r"[1-9][0-9]{0,2}", re.ASCII)


class BundleListApi(APIView):
    """List the authenticated tenant's own bundles, newest first, with an
    opaque cursor (Stripe's list habit: ``data`` and ``has_more``)."""

    authentication_classes = [TenantApiKeyAuthentication]
    #: Rows per page without ``limit`` / the largest ``limit`` accepted.
    default_limit = 50
    max_limit = 500
    parameters = ("window", "metric", "from", "to", "cursor", "limit")

    class OutputSerializer(serializers.Serializer[dict[str, Any]]):
        """One bundle as the list shows it (a row of
        ``billing.selectors.BundlePage.rows``); ``leaf_index`` only once the
        leaf is sequenced; ``url`` fetches the full bundle."""

        receipt_id = serializers.CharField()
        window = serializers.CharField()
        metric = serializers.CharField()
        quantity = serializers.IntegerField()
        amount_minor = serializers.IntegerField()
        currency = serializers.CharField()
        tariff_id = serializers.CharField()
        tariff_version = serializers.IntegerField(source="tariff_version_number")
        occurred_at = serializers.SerializerMethodField()
        issued_at = serializers.SerializerMethodField()
        leaf_index = serializers.IntegerField()
        url = serializers.SerializerMethodField()

        def get_occurred_at(self, row: dict[str, Any]) -> str:
            """Return ``occurred_at`` as RFC 3339 UTC."""
            return format_rfc3339_utc(row["occurred_at"])

        def get_issued_at(self, row: dict[str, Any]) -> str:
            """Return ``issued_at`` as RFC 3339 UTC (with its microseconds)."""
            return format_rfc3339_utc(row["issued_at"])

        def get_url(self, row: dict[str, Any]) -> str:
            """Return the absolute URL of ``GET .../bundles/<receipt_id>``."""
            path = reverse("billing-bundle", args=[row["receipt_id"]])
            return str(self.context["request"].build_absolute_uri(path))

        def to_representation(self, instance: dict[str, Any]) -> dict[str, Any]:
            """Return the item; ``leaf_index`` is left out while queued."""
            item = dict(super().to_representation(instance))
            if item["leaf_index"] is None:
                del item["leaf_index"]
            return item

    def _parameters(self, request: Request) -> dict[str, Any]:
        """Return the ``bundle_page_list`` keyword arguments of the query.

        Raises:
            InvalidParameter: (``invalid_parameter``) an unknown, repeated or
                empty parameter, a ``window`` not ``YYYY-MM``, a ``metric``
                over 128 characters, ``from``/``to`` not RFC 3339 UTC
                (``2026-11-01T00:00:00Z``) or ``to`` not after ``from``, a
                ``limit`` not an integer from 1 to 500.
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
        window = values.get("window")
        if window is not None and not _WINDOW_RE.fullmatch(window):
            raise InvalidParameter(
                f"window must be a billing month YYYY-MM, found {window!r}",
                field="window",
            )
        metric = values.get("metric")
        if metric is not None and len(metric) > 128:
            raise InvalidParameter(
                f"metric has {len(metric)} characters, at most 128", field="metric"
            )
        bounds: dict[str, datetime | None] = {}
        for name in ("from", "to"):
            bounds[name] = None
            if name in values:
                try:
                    bounds[name] = parse_rfc3339_utc(values[name])
                except MeterproofError as exc:
                    raise InvalidParameter(
                        f"{name}: {exc.message}", field=name
                    ) from None
        occurred_from, occurred_to = bounds["from"], bounds["to"]
        if (
            occurred_from is not None
            and occurred_to is not None
            and occurred_to <= occurred_from
        ):
            raise InvalidParameter(
                f"to ({values['to']}) must be after from ({values['from']})",
                field="to",
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
            "after": BundleCursor.decode(cursor) if cursor is not None else None,
            "window": window,
            "metric": metric,
            "occurred_from": occurred_from,
            "occurred_to": occurred_to,
        }

    def get(self, request: Request) -> Response:
        """Return ``{"data": [items], "has_more": bool, "next_cursor": str |
        null}`` (200); pass ``next_cursor`` as ``cursor`` (with the same
        filters) for the next page. 400 ``invalid_parameter`` /
        ``invalid_cursor`` with ``field`` naming the parameter."""
        page = bundle_page_list(tenant=request.user, **self._parameters(request))
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


class BundleDetailApi(APIView):
    """Fetch one of the authenticated tenant's bundles by receipt id."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, receipt_id: str) -> Response:
        """Return the stored bundle or 404 ``bundle_not_found`` (a bundle whose
        sequencing was interrupted is sequenced first)."""
        return Response(
            bundle_get_sequenced(receipt_id=receipt_id, tenant=request.user)
        )


class BundleProofStatusApi(APIView):
    """Where one of the tenant's bundles stands with its Groth16 proof."""

    authentication_classes = [TenantApiKeyAuthentication]

    def get(self, request: Request, receipt_id: str) -> Response:
        """Return ``{"receipt_id", "proof_status", "attempts", "attached_at",
        "error", "billing_proof"}`` or 404 ``bundle_not_found``."""
        return Response(
            bundle_proof_status_get(receipt_id=receipt_id, tenant=request.user)
        )


class Rfc3339UtcField(serializers.CharField):
    """An RFC 3339 UTC timestamp (``2026-11-01T00:00:00Z``, offset ``Z``) as
    an aware UTC datetime; anything else fails with ``timestamp_invalid``."""

    def to_internal_value(self, data: Any) -> datetime:
        """Return the parsed instant.

        Raises:
            serializers.ValidationError: (``timestamp_invalid``) not an RFC
                3339 UTC timestamp or not a real date.
        """
        try:
            return parse_rfc3339_utc(super().to_internal_value(data))
        except TimestampError as exc:
            raise serializers.ValidationError(
                str(exc), code=TimestampError.code
            ) from None


class UsageSummaryApi(APIView):
    """The authenticated tenant's usage of one metric, summed per hour, day
    or billing window (Stripe's meter event summaries, OpenMeter's query)."""

    authentication_classes = [TenantApiKeyAuthentication]

    class InputSerializer(serializers.Serializer[Any]):
        """Query ``metric`` (required), ``from`` and ``to`` (RFC 3339 UTC,
        ``from`` inclusive, ``to`` exclusive), ``group_by`` (``hour``,
        ``day`` or ``window``), all four required."""

        metric = serializers.CharField(max_length=128)
        group_by = serializers.ChoiceField(choices=GROUP_BY_CHOICES)

        def get_fields(self) -> dict[str, serializers.Field[Any, Any, Any, Any]]:
            """Add ``from`` and ``to`` (Python keywords, not class attributes)."""
            fields = super().get_fields()
            fields["from"] = Rfc3339UtcField()
            fields["to"] = Rfc3339UtcField()
            return fields

    def get(self, request: Request) -> Response:
        """Return ``{"metric", "group_by", "from", "to", "currency", "data":
        [{"start", "end", "window"?, "quantity", "amount_minor", "events"}],
        "total": {"quantity", "amount_minor", "events"}}`` (200; amounts in
        integer minor units; groups without events omitted).

        400 with the offending ``field``: ``required``, ``invalid_choice``
        (``group_by``), ``timestamp_invalid``, ``usage_query_invalid``
        (``from`` >= ``to``), ``usage_range_too_large`` (over 31 days by
        hour, 366 days by day); 422 ``usage_currency_mixed``.
        """
        serializer = self.InputSerializer(data=request.query_params)
        serializer.is_valid(raise_exception=True)
        params = serializer.validated_data
        summary = usage_summary_get(
            tenant=request.user,
            metric=params["metric"],
            from_at=params["from"],
            to_at=params["to"],
            group_by=params["group_by"],
        )
        return Response(summary.to_json())


class TrustAnchorsApi(APIView):
    """Publish the trust anchors (``/.well-known/vdi-billing-trust.json``)."""

    def get(self, request: Request) -> Response:
        """Return the trust-anchor document."""
        response = Response(trust_anchors_get().to_json())
        response["Cache-Control"] = "public, max-age=300"
        return response
