"""Liveness of the attempt holding a replay reservation (the crash-safe
replay guard's "is the holder still alive?" question).

A reservation carries ``expires_at`` (``VDI_BILLING_REPLAY_RESERVE_TTL_SEC``)
as the outer bound, and ``holder``, which lets a second request learn in one
query whether the reserving attempt still runs:

* PostgreSQL: the attempt's database connection holds a session-level advisory
  lock (``pg_try_advisory_lock``, PostgreSQL manual §13.3.5) on a random 63-bit
  key for its whole life; the server releases it when the connection ends, so
  a SIGKILLed worker frees its reservations at once. Another request that
  obtains the lock knows the holder is dead. Session locks need a direct
  connection (or session pooling): a transaction-pooling proxy would drop it.
* Other backends (SQLite, development): the holder is the operating-system
  process id; a process that no longer exists on this host is dead.

Exactly-once never rests on this check: a takeover is a conditional update of
the reservation's token, and the commit re-checks the token under a row lock.
"""

from __future__ import annotations

import logging
import os
import secrets
from types import TracebackType

from django.db import DatabaseError, connection

logger = logging.getLogger(__name__)


def _postgres() -> bool:
    return connection.vendor == "postgresql"


class ReservationHolder:
    """The liveness handle of one attest attempt (a context manager).

    ``key``: the value stored in ``ReplayReservation.holder`` (a signed 64-bit
    integer): the advisory-lock key held by this connection on PostgreSQL,
    the process id elsewhere. Entering takes the lock; leaving releases it.
    """

    def __init__(self) -> None:
        """Choose the key (no database work until entered)."""
        self.key = os.getpid()
        self._locked = False

    def __enter__(self) -> ReservationHolder:
        """Take the advisory lock (PostgreSQL); return self.

        Raises:
            DatabaseError: the database is unreachable.
        """
        if _postgres():
            with connection.cursor() as cursor:
                for _ in range(8):  # a taken random key is a 2**-63 event
                    key = secrets.randbits(63)
                    cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
                    if cursor.fetchone()[0]:
                        self.key, self._locked = key, True
                        break
                else:
                    raise DatabaseError("no free advisory-lock key for this attempt")
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Release the advisory lock; a broken connection released it already."""
        if not self._locked:
            return
        self._locked = False
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_advisory_unlock(%s)", [self.key])
        except DatabaseError:
            logger.warning("could not release advisory lock %s", self.key)


def holder_alive(holder: int | None, *, mine: int | None = None) -> bool:
    """Return whether the attempt identified by ``holder`` still runs.

    ``None`` (a row from before the column existed) and ``mine`` (this
    attempt's own key) count as alive. On PostgreSQL, obtaining the holder's
    advisory lock proves its connection is gone (the lock is released again
    at once); elsewhere, a process id that does not exist on this host is
    dead. Errors count as alive: the reservation's ``expires_at`` still bounds
    the wait.
    """
    if holder is None or holder == mine:
        return True
    if _postgres():
        try:
            with connection.cursor() as cursor:
                cursor.execute("SELECT pg_try_advisory_lock(%s)", [holder])
                if not cursor.fetchone()[0]:
                    return True
                cursor.execute("SELECT pg_advisory_unlock(%s)", [holder])
            return False
        except DatabaseError:
            logger.warning("liveness of reservation holder %s unknown", holder)
            return True
    if holder <= 0 or holder == os.getpid():
        return True
    try:
        os.kill(holder, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by someone else
        return True
    return True
