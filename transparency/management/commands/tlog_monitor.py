"""``manage.py tlog_monitor``: check the transparency log once.

Fetches the newest checkpoint, checks it against the last verified one with a
consistency proof, fetches the new entries and recomputes the root from them
(``transparency.services.monitor.monitor_run``). Problems are logged at ERROR,
counted in ``MonitorState.alerts_total`` and opened as admin alerts; the
command then exits with status 1.

Default log: ``MP_BILLING_MONITOR_LOG_URL``, or this server in-process.
``--log URL`` with ``--log-key VKEY`` (and ``--origin``) monitors another log.
``--full`` re-reads every entry from index 0 (a run only reads new entries,
so a rewritten *old* entry is caught by the next ``--full`` run).
"""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kernel.protocol.errors import MeterproofError
from transparency.fetchers import http_fetcher, local_fetcher
from transparency.protocol.note import NoteVerifier
from transparency.services.monitor import SELF, monitor_run


class Command(BaseCommand):
    """Run the log monitor once."""

    help = __doc__.split("\n\n")[0] if __doc__ else ""

    def add_arguments(self, parser: CommandParser) -> None:
        """``--log URL|self``, ``--log-key VKEY`` (repeatable), ``--origin``."""
        parser.add_argument("--log", help="log base URL, or 'self' (in-process)")
        parser.add_argument("--log-key", action="append", default=[])
        parser.add_argument("--origin")
        parser.add_argument(
            "--full",
            action="store_true",
            help="re-read every entry from index 0 (catches rewritten old entries)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Run :func:`monitor_run` and report; exit 1 on any problem."""
        url = options["log"]
        keys: list[str] | None = None
        if options["log_key"]:
            try:
                keys = [NoteVerifier.from_vkey(k).vkey for k in options["log_key"]]
            except MeterproofError as exc:
                raise CommandError(f"--log-key: {exc.message}") from None
        origin = options["origin"]
        if origin is None and keys:
            origin = keys[0].split("+", 1)[0]
        kwargs: dict[str, Any] = {
            "origin": origin,
            "log_verifier_keys": keys,
            "full": options["full"],
        }
        if url == "self":
            kwargs.update(fetch=local_fetcher(), log=SELF)
        elif url:
            kwargs.update(fetch=http_fetcher(url), log=url)
        run = monitor_run(**kwargs)
        result = run.result
        if result.ok:
            self.stdout.write(
                f"ok: verified tree_size {result.state.tree_size} "
                f"(from {result.previous_size}, {result.entries_checked} new "
                f"entries), root {result.state.root_hash.hex()}"
            )
            return
        for code, message in result.problems:
            self.stderr.write(f"ALERT {code}: {message}")
        raise CommandError(f"{len(result.problems)} problem(s) found")
