"""What a named check sees: the parsed bundle, the trust, the verifier's
options and the report it may annotate.

A check is a plain function ``check(ctx: CheckContext) -> None`` that passes
only by returning normally; a :class:`Check` pairs it with its stable name.
Profiles (:mod:`billing.protocol.verify.profiles`) are tuples of checks.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from kernel.protocol.errors import ProtocolError
from revocation.protocol.snapshot import VerifiedRevocationSnapshot

from ..bundle import Bundle
from ..errors import CheckFailed
from ..events import MeterEventBody
from ..trust import TrustAnchors
from .checkpoints import CheckpointOpener
from .report import VerificationReport

__all__ = ["Check", "CheckContext"]


@dataclass
class CheckContext:
    """The inputs of one bundle's checks.

    Attributes:
        bundle: the bundle, parsed by ``bundle_format``.
        trust: the trust anchors (the only thing trusted).
        report: the report under construction (``charge_recompute``,
            ``billing_proof`` and ``revocation_snapshot`` add their details).
        checkpoints: the verifier's checkpoint opener (shared cache).
        revocation: the opened revocation snapshot (strict profile) or
            ``None``.
        revocation_problem: why no snapshot could be opened, or ``None``.
        now: the clock in unix seconds, or ``None`` for ``time.time()``.
        max_snapshot_age_seconds: oldest acceptable snapshot (seconds).
        groth16_backend: ``fast`` or ``reference``.
    """

    bundle: Bundle
    trust: TrustAnchors
    report: VerificationReport
    checkpoints: CheckpointOpener
    revocation: VerifiedRevocationSnapshot | None
    revocation_problem: ProtocolError | None
    now: int | None
    max_snapshot_age_seconds: int
    groth16_backend: str

    @property
    def attestation(self) -> dict[str, Any]:
        """The signed attestation object of the bundle (parsed JSON)."""
        return self.bundle.attestation

    @property
    def event(self) -> MeterEventBody:
        """The meter event inside the attestation's meter envelope."""
        return self.bundle.envelope.event

    def clock(self) -> int:
        """Return ``now`` or, without one, the current unix time (seconds)."""
        return self.now if self.now is not None else int(time.time())

    def require_snapshot(self) -> VerifiedRevocationSnapshot:
        """Return the revocation snapshot.

        Raises:
            CheckFailed: ``revocation_snapshot_missing`` without one.
        """
        if self.revocation is None:
            raise CheckFailed(
                "revocation_snapshot_missing",
                "the strict profile needs an opened revocation snapshot",
                field="revocation",
            )
        return self.revocation


@dataclass(frozen=True)
class Check:
    """One named check of a profile.

    Attributes:
        name: the stable check name reported in ``checks[].name``.
        run: the check; passes by returning, fails by raising
            (``SkipCheck`` for an absent optional member).
    """

    name: str
    run: Callable[[CheckContext], None]
