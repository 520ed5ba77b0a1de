"""``manage.py audit_verify [--expect-head SEQ:HASH] [--json]``: verify the
stored staff audit trail (docs/PROTOCOL.md §14).

Runs ``record_hash``, ``chain_link``, ``sequence`` and, with
``--expect-head``, ``head`` over every record in ``seq`` order (the verifier
of :mod:`audittrail.protocol.chain`, the same as ``meterproof verify-audit``).
Prints a summary (or the JSON report) on stdout. Exit 0: valid; 1: a
changed, deleted or reordered record, or the pinned head is gone (the first
bad sequence number is named); 2: a malformed ``--expect-head``.
"""

from __future__ import annotations

import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audittrail.protocol.cli import format_audit_report
from audittrail.protocol.errors import AuditHeadFormatError
from audittrail.selectors import audit_trail_verify


class Command(BaseCommand):
    """Verify the audit trail's hash chain."""

    help = (
        "Verify the staff audit trail (hashes, links, sequence; --expect-head "
        "SEQ:HASH also detects deleted last records). Exit 1 when invalid."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """--expect-head SEQ:HASH, --json."""
        parser.add_argument(
            "--expect-head",
            default=None,
            metavar="SEQ:HASH",
            help="a head seen before (the auditor UI shows it): the trail must "
            "still hold that record with that hash",
        )
        parser.add_argument("--json", action="store_true", help="print JSON")

    def handle(self, *args: Any, **options: Any) -> None:
        """Verify and print the report.

        Raises:
            CommandError: exit code 1 when the trail is invalid (the message
                names the first bad seq), 2 for a malformed --expect-head.
        """
        try:
            report = audit_trail_verify(expect_head=options["expect_head"])
        except AuditHeadFormatError as exc:
            raise CommandError(f"{exc.code}: {exc.message}", returncode=2) from None
        if options["json"]:
            self.stdout.write(json.dumps(report.to_json(), indent=2))
        else:
            self.stdout.write(format_audit_report(report), ending="")
        if not report.ok:
            failed = [c.code for c in report.checks if c.status == "fail"]
            raise CommandError(
                f"audit trail invalid at seq {report.first_bad_seq}: "
                + ", ".join(str(code) for code in failed),
                returncode=1,
            )
