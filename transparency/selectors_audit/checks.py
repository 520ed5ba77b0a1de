"""The trust the auditor verdicts take, one named check and its result.

A verdict is a list of :class:`kernel.protocol.verdict.CheckResult`
(``name``, ``status`` pass/fail/skip, ``code``, ``message``), the one result
type the bundle verifier's report uses too; any exception of a verifier is a
failed check (fail closed), and :func:`kernel.protocol.verdict.verdict_ok`
is the verdict.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from kernel.protocol.errors import MeterproofError
from kernel.protocol.verdict import CheckResult
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


def check_run(name: str, fn: Callable[[], str | None]) -> CheckResult:
    """Run one named check: pass with ``fn``'s message, fail on any error.

    A :class:`~kernel.protocol.errors.MeterproofError` (the root of every
    error class of the project) fails with its ``code`` and ``message``; any
    other exception is a bug in a verifier and still fails the check (fail
    closed) with code ``internal_error`` and the exception's class and text
    as the message, as the bundle verifier reports it.
    """
    try:
        message = fn()
    except MeterproofError as exc:
        return CheckResult(name, "fail", exc.code, exc.message)
    except Exception as exc:  # fail closed: every exception is a failure
        return CheckResult(
            name, "fail", "internal_error", f"{type(exc).__name__}: {exc}"
        )
    return CheckResult(name, "pass", None, message)


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


__all__ = ["LogTrust", "check_run", "checkpoint_open_trusted"]
