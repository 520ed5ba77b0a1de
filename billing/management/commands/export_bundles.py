"""``manage.py export_bundles --out DIR [--tenant SLUG] [--window|--period
YYYY-MM] [--clean] [--proved-only]``: bundles, trust anchors and the
revocation snapshot for auditors.

Writes ``DIR/bundles/<receipt_id>.json``, ``DIR/trust.json`` (the published
trust anchors) and ``DIR/revocation.json`` (this server's signed revocation
snapshot, the body of ``/.well-known/vdi-billing-revocation.json``, re-signed
first if older than half ``MP_BILLING_REVOCATION_MAX_AGE_SEC``): everything
``meterproof verify --profile strict`` needs. ``--proved-only`` exports only
bundles that carry a Groth16 ``billing_proof`` (the strict profile requires
one).

``DIR`` must be new or empty: an auditor verifies every ``*.json`` under
``DIR/bundles``, so bundles left by an earlier export (another tenant or
window, or since-deleted rows) must never sit beside the new ones. ``--clean``
replaces ``DIR/bundles``, ``DIR/trust.json`` and ``DIR/revocation.json`` and
leaves other files alone.

With ``--tenant`` and ``--period`` (a statement export) the bundle files are
named ``<number, 12 digits>-<receipt_id>.json`` (``v2-<receipt_id>.json`` for
``vdi-billing/2`` bundles) so they sort in sequence-number order, which lets
``meterproof verify-statement`` fold them in O(log N) memory, the credit
notes that net into the period are written, with their log evidence, to
``DIR/bundles/credit_notes/<credit_note_id>.json`` (under ``bundles/`` so that
``verify-statement`` reads them with the bundles and checks them against the
statement's ``credit_notes``), and the period's statement file, once closed,
is written to ``DIR/statement.json``: ``meterproof verify-statement
DIR/statement.json --bundles DIR/bundles --trust DIR/trust.json``. With
``--jsonl`` the bundles go to one file ``DIR/bundles.jsonl`` instead, one
bundle per line in the same order, followed by the credit notes, one per line
(a million small files are slow to write, list and read):
``--bundles DIR/bundles.jsonl``.
"""

from __future__ import annotations

import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any, TypeVar

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.models import Bundle, Statement, Tenant
from billing.protocol.errors import MeterEventError
from billing.protocol.events import parse_window
from billing.selectors import (
    BUNDLE_DOCUMENT_COLUMNS,
    bundle_documents,
    bundle_list,
    trust_anchors_get,
)
from billing.selectors_credit_notes import credit_notes_for_period
from billing.selectors_statements import (
    statement_bundle_documents,
    statement_file_get,
)
from billing.services.credit_notes import credit_note_file_get_sequenced
from revocation.selectors import revocation_snapshot_latest
from revocation.services.snapshots import revocation_snapshot_refresh

T = TypeVar("T")


class Command(BaseCommand):
    """Write each bundle as ``DIR/bundles/<receipt_id>.json`` plus ``DIR/trust.json``."""

    help = "Export bundles and trust anchors so an auditor can verify them offline."

    def add_arguments(self, parser: CommandParser) -> None:
        """--out DIR, --tenant SLUG, --window YYYY-MM, --clean, --proved-only."""
        parser.add_argument("--out", required=True)
        parser.add_argument("--tenant")
        parser.add_argument("--window", help="billing month YYYY-MM")
        parser.add_argument(
            "--period",
            help="billing month YYYY-MM of a statement export (needs --tenant): "
            "bundles named by sequence number, the period's credit notes in "
            "DIR/bundles/credit_notes/ and DIR/statement.json",
        )
        parser.add_argument(
            "--clean",
            action="store_true",
            help="replace DIR/bundles, trust.json and revocation.json of an "
            "earlier export",
        )
        parser.add_argument(
            "--jsonl",
            action="store_true",
            help="with --period: write DIR/bundles.jsonl (one bundle per line, "
            "in number order) instead of DIR/bundles/*.json",
        )
        parser.add_argument(
            "--proved-only",
            action="store_true",
            help="only bundles that carry a Groth16 billing_proof (for --profile "
            "strict)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Export; print how many bundles were written.

        Raises:
            CommandError: unknown tenant, malformed ``--window``, or ``DIR``
                not empty without ``--clean``; nothing is written then.
        """
        out = Path(options["out"])
        tenant = None
        period = options["period"]
        if period is not None:
            if not options["tenant"]:
                raise CommandError("--period needs --tenant")
            if options["window"] is not None and options["window"] != period:
                raise CommandError("give --window or --period, not both")
            options["window"] = period
        elif options["jsonl"]:
            raise CommandError("--jsonl needs --period")
        if options["window"] is not None:
            try:
                parse_window(options["window"])
            except MeterEventError as exc:
                raise CommandError(f"--window: {exc.message}") from None
        if options["tenant"]:
            tenant = Tenant.objects.filter(slug=options["tenant"]).first()
            if tenant is None:
                raise CommandError(f"no tenant {options['tenant']!r}")
        if out.is_dir() and any(out.iterdir()):
            if not options["clean"]:
                raise CommandError(
                    f"{out} is not empty: its old bundles would be verified with "
                    "the new ones. Use a new folder, or --clean to replace its "
                    "bundles/, trust.json and revocation.json"
                )
            shutil.rmtree(out / "bundles", ignore_errors=True)
            (out / "trust.json").unlink(missing_ok=True)
            (out / "revocation.json").unlink(missing_ok=True)
            (out / "statement.json").unlink(missing_ok=True)
            (out / "bundles.jsonl").unlink(missing_ok=True)
        if options["jsonl"]:
            out.mkdir(parents=True, exist_ok=True)
            target = out / "bundles.jsonl"
        else:
            (out / "bundles").mkdir(parents=True, exist_ok=True)
            target = out / "bundles"
        if period is not None:
            assert tenant is not None
            count = self._export_period(
                out, tenant, period, options["proved_only"], options["jsonl"]
            )
            credits = self._export_credit_notes(out, tenant, period, options["jsonl"])
        else:
            count = self._export_all(out, tenant, options)
            credits = 0
        (out / "trust.json").write_text(
            json.dumps(trust_anchors_get().to_json(), indent=2) + "\n"
        )
        revocation_snapshot_refresh()
        snapshot = revocation_snapshot_latest()
        assert snapshot is not None  # refresh publishes one when none exists
        (out / "revocation.json").write_text(snapshot.document + "\n")
        self.stdout.write(
            f"exported {count} bundles to {target}, trust anchors to "
            f"{out / 'trust.json'} and revocation snapshot {snapshot.sequence} to "
            f"{out / 'revocation.json'}"
        )
        if credits:
            self.stdout.write(
                f"exported {credits} credit notes to {out / 'bundles' / 'credit_notes'}"
            )

    def _export_all(
        self, out: Path, tenant: Tenant | None, options: dict[str, Any]
    ) -> int:
        """Write the selected bundles as ``<receipt_id>.json``; return the
        count."""
        count = 0
        bundles = bundle_list(tenant=tenant, window=options["window"])
        if options["proved_only"]:
            bundles = bundles.filter(
                proof_status__in=[
                    Bundle.ProofStatus.EMBEDDED,
                    Bundle.ProofStatus.ATTACHED,
                ]
            )
        rows = bundles.values_list("receipt_id", *BUNDLE_DOCUMENT_COLUMNS).iterator(
            chunk_size=1000
        )
        for chunk in _chunks(rows, 1000):
            documents = bundle_documents(row[1:] for row in chunk)
            for (receipt_id, *_), document in zip(chunk, documents, strict=True):
                (out / "bundles" / f"{receipt_id}.json").write_text(
                    json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n"
                )
                count += 1
        return count

    def _export_period(
        self, out: Path, tenant: Tenant, period: str, proved_only: bool, jsonl: bool
    ) -> int:
        """Write the period's bundles in number order (files, or lines of
        ``DIR/bundles.jsonl`` with ``jsonl``) and, when the period is closed,
        ``DIR/statement.json``; return the bundle count."""
        count = 0
        lines = (out / "bundles.jsonl").open("w", encoding="utf-8") if jsonl else None
        try:
            for name, document in statement_bundle_documents(
                tenant=tenant, period=period
            ):
                if (
                    proved_only
                    and "billing_proof" not in document
                    and ("billing_proof" not in document["attestation"])
                ):
                    continue
                text = json.dumps(document, separators=(",", ":"), sort_keys=True)
                if lines is not None:
                    lines.write(text + "\n")
                else:
                    (out / "bundles" / name).write_text(text + "\n")
                count += 1
        finally:
            if lines is not None:
                lines.close()
        statement = Statement.objects.filter(tenant=tenant, period=period).first()
        if statement is not None:
            (out / "statement.json").write_text(
                json.dumps(statement_file_get(statement=statement), indent=2) + "\n"
            )
        return count

    def _export_credit_notes(
        self, out: Path, tenant: Tenant, period: str, jsonl: bool = False
    ) -> int:
        """Write the credit notes that net into ``tenant``'s ``period`` as
        ``DIR/bundles/credit_notes/<credit_note_id>.json`` (``jsonl``: as
        lines appended to ``DIR/bundles.jsonl``) with their log evidence (a
        leaf still queued is sequenced first); return how many."""
        ids = list(
            credit_notes_for_period(tenant=tenant, period=period).values_list(
                "credit_note_id", flat=True
            )
        )
        if ids and not jsonl:
            (out / "bundles" / "credit_notes").mkdir(parents=True, exist_ok=True)
        for credit_note_id in ids:
            document = credit_note_file_get_sequenced(
                credit_note_id=credit_note_id, tenant=tenant
            )
            line = json.dumps(document, separators=(",", ":"), sort_keys=True) + "\n"
            if jsonl:
                with (out / "bundles.jsonl").open("a", encoding="utf-8") as fh:
                    fh.write(line)
            else:
                path = out / "bundles" / "credit_notes" / f"{credit_note_id}.json"
                path.write_text(line)
        return len(ids)


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
