"""``manage.py statement_close --tenant SLUG --period YYYY-MM [--out FILE]``:
close a tenant's billing period and print (or write) its signed statement
file (docs/PROTOCOL.md §13)."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.selectors_statements import statement_file_get
from billing.services.statements import statement_close
from kernel.protocol.errors import MeterproofError


class Command(BaseCommand):
    """Close the period, issue its statement and print the statement file
    (JSON) or write it to ``--out``; a clear one-line error (exit 1) for an
    unknown tenant, a malformed, open or already closed period, or mixed
    currencies, and nothing changes then."""

    help = (
        "Close a tenant's billing period (YYYY-MM) and issue its signed, logged "
        "statement; prints the statement file or writes it to --out."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """--tenant SLUG, --period YYYY-MM, --out FILE."""
        parser.add_argument("--tenant", required=True, help="the tenant's slug")
        parser.add_argument("--period", required=True, help="billing month YYYY-MM")
        parser.add_argument("--out", help="write the statement file here")

    def handle(self, *args: Any, **options: Any) -> None:
        """Close and print or write the statement file.

        Raises:
            CommandError: ``<code>: <message>`` of the refusal.
        """
        try:
            statement = statement_close(
                tenant=options["tenant"],
                period=options["period"],
                actor="system:statement_close",
            )
        except MeterproofError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from None
        text = json.dumps(statement_file_get(statement=statement), indent=2) + "\n"
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stdout.write(
                f"closed {statement.tenant.slug}/{statement.period}: statement "
                f"{statement.statement_id}, amount_minor {statement.amount_minor} "
                f"{statement.currency}, {statement.receipts_count} numbered "
                f"receipts; written to {options['out']}"
            )
        else:
            self.stdout.write(text, ending="")
