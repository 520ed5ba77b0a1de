"""``manage.py export_bundles --out DIR``: bundles + trust anchors for auditors."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.models import Tenant
from billing.selectors import bundle_list, trust_anchors_get


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
        for receipt_id, document in (
            bundle_list(tenant=tenant, window=options["window"])
            .values_list("receipt_id", "document")
            .iterator(chunk_size=1000)
        ):
            (out / "bundles" / f"{receipt_id}.json").write_text(document + "\n")
            count += 1
        (out / "trust.json").write_text(
            json.dumps(trust_anchors_get().to_json(), indent=2) + "\n"
        )
        self.stdout.write(
            f"exported {count} bundles to {out / 'bundles'} and trust anchors to {out / 'trust.json'}"
        )
