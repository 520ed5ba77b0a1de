"""``manage.py export_tariff TARIFF_ID [--tariff-version N] [--out FILE]``: a
published tariff version as the JSON ``meterproof price --tariff`` reads.

The file is the version's stored document (the DESIGN.md tariff JSON whose
SHA-256(JCS) is the ``tariff_hash`` every bundle priced by it cites), so an
auditor can recompute any charge offline. Drafts are never exported: only a
published version is immutable and citable.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.selectors import tariff_version_published_get


class Command(BaseCommand):
    """Print or write one published tariff version's JSON document."""

    help = "Export a published tariff version as JSON for 'meterproof price --tariff'."

    def add_arguments(self, parser: CommandParser) -> None:
        """TARIFF_ID, --tariff-version N (default: newest published), --out FILE."""
        parser.add_argument("tariff_id")
        # Django's BaseCommand owns --version (the Django version).
        parser.add_argument(
            "--tariff-version",
            type=int,
            help="version number (default: newest published)",
        )
        parser.add_argument("--out", help="write to FILE instead of stdout")

    def handle(self, *args: Any, **options: Any) -> None:
        """Export the document.

        Raises:
            CommandError: no such tariff, or no published version (of that
                number).
        """
        version = tariff_version_published_get(
            tariff_id=options["tariff_id"], version=options["tariff_version"]
        )
        if version is None or version.document is None:
            which = (
                f"version {options['tariff_version']}"
                if options["tariff_version"] is not None
                else "any version"
            )
            raise CommandError(
                f"tariff {options['tariff_id']!r} has no published {which}"
            )
        text = json.dumps(version.document, indent=2, ensure_ascii=False) + "\n"
        if options["out"]:
            Path(options["out"]).write_text(text, encoding="utf-8")
            self.stderr.write(
                f"wrote {options['out']}: {options['tariff_id']} v{version.version}, "
                f"tariff_hash {version.tariff_hash}"
            )
        else:
            self.stdout.write(text, ending="")
