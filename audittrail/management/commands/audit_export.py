"""``manage.py audit_export --out FILE``: write the staff audit trail as JSON
lines (one record per line, ``seq`` order, docs/PROTOCOL.md §14) for
``meterproof verify-audit FILE``.

The file is written beside ``FILE`` and renamed into place, so a reader
never sees half an export. Prints ``{"count", "head"}`` as one JSON line on
stdout: pin ``head`` and pass it as ``--expect-head`` next time.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from audittrail.selectors import audit_records_iter


class Command(BaseCommand):
    """Export the audit trail as JSON lines."""

    help = "Write the staff audit trail as JSON lines (for meterproof verify-audit)."

    def add_arguments(self, parser: CommandParser) -> None:
        """--out FILE."""
        parser.add_argument("--out", required=True, help="the JSON-lines file")

    def handle(self, *args: Any, **options: Any) -> None:
        """Write every record, then print the count and the head.

        Raises:
            CommandError: the file cannot be written.
        """
        out = Path(options["out"])
        partial = out.with_name(out.name + ".partial")
        count, head = 0, None
        try:
            with partial.open("w", encoding="utf-8") as handle:
                for record in audit_records_iter():
                    handle.write(
                        json.dumps(record, ensure_ascii=False, separators=(",", ":"))
                        + "\n"
                    )
                    count, head = count + 1, f"{record['seq']}:{record['record_hash']}"
            os.replace(partial, out)
        except OSError as exc:
            partial.unlink(missing_ok=True)
            raise CommandError(f"{out}: cannot write: {exc.strerror or exc}") from None
        self.stdout.write(json.dumps({"count": count, "head": head}))
