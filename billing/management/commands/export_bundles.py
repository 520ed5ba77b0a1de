"""``manage.py export_bundles --out DIR``: bundles + trust anchors for auditors."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.models import Tenant
from billing.selectors import (
    BUNDLE_DOCUMENT_COLUMNS,
    bundle_documents,
    bundle_list,
    trust_anchors_get,
)

T = TypeVar("T")


class Command(BaseCommand):
    """Write each bundle as ``DIR/bundles/<receipt_id>.json`` plus ``DIR/trust.json``."""

    help = "Export bundles and trust anchors so an auditor can verify them offline."

    def add_arguments(self, parser: CommandParser) -> None:
        """--out DIR, --tenant SLUG, --window YYYY-MM."""
        parser.add_argument("--out", required=True)
        parser.add_argument("--tenant")
        parser.add_argument("--window")

    def handle(self, *args: Any, **options: Any) -> None:
        """Export; print how many bundles were written."""
        out = Path(options["out"])
        tenant = None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no tenant {options['tenant']!r}")
        (out / "bundles").mkdir(parents=True, exist_ok=True)
        count = 0
        rows = (
            bundle_list(tenant=tenant, window=options["window"])
            .values_list("receipt_id", *BUNDLE_DOCUMENT_COLUMNS)
            .iterator(chunk_size=1000)
        )
        for chunk in _chunks(rows, 1000):
            documents = bundle_documents(row[1:] for row in chunk)
            for (receipt_id, *_), document in zip(chunk, documents, strict=True):
                (out / "bundles" / f"{receipt_id}.json").write_text(
                    json.dumps(document, separators=(",", ":"), sort_keys=True)
                    + "\n"
                )
                count += 1
        (out / "trust.json").write_text(
            json.dumps(trust_anchors_get().to_json(), indent=2) + "\n"
        )
        self.stdout.write(
            f"exported {count} bundles to {out / 'bundles'} and trust anchors to {out / 'trust.json'}"
        )


def _chunks(rows: Iterator[T], size: int) -> Iterator[list[T]]:
    """Yield lists of up to ``size`` items from ``rows``."""
    chunk: list[T] = []
    for row in rows:
        chunk.append(row)
        if len(chunk) == size:
            yield chunk
            chunk = []
    if chunk:
        yield chunk
