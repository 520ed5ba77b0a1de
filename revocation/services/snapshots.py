"""Publishing the signed revocation snapshots (writes).

Snapshots are signed by the server's issuer key
(``kernel.keyring.server_keys_get().issuer``) through ``revocation.protocol``;
``sequence`` grows by one per snapshot and ``snapshotTime`` never goes back.
"""

from __future__ import annotations

import logging
from datetime import datetime

import nacl.signing
from django.db import transaction
from django.utils import timezone

from kernel.errors import SigningKeysUnconfigured
from kernel.keyring import server_keys_get
from kernel.protocol.jcs import canonical_json
from kernel.settings import kernel_settings
from revocation.models import RevocationSnapshot, RevokedAttestation, RevokedKey
from revocation.protocol.snapshot import snapshot_sign
from revocation.settings import revocation_settings
from revocation.sources import SOURCE_LOCAL, revocation_source

logger = logging.getLogger("meterproof.revocation")


def issuer_keys() -> dict[str, nacl.signing.VerifyKey]:
    """Return the trusted issuer public keys by kid: the server's active
    issuer key and its retired ones (the published trust anchors'
    ``keys_for("issuer")``), from :func:`kernel.keyring.server_keys_get`.

    Raises:
        SigningKeysUnconfigured: if the server has no keys.
    """
    return server_keys_get().issuer_keys()


@transaction.atomic
def revocation_snapshot_publish(*, now: datetime | None = None) -> RevocationSnapshot:
    """Sign and store the next snapshot of the revocations in force.

    ``sequence`` is the previous one plus one (0 for the first);
    ``snapshotTime`` is ``now`` in unix seconds, never below the previous
    snapshot's. Runs inside the caller's transaction when there is one.

    Raises:
        SigningKeysUnconfigured: no issuer key configured.
    """
    issuer = server_keys_get().issuer
    moment = now or timezone.now()
    latest = (
        RevocationSnapshot.objects.select_for_update().order_by("-sequence").first()
    )
    sequence = 0 if latest is None else latest.sequence + 1
    snapshot_time = int(moment.timestamp())
    if latest is not None:
        snapshot_time = max(snapshot_time, latest.snapshot_time)
    kids = RevokedKey.objects.filter(lifted_at__isnull=True).values_list(
        "kid", flat=True
    )
    attestations = [
        row.identifier
        for row in RevokedAttestation.objects.filter(lifted_at__isnull=True)
    ]
    document = snapshot_sign(
        revoked_kids=kids,
        revoked_attestations=attestations,
        snapshot_time=snapshot_time,
        sequence=sequence,
        signing_key=issuer.signing_key,
    )
    row = RevocationSnapshot(
        sequence=sequence,
        snapshot_time=snapshot_time,
        issuer_kid=issuer.kid,
        document=canonical_json(document).decode("utf-8"),
        kid_count=len(document["revokedKids"]),
        attestation_count=len(document["revokedAttestations"]),
    )
    row.full_clean()
    row.save()
    logger.info(
        "revocation snapshot %s published: %s kids, %s attestations",
        sequence,
        row.kid_count,
        row.attestation_count,
    )
    return row


def revocation_snapshot_ensure() -> RevocationSnapshot:
    """Return the latest published snapshot, publishing sequence 0 if none.

    Raises:
        SigningKeysUnconfigured: none published and no issuer key configured.
    """
    latest = RevocationSnapshot.objects.order_by("-sequence").first()
    return latest if latest is not None else revocation_snapshot_publish()


def revocation_snapshot_refresh(
    *, now: datetime | None = None, max_age_seconds: int | None = None
) -> RevocationSnapshot | None:
    """Re-sign the snapshot when the latest is older than half the freshness
    maximum (so published snapshots never go stale); return the new row, or
    ``None`` when the latest is still young.

    Args:
        now: the clock (default ``timezone.now()``).
        max_age_seconds: default ``VDI_BILLING_REVOCATION_MAX_AGE_SEC``.
    """
    moment = now or timezone.now()
    max_age = (
        max_age_seconds
        if max_age_seconds is not None
        else revocation_settings.revocation_max_age_seconds
    )
    latest = RevocationSnapshot.objects.order_by("-sequence").first()
    if (
        latest is not None
        and int(moment.timestamp()) - latest.snapshot_time < max_age // 2
    ):
        return None
    return revocation_snapshot_publish(now=moment)


def revocation_snapshot_refresh_lazily(
    *, now: datetime | None = None
) -> RevocationSnapshot | None:
    """Without Celery beat (``VDI_CELERY_BEAT`` false, development), re-sign
    our snapshot on demand: call before strict verification. Returns the new
    row, or ``None`` when nothing was done.

    Does nothing when beat runs (``revocation-snapshot-refresh`` does it, and
    a stale snapshot then honestly fails strict checks), when the snapshot in
    force comes from elsewhere (inline or URL source), when none was published
    yet (publishing the first stays an operator's act: strict checks fail
    closed with ``revocation_snapshot_missing`` until then), or when this
    server holds no issuer key. Otherwise behaves as :func:`revocation_snapshot_refresh`
    (re-signs once half of ``VDI_BILLING_REVOCATION_MAX_AGE_SEC`` has passed),
    so at most one write per half max-age.
    """
    if kernel_settings.celery_beat or revocation_source() != SOURCE_LOCAL:
        return None
    if RevocationSnapshot.objects.order_by("-sequence").first() is None:
        return None
    try:
        return revocation_snapshot_refresh(now=now)
    except SigningKeysUnconfigured:
        return None
