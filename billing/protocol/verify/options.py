"""Verification profile names, defaults and the one strict-profile setup.

The server (``billing.selectors.verification_options_get``) and the offline
CLI (``meterproof verify --profile strict``) both build the strict profile's
:class:`~billing.protocol.verify.verifier.BundleVerifier` options with
:func:`strict_options`: one setup.
"""

from __future__ import annotations

from typing import Any, Final

from revocation.protocol.snapshot import VerifiedRevocationSnapshot

from ..errors import CheckFailed

__all__ = [
    "DEFAULT_MAX_SNAPSHOT_AGE_SECONDS",
    "GROTH16_BACKENDS",
    "PROFILES",
    "PROFILE_ALIASES",
    "PROFILE_STANDARD",
    "PROFILE_STRICT",
    "resolve_profile",
    "strict_options",
]

PROFILE_STANDARD: Final = "standard"
PROFILE_STRICT: Final = "VDI_VERIFY_STRICT_V1"
PROFILES: Final = (PROFILE_STANDARD, PROFILE_STRICT)
#: Aliases accepted by the CLI and the API (``--profile strict``).
PROFILE_ALIASES: Final = {"strict": PROFILE_STRICT}
#: Default freshness bound of a revocation snapshot (seconds).
DEFAULT_MAX_SNAPSHOT_AGE_SECONDS: Final = 3600  # = VDI_BILLING_REVOCATION_MAX_AGE_SEC
#: Groth16 backends a verifier may use (``circuits.protocol.groth16``).
GROTH16_BACKENDS: Final = ("fast", "reference")


def resolve_profile(name: str) -> str:
    """Return the canonical profile name for ``name`` (``strict`` is an alias
    of ``VDI_VERIFY_STRICT_V1``); unknown names are returned unchanged."""
    return PROFILE_ALIASES.get(name, name)


def strict_options(
    *,
    revocation: VerifiedRevocationSnapshot | None,
    problem: tuple[str, str] | None = None,
    max_snapshot_age_seconds: int = DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
) -> dict[str, Any]:
    """Return the :class:`BundleVerifier` keyword options of the strict profile.

    Args:
        revocation: the opened, signature-checked revocation snapshot in
            force, or ``None`` when none could be obtained.
        problem: ``(code, message)`` saying why no snapshot could be opened
            (e.g. ``("revocation_signature_invalid", "...")``); used only when
            ``revocation`` is ``None``. The ``revocation_snapshot`` check then
            fails with that ``code`` instead of
            ``revocation_snapshot_missing``.
        max_snapshot_age_seconds: oldest acceptable snapshot, in seconds.

    Returns:
        ``{"revocation", "max_snapshot_age_seconds"[, "revocation_problem"]}``
        where ``revocation_problem`` is a :class:`CheckFailed` (field
        ``revocation``). Every value pickles, so the CLI can hand the options
        to worker processes.
    """
    options: dict[str, Any] = {
        "revocation": revocation,
        "max_snapshot_age_seconds": max_snapshot_age_seconds,
    }
    if revocation is None and problem is not None:
        code, message = problem
        options["revocation_problem"] = CheckFailed(
            str(code), str(message), field="revocation"
        )
    return options
