"""The one bundle verifier: :class:`BundleVerifier` and :func:`verify_bundle`.

Runs ``bundle_format`` and then the profile's named checks
(:mod:`billing.protocol.verify.profiles`), each one fail closed: a check
passes only by returning normally; any exception inside it, expected or not,
is a ``fail`` carrying the exception's ``code`` (``internal_error`` for one
that is not a :class:`~kernel.protocol.errors.ProtocolError`). Spec:
docs/PROTOCOL.md §5.
"""

from __future__ import annotations

from collections.abc import Callable
from functools import partial
from typing import Any

from kernel.protocol.errors import ProtocolError
from revocation.protocol.snapshot import VerifiedRevocationSnapshot

from ..bundle import Bundle
from ..errors import SkipCheck, VerifierBackendError
from ..trust import TrustAnchors
from .checkpoints import CheckpointOpener
from .context import CheckContext
from .inputs import BUNDLE_FORMAT, bundle_format
from .options import (
    DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
    GROTH16_BACKENDS,
    PROFILE_STANDARD,
    PROFILE_STRICT,
    resolve_profile,
)
from .profiles import profile_checks
from .report import CheckResult, VerificationReport

__all__ = ["BundleVerifier", "verify_bundle"]


class BundleVerifier:
    """Verifies bundles against fixed trust anchors; reusable for bulk audits.

    Verified checkpoints are cached by their exact note text, so a bulk audit of
    bundles that share a checkpoint checks its signature once.
    """

    def __init__(
        self,
        trust: TrustAnchors,
        *,
        profile: str = PROFILE_STANDARD,
        revocation: VerifiedRevocationSnapshot | None = None,
        now: int | None = None,
        max_snapshot_age_seconds: int = DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
        groth16_backend: str = "fast",
        revocation_problem: ProtocolError | None = None,
    ) -> None:
        """Bind the verifier to ``trust`` and a profile name.

        Args:
            trust: the trust anchors (the only thing trusted).
            profile: ``standard`` or ``VDI_VERIFY_STRICT_V1`` (alias
                ``strict``).
            revocation: an opened revocation snapshot (strict profile; its
                issuer kid is checked against ``trust``).
            now: the clock in unix seconds for snapshot freshness; ``None``
                reads ``time.time()`` at each :meth:`verify`.
            max_snapshot_age_seconds: oldest acceptable snapshot (seconds).
            groth16_backend: ``fast`` or ``reference`` (py_ecc).
            revocation_problem: why no snapshot could be opened (its code is
                reported by ``revocation_snapshot`` when ``revocation`` is
                ``None``).

        Raises:
            ProfileUnsupportedError: (``profile_unsupported``, also a
                ``ValueError``) ``profile`` is not implemented (never
                silently downgraded).
            VerifierBackendError: (``groth16_unknown_backend``, also a
                ``ValueError``) ``groth16_backend`` is not implemented.
        """
        profile = resolve_profile(profile)
        self.checks = profile_checks(profile)
        if groth16_backend not in GROTH16_BACKENDS:
            raise VerifierBackendError(
                f"groth16 backend {groth16_backend!r} is not supported; "
                f"expected one of {', '.join(GROTH16_BACKENDS)}",
                field="groth16_backend",
            )
        self.trust = trust
        self.profile = profile
        self.strict = profile == PROFILE_STRICT
        self.revocation = revocation
        self.now = now
        self.max_snapshot_age_seconds = max_snapshot_age_seconds
        self.groth16_backend = groth16_backend
        self.revocation_problem = revocation_problem
        self.checkpoints = CheckpointOpener(trust)

    def verify(self, bundle_json: Any) -> VerificationReport:
        """Run every check of the profile on ``bundle_json``: parsed JSON, or
        the bundle file's bytes (read by the strict I-JSON reader inside
        ``bundle_format``, so a duplicate member or over-deep nesting fails
        that check with ``duplicate_member`` / ``json_too_deep``).

        Returns the report; never raises for a bad bundle.
        """
        return self.verify_parsed(bundle_json)[0]

    def verify_parsed(
        self, bundle_json: Any
    ) -> tuple[VerificationReport, Bundle | None]:
        """Like :meth:`verify`, and also return the parsed bundle (``None``
        when ``bundle_format`` failed), so a caller that aggregates bundles
        (``verify-statement``) parses each one once."""
        report = VerificationReport(profile=self.profile)
        parsed: list[Bundle] = []

        def parse() -> None:
            parsed.append(bundle_format(bundle_json))

        self._run(report, BUNDLE_FORMAT, parse)
        if not parsed:
            return report, None
        bundle = parsed[0]
        report.receipt_id = bundle.receipt_id
        ctx = CheckContext(
            bundle=bundle,
            trust=self.trust,
            report=report,
            checkpoints=self.checkpoints,
            revocation=self.revocation,
            revocation_problem=self.revocation_problem,
            now=self.now,
            max_snapshot_age_seconds=self.max_snapshot_age_seconds,
            groth16_backend=self.groth16_backend,
        )
        for check in self.checks:
            self._run(report, check.name, partial(check.run, ctx))
        return report, bundle

    def _run(
        self, report: VerificationReport, name: str, check: Callable[[], None]
    ) -> None:
        """Run one check and append its result (fail closed)."""
        try:
            check()
        except SkipCheck as exc:
            if self.strict:  # no optional member in the strict profile
                report.checks.append(
                    CheckResult(name, "fail", exc.code, f"strict: {exc}")
                )
            else:
                report.checks.append(CheckResult(name, "skip", message=str(exc)))
        except ProtocolError as exc:
            report.checks.append(CheckResult(name, "fail", exc.code, exc.message))
        except Exception as exc:  # fail closed on anything unexpected
            report.checks.append(
                CheckResult(
                    name, "fail", "internal_error", f"{type(exc).__name__}: {exc}"
                )
            )
        else:
            report.checks.append(CheckResult(name, "pass"))


def verify_bundle(
    bundle_json: Any,
    trust: TrustAnchors,
    *,
    profile: str = PROFILE_STANDARD,
    **options: Any,
) -> VerificationReport:
    """Verify one bundle (parsed JSON or bytes) against ``trust`` under
    ``profile``.

    ``options`` are :class:`BundleVerifier`'s keyword arguments
    (``revocation``, ``now``, ``max_snapshot_age_seconds``,
    ``groth16_backend``, ``revocation_problem``). Returns a report; never
    raises for a bad bundle (fail closed: every problem is a failed check).

    Raises:
        ProfileUnsupportedError, VerifierBackendError: only for an
            unsupported ``profile`` or backend name (both ``ValueError``).
    """
    return BundleVerifier(trust, profile=profile, **options).verify(bundle_json)
