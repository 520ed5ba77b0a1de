"""One named check's outcome and the verdict over a list of them.

:class:`CheckResult` is the one result type of every verifier of the
project: the bundle verifier's report (``billing.protocol.verify``,
docs/PROTOCOL.md §5.1, re-exported there as
``billing.protocol.verify.CheckResult``) and the log-only verdicts of the
auditor (``transparency.selectors_audit``). :func:`verdict_ok` is the one
fail-closed rule over them.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

__all__ = ["CheckResult", "verdict_ok"]


@dataclass(frozen=True)
class CheckResult:
    """The outcome of one named check.

    Attributes:
        name: the check's stable name (``meter_signature``,
            ``inclusion_proof`` ...).
        status: ``"pass"``, ``"fail"`` or ``"skip"``.
        code: the failure's (or skip's) stable snake_case code, else ``None``.
        message: a human sentence (what passed, or what was expected and
            found), else ``None``.
    """

    name: str
    status: str  # "pass" | "fail" | "skip"
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool | None:
        """True on pass, False on fail, None on skip."""
        return {"pass": True, "fail": False}.get(self.status)

    def to_json(self) -> dict[str, Any]:
        """Return ``{"name", "status", "ok", "code", "message"}``, the JSON
        form used by the API and the CLI (docs/PROTOCOL.md §5.1)."""
        return {
            "name": self.name,
            "status": self.status,
            "ok": self.ok,
            "code": self.code,
            "message": self.message,
        }


def verdict_ok(checks: Iterable[CheckResult]) -> bool:
    """Return True iff at least one check ran (not ``skip``) and none failed
    (fail closed: an empty or all-skipped list is not a success)."""
    ran = [c for c in checks if c.status != "skip"]
    return bool(ran) and all(c.status == "pass" for c in ran)
