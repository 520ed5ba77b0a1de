"""Audit item 31: a signed attestation must fit one C2SP tlog-tiles entry.

Entry bundles prefix each entry with a big-endian uint16 length, so a logged
attestation is at most 65,535 bytes. A larger event is refused at attest
(``attestation_too_large``, 413), alone in a batch; the largest event that
fits is attested on both endpoints and its entry bundle is served and parses.

Since ``vdi-billing/3`` the check runs before the sequence number is known,
with the placeholder number 2^53-1 (the largest): "signs to the bound" means
with that placeholder, and the logged leaf is shorter by the digits the real
number does not use.
"""

from __future__ import annotations

import copy
from collections.abc import Callable
from typing import Any

import pytest
from rest_framework.test import APIClient

from billing.models import Bundle, MeterEvent, ReplayReservation
from billing.protocol.bundle import SEQUENCE_NUMBER_MAX
from billing.protocol.verify import verify_bundle
from billing.selectors import trust_anchors_get
from kernel.protocol.jcs import canonical_json
from tests.billing.support import ATTEST, TenantSetup, make_event
from tests.support.api import assert_error
from transparency.models import LogEntry
from transparency.protocol.merkle import leaf_hash
from transparency.protocol.tiles import (
    MAX_ENTRY_SIZE_BYTES,
    format_tile_index,
    parse_entry_bundle,
)

pytestmark = pytest.mark.django_db

PAD_KEY = "pad"


def _event(event_id: str, extra_bytes: int = 0, char: str = "a") -> dict[str, Any]:
    """An event with the most attribute text the grammar allows: 32 values of
    1,024 characters of ``char``, the first ``extra_bytes`` of them replaced
    by the two-byte "é" (each adds one UTF-8 byte, nothing else changes)."""
    text = "é" * extra_bytes + char * (32 * 1024 - extra_bytes)
    attributes = {
        f"{PAD_KEY}{k:02d}": text[1024 * k : 1024 * (k + 1)] for k in range(32)
    }
    return make_event(event_id=event_id, attributes=attributes)


def _size(bundle: dict[str, Any]) -> int:
    """The size the oversize check sees: the attestation's JCS bytes with the
    placeholder sequence number."""
    attestation = copy.deepcopy(bundle["attestation"])
    attestation["sequence"]["number"] = SEQUENCE_NUMBER_MAX
    return len(canonical_json(attestation))


def _extra_for_bound(setup: TenantSetup) -> int:
    """Estimate how many "é" make an event of this test's shape sign to
    MAX_ENTRY_SIZE_BYTES, from an all-ASCII probe event."""
    response = setup.client.post(
        ATTEST + "/batch", {"events": [_event("probe01")]}, format="json"
    )
    assert response.status_code == 200, response.content
    result = response.json()["results"][0]
    assert result["status"] == "attested", result["error"]
    extra = MAX_ENTRY_SIZE_BYTES - _size(result["bundle"])
    assert 0 < extra < 32 * 1024
    return extra


def _attest_at_bound(
    setup: TenantSetup, attest: Callable[[dict[str, Any]], tuple[str, Any]]
) -> dict[str, Any]:
    """Attest events of this shape until one signs to exactly the bound.

    A few members have server-chosen lengths (``issued_at``'s fraction, the
    decimal commitments), so an event can land a byte or two off the
    estimate: then the next try (a new event id) corrects by the difference.
    """
    extra = _extra_for_bound(setup)
    for attempt in range(20):
        status, value = attest(_event(f"max{attempt:04d}", extra))
        if status == "rejected":
            assert value == "attestation_too_large"
            extra -= 1
            continue
        size = _size(value)
        if size == MAX_ENTRY_SIZE_BYTES:
            return dict(value)
        extra += MAX_ENTRY_SIZE_BYTES - size
    raise AssertionError("no event landed exactly on the bound in 20 tries")


def _single(setup: TenantSetup) -> Callable[[dict[str, Any]], tuple[str, Any]]:
    def attest(event: dict[str, Any]) -> tuple[str, Any]:
        response = setup.client.post(ATTEST, event, format="json")
        if response.status_code == 201:
            return "attested", response.json()
        assert response.status_code == 413, response.content[:300]
        return "rejected", response.json()["error"]["code"]

    return attest


def _batch(setup: TenantSetup) -> Callable[[dict[str, Any]], tuple[str, Any]]:
    def attest(event: dict[str, Any]) -> tuple[str, Any]:
        response = setup.client.post(
            ATTEST + "/batch", {"events": [event]}, format="json"
        )
        assert response.status_code == 200, response.content[:300]
        result = response.json()["results"][0]
        if result["status"] == "attested":
            return "attested", result["bundle"]
        return "rejected", result["error"]["code"]

    return attest


def _entries_served() -> list[bytes]:
    """Every logged entry, read back through the C2SP entry bundles."""
    size = LogEntry.objects.count()
    entries: list[bytes] = []
    for index in range(0, (size + 255) // 256):
        width = min(256, size - 256 * index)
        path = "/tlog/tile/entries/" + format_tile_index(
            index, None if width == 256 else width
        )
        response = APIClient().get(path)
        assert response.status_code == 200, path
        entries += parse_entry_bundle(response.content)
    return entries


def test_oversized_event_is_refused_alone_in_a_batch(
    tenant_setup: TenantSetup,
) -> None:
    """32 attributes of 1,024 three-byte characters (~98 KB signed) are
    refused with attestation_too_large; the batch's other event is attested,
    and the log's entry bundle stays readable."""
    big = _event("big", char="€")
    small = make_event(event_id="small")
    response = tenant_setup.client.post(
        ATTEST + "/batch", {"events": [small, big]}, format="json"
    )
    assert response.status_code == 200, response.content
    body = response.json()
    assert (body["attested"], body["rejected"]) == (1, 1)
    error = body["results"][1]["error"]
    assert error["code"] == "attestation_too_large"
    assert error["field"] == "event.attributes"
    assert body["results"][0]["status"] == "attested"
    # Nothing of the refused event is stored, not even a reservation.
    assert MeterEvent.objects.filter(event_id="big").count() == 0
    assert ReplayReservation.objects.count() == 1 == Bundle.objects.count()
    entries = _entries_served()
    assert [leaf_hash(e).hex() for e in entries] == list(
        LogEntry.objects.order_by("leaf_index").values_list("leaf_hash", flat=True)
    )


def test_oversized_event_is_413_on_the_single_endpoint(
    tenant_setup: TenantSetup,
) -> None:
    """An event a few bytes over the bound is refused with 413
    attestation_too_large and nothing stored, on both endpoints."""
    over = _extra_for_bound(tenant_setup) + 16
    before = (LogEntry.objects.count(), Bundle.objects.count())
    response = tenant_setup.client.post(ATTEST, _event("over001", over), format="json")
    assert_error(response, 413, "attestation_too_large", "event.attributes")
    assert (LogEntry.objects.count(), Bundle.objects.count()) == before
    assert not MeterEvent.objects.filter(event_id="over001").exists()
    assert not ReplayReservation.objects.filter(status="reserved").exists()
    assert _batch(tenant_setup)(_event("over002", over)) == (
        "rejected",
        "attestation_too_large",
    )
    assert (LogEntry.objects.count(), Bundle.objects.count()) == before


@pytest.mark.parametrize("endpoint", [_single, _batch], ids=["single", "batch"])
def test_largest_event_is_attested_on_both_endpoints(
    tenant_setup: TenantSetup, endpoint: Any
) -> None:
    """An event that signs to exactly 65,535 bytes (with the placeholder
    number) is attested, verifies, and its entry bundle is served and parses
    back to the logged bytes, the real number's leaf being that much shorter."""
    bundle = _attest_at_bound(tenant_setup, endpoint(tenant_setup))
    assert verify_bundle(bundle, trust_anchors_get()).ok
    entries = _entries_served()
    number = bundle["attestation"]["sequence"]["number"]
    unused_digits = len(str(SEQUENCE_NUMBER_MAX)) - len(str(number))
    assert max(len(e) for e in entries) == MAX_ENTRY_SIZE_BYTES - unused_digits
    assert [leaf_hash(e).hex() for e in entries] == list(
        LogEntry.objects.order_by("leaf_index").values_list("leaf_hash", flat=True)
    )
