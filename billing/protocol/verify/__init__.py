"""Bundle verification: named checks that fail closed (docs/PROTOCOL.md §5).

One verifier: the server's ``POST /api/vdi/billing/verify``, the offline CLI
(``meterproof verify``) and the tests all call :func:`verify_bundle`.

Every check is reported as ``{"name", "status", "ok", "code", "message"}`` with
``status`` in ``pass``/``fail``/``skip``. A check passes only by returning
normally; any exception inside it, expected or not, is a ``fail`` carrying the
exception's ``code``. A ``skip`` is only allowed where the profile says a member
is optional and it is absent. The bundle is valid iff at least one check ran and
none failed.

Standard profile checks, in order:

``bundle_format`` · ``meter_signature`` · ``issuer_signature`` · ``tenant_binding``
· ``tariff_hash`` · ``tariff_in_force`` · ``charge_recompute`` · ``meter_hash`` ·
``charge_hash`` · ``fingerprint`` · ``commitments`` · ``billing_proof`` ·
``checkpoint_signature`` · ``log_inclusion``.

``meter_hash`` also recomputes ``receipt.receipt_id`` from the signed event
(``rcpt_`` + 24 hex of SHA-256(JCS([tenant, window, event_id])),
``receipt_id_mismatch``). When ``bundle_format`` fails, no other check runs and
the report lists that one check only.

When the trust anchors set ``log.witness_threshold`` k > 0, ``checkpoint_signature``
(every profile) also requires k distinct verified C2SP tlog-cosignatures by
listed witness keys (``witness_cosignatures_insufficient``).

Strict profile ``VDI_VERIFY_STRICT_V1``: every standard check, then
``kids_valid`` · ``revocation_snapshot`` · ``not_revoked`` · ``authority_binding``.
No check may skip: a skipped check is reported as ``fail`` with the skip's code
(``billing_proof_missing``, ``log_evidence_missing``). Signing time per role
(``kids_valid``): meter key -> the event's ``occurred_at``; issuer ->
``receipt.issued_at``; log operator -> the checkpoint's ``Timestamp: <unix
seconds>`` extension line, else ``receipt.issued_at``. A key is valid at ``t``
iff ``not_before <= t < not_after`` (open bounds when null).

Layout (one purpose per module): :mod:`.report` (the report),
:mod:`.inputs` (``bundle_format``), :mod:`.standard`, :mod:`.log`,
:mod:`.proofs` and :mod:`.strict` (one function per named check),
:mod:`.checkpoints` (opening signed checkpoints), :mod:`.profiles` (a
profile is a tuple of checks), :mod:`.options` (profile names and the one
strict-profile setup, :func:`strict_options`) and :mod:`.verifier` (the entry
points). The names below are re-exported so ``billing.protocol.verify`` keeps
its public import path.
"""

from __future__ import annotations

from ..errors import CheckFailed, SkipCheck
from .checkpoints import CheckpointOpener, checkpoint_time
from .context import Check, CheckContext
from .options import (
    DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
    GROTH16_BACKENDS,
    PROFILE_ALIASES,
    PROFILE_STANDARD,
    PROFILE_STRICT,
    PROFILES,
    resolve_profile,
    strict_options,
)
from .profiles import (
    PROFILE_CHECKS,
    STANDARD_PROFILE,
    STRICT_CHECKS,
    STRICT_PROFILE,
    profile_checks,
)
from .proofs import manifest_vkey_hashes, verification_key_hash
from .report import CheckResult, VerificationReport
from .verifier import BundleVerifier, verify_bundle

__all__ = [
    "DEFAULT_MAX_SNAPSHOT_AGE_SECONDS",
    "GROTH16_BACKENDS",
    "PROFILES",
    "PROFILE_ALIASES",
    "PROFILE_CHECKS",
    "PROFILE_STANDARD",
    "PROFILE_STRICT",
    "STANDARD_PROFILE",
    "STRICT_CHECKS",
    "STRICT_PROFILE",
    "BundleVerifier",
    "Check",
    "CheckContext",
    "CheckFailed",
    "CheckResult",
    "CheckpointOpener",
    "SkipCheck",
    "VerificationReport",
    "checkpoint_time",
    "manifest_vkey_hashes",
    "profile_checks",
    "resolve_profile",
    "strict_options",
    "verification_key_hash",
    "verify_bundle",
]
