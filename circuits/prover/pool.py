"""The process-wide proving thread pool.

:meth:`~circuits.prover.backend.Groth16Prover.submit` and
:meth:`~circuits.prover.backend.Groth16Prover.prove_many` run proofs on one
pool of ``settings.VDI_GROTH16_PROVER_THREADS`` threads (default: the CPU
count); ``groth16py`` releases the GIL while proving, so threads prove in
parallel on one key.
"""

from __future__ import annotations

import os
import threading
from concurrent.futures import ThreadPoolExecutor

from django.conf import settings

from circuits.settings import circuits_settings

__all__ = ["get_prover_executor", "in_pool_thread", "reset_prover_executor"]

_EXECUTOR: ThreadPoolExecutor | None = None
_EXECUTOR_PID = 0
_EXECUTOR_LOCK = threading.Lock()
_POOL_THREAD = threading.local()


def _prover_threads() -> int:
    """``circuits_settings.prover_threads`` when Django is configured, else
    the CPU count; at least 1."""
    threads = circuits_settings.prover_threads if settings.configured else None
    if threads is None:
        threads = os.cpu_count() or 1
    return max(1, int(threads))


def _mark_pool_thread() -> None:
    _POOL_THREAD.active = True


def in_pool_thread() -> bool:
    """Return True on a thread of the proving pool (a proof job that submits
    more must then prove inline, or the pool could deadlock on itself)."""
    return bool(getattr(_POOL_THREAD, "active", False))


def get_prover_executor() -> ThreadPoolExecutor:
    """Return the process-wide proving thread pool, creating it on first use.

    Sized by ``settings.VDI_GROTH16_PROVER_THREADS`` (default: the CPU
    count); threads are named ``groth16-prover``. A forked child (gunicorn,
    Celery prefork) gets a fresh pool: the parent's threads do not survive
    a fork. Thread-safe.
    """
    global _EXECUTOR, _EXECUTOR_PID
    executor, pid = _EXECUTOR, os.getpid()
    if executor is not None and _EXECUTOR_PID == pid:
        return executor
    with _EXECUTOR_LOCK:
        if _EXECUTOR is None or _EXECUTOR_PID != pid:
            _EXECUTOR = ThreadPoolExecutor(
                max_workers=_prover_threads(),
                thread_name_prefix="groth16-prover",
                initializer=_mark_pool_thread,
            )
            _EXECUTOR_PID = pid
        return _EXECUTOR


def reset_prover_executor() -> None:
    """Shut the process-wide proving pool down (waiting for queued proofs);
    the next :func:`get_prover_executor` builds a new one, re-reading the
    setting. For tests and reconfiguration."""
    global _EXECUTOR
    with _EXECUTOR_LOCK:
        executor, _EXECUTOR = _EXECUTOR, None
    if executor is not None and _EXECUTOR_PID == os.getpid():
        executor.shutdown(wait=True)
