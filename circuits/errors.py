"""Errors of the circuits app (Django side): artifacts and the ceremony.

They share the protocol root :class:`MeterproofError` (``code``, ``message``,
``field``); ``config/exception_handler.py`` maps each class to an HTTP status.
"""

from __future__ import annotations

from typing import Any

from kernel.protocol.errors import MeterproofError


class CircuitsServiceError(MeterproofError):
    """Root of the circuits app's errors."""

    code = "circuits_error"


class ArtifactManifestMismatch(CircuitsServiceError):
    """The circuit artifacts do not match the signed manifest (HTTP 503).

    Raised by :func:`circuits.artifacts.require_artifacts` when in-circuit
    binding is on and the manifest is missing, malformed, not signed by a
    trusted authority, or any artifact's hash differs. ``status`` carries the
    :class:`circuits.artifacts.ArtifactStatus` for operators.
    """

    code = "artifact_manifest_mismatch"

    def __init__(self, message: str, *, status: Any = None) -> None:
        super().__init__(message, field=None)
        self.status = status


class SnarkjsUnavailable(CircuitsServiceError):
    """node / snarkjs is not installed (only the ceremony commands need it)."""

    code = "snarkjs_unavailable"


class CeremonyError(CircuitsServiceError):
    """A snarkjs ceremony step failed (non-zero exit or unexpected output)."""

    code = "ceremony_failed"
