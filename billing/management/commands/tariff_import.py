"""``manage.py tariff_import FILE [--publish]``: a tariff document (the JSON
``export_tariff`` writes, docs/PROTOCOL.md §4.5) becomes a draft version of
its tariff, or a published one.

Prints ``{"tariff_id", "version", "tariff_hash", "status"}`` as one JSON line
on stdout and what was done on stderr. Idempotent: importing the same
document again reports the stored version. Every failure is a one-line
``CommandError`` (exit code 1) naming the file and, for a document the
tariff parser or the service refuses, the error's stable ``code``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.services.tariffs import tariff_import
from kernel.protocol import strictjson
from kernel.protocol.errors import MeterproofError


class Command(BaseCommand):
    """Import one tariff document as a draft (or published) version."""

    help = (
        "Import a tariff JSON document (as written by export_tariff) as a draft "
        "version of its tariff, or published with --publish."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """FILE, --publish."""
        parser.add_argument("file", help="the tariff JSON document")
        parser.add_argument(
            "--publish",
            action="store_true",
            help="publish the version (immutable, citable by bundles)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Import the document and print the version as JSON.

        Raises:
            CommandError: the file cannot be read, is not strict JSON
                (RFC 8259 / I-JSON), is not a valid tariff (``tariff_invalid``),
                clashes with a stored version (``tariff_version_conflict``) or
                cannot be published (``tariff_publish_conflict``), or has a
                value a column refuses (``invalid``).
        """
        path = options["file"]
        try:
            data = Path(path).read_bytes()
        except OSError as exc:
            raise CommandError(f"{path}: cannot read: {exc.strerror or exc}") from None
        try:
            document = strictjson.loads(data)
            result = tariff_import(
                document=document,
                publish=options["publish"],
                actor="system:tariff_import",
            )
        except MeterproofError as exc:
            where = f" (field {exc.field})" if exc.field else ""
            raise CommandError(f"{path}: {exc.code}: {exc.message}{where}") from None
        except ValidationError as exc:
            # a value the parser accepts but a column refuses (e.g. a metric
            # longer than 128 characters)
            raise CommandError(f"{path}: invalid: {'; '.join(exc.messages)}") from None
        out = result.to_json()
        self.stderr.write(
            f"{result.action}: {out['tariff_id']} v{out['version']} "
            f"({out['status']}), tariff_hash {out['tariff_hash']}"
        )
        self.stdout.write(json.dumps(out))
