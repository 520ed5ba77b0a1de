"""The trust the auditor verdicts take, one named check and its result.

A verdict is a list of :class:`LogCheck` (``name``, ``status``
pass/fail/skip, ``code``, ``message``), the same shape as
:class:`billing.protocol.verify.CheckResult`; any exception of a verifier is
a failed check (fail closed).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Protocol

from kernel.protocol.errors import MeterproofError
from transparency.errors import LogTrustUnavailable
from transparency.protocol.checkpoint import CheckpointBody, open_checkpoint


@dataclass(frozen=True)
class LogTrust:
    """What the log verdicts check against, given by the caller.

    Attributes:
        origin: the log origin (C2SP checkpoint first line; '' when unknown).
        log_keys: C2SP signed-note 0x01 vkeys of the log operator (current
            and retired).
        witness_keys: C2SP tlog-cosignature 0x04 vkeys of trusted witnesses.
        problem: why there is no trust (every signature check then fails
            with ``log_trust_unavailable``); ``None`` when the trust is set.
    """

    origin: str = ""
    log_keys: tuple[str, ...] = ()
    witness_keys: tuple[str, ...] = ()
    problem: str | None = None


@dataclass(frozen=True)
class LogCheck:
    """The outcome of one named log check.

    Attributes:
        name: the check's stable name (e.g. ``inclusion_proof``).
        status: ``pass``, ``fail`` or ``skip``.
        code: the failure's stable snake_case error code, ``None`` on pass.
        message: what passed, or what was expected and found.
    """

    name: str
    status: str
    code: str | None = None
    message: str | None = None

    @property
    def ok(self) -> bool | None:
        """True on pass, False on fail, None on skip."""
        return {"pass": True, "fail": False}.get(self.status)


class _HasStatus(Protocol):
    """Any check result: :class:`LogCheck` or ``CheckResult``."""

    @property
    def status(self) -> str:
        """``pass``, ``fail`` or ``skip``."""
        ...


def check_run(name: str, fn: Callable[[], str | None]) -> LogCheck:
    """Run one named check: pass with ``fn``'s message, fail on any error.

    A :class:`~kernel.protocol.errors.ProtocolError` (the root of every
    error class of the project) fails with its ``code`` and ``message``; any
    other exception is a bug in a verifier and still fails the check (fail
    closed), with its class name as the code.
    """
    try:
        message = fn()
    except MeterproofError as exc:
        return LogCheck(name, "fail", exc.code, exc.message)
    except Exception as exc:  # fail closed: every exception is a failure
        return LogCheck(name, "fail", type(exc).__name__, str(exc))
    return LogCheck(name, "pass", None, message)


def verdict_ok(checks: Iterable[_HasStatus]) -> bool:
    """Return True iff at least one check ran (not ``skip``) and none failed."""
    ran = [c for c in checks if c.status != "skip"]
    return bool(ran) and all(c.status == "pass" for c in ran)


def checkpoint_open_trusted(note: str, trust: LogTrust) -> CheckpointBody:
    """Return the parsed checkpoint of the signed ``note``, opened with the
    log's keys of ``trust`` (C2SP tlog-checkpoint, signed-note).

    Raises:
        LogTrustUnavailable: ``trust`` has a ``problem`` (no keys).
        MeterproofError: bad or missing log signature, malformed note, another
            origin.
    """
    if trust.problem is not None:
        raise LogTrustUnavailable(f"no trust anchors: {trust.problem}")
    checkpoint, _ = open_checkpoint(note, trust.origin, trust.log_keys)
    return checkpoint


__all__ = ["LogCheck", "LogTrust", "check_run", "checkpoint_open_trusted", "verdict_ok"]
