"""``manage.py demo``: the main job end to end on real traffic.

Seeds a demo tenant and tariff, imports the bundled Apache access log as meter
events (attested through the same service as the API; each client address
becomes a surrogate tenant, so the ``demo`` tenant itself gets no bundle; the
first batch of events carries Groth16 proofs), exports every bundle with the
trust anchors and revocation snapshot, verifies them offline with the
Django-free CLI in a separate process (standard profile for all, strict for
the proved sample), shows that a tampered bundle fails, and prints a summary.
Idempotent: a second run attests nothing new and charges nothing twice.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from billing.models import Bundle
from billing.protocol.tariff import format_amount
from billing.services.access_log import access_log_import
from billing.services.demo import demo_seed
from circuits.settings import circuits_settings
from kernel.settings import kernel_settings
from transparency.models import LogState


class Command(BaseCommand):
    """Run the end-to-end demo."""

    help = "Import the sample access log, attest, export, verify offline, tamper, summarise."

    def add_arguments(self, parser: CommandParser) -> None:
        """--log PATH, --out DIR."""
        parser.add_argument(
            "--log",
            default=str(
                kernel_settings.base_dir / "data" / "access-logs" / "apache_logs"
            ),
        )
        parser.add_argument("--out", default=str(kernel_settings.var_dir / "demo"))

    def _cli(self, *args: str) -> tuple[int, dict[str, Any]]:
        proc = subprocess.run(
            [sys.executable, "-m", "billing.protocol", *args],
            capture_output=True,
            text=True,
            cwd=kernel_settings.base_dir,
            check=False,
        )
        if proc.returncode == 2:
            raise CommandError(f"offline verifier could not run: {proc.stderr.strip()}")
        return proc.returncode, json.loads(proc.stdout)

    def _proved_count(self) -> int:
        return Bundle.objects.filter(
            proof_status__in=[Bundle.ProofStatus.EMBEDDED, Bundle.ProofStatus.ATTACHED]
        ).count()

    def handle(self, *args: Any, **options: Any) -> None:
        """Run every step; exit non-zero if anything does not reconcile."""
        started = time.monotonic()
        out = Path(options["out"])
        log_path = Path(options["log"])
        write = self.stdout.write
        tenant, version = demo_seed()
        write(
            f"1/6 tariff {version.tariff.tariff_id} v{version.version} published "
            f"(per_unit {version.pricing['unit_amount_decimal']} cents/request), "
            f"tariff_hash {version.tariff_hash[:16]}…"
        )

        lines = log_path.read_text(encoding="utf-8").split("\n")
        if lines and lines[-1] == "":
            lines.pop()
        bar = None
        if sys.stderr.isatty():
            from tqdm import tqdm

            bar = tqdm(total=len(lines), unit="line", file=sys.stderr, desc="attest")
        t0 = time.monotonic()
        # The first batch (100 events; 10 batches, 1,000 events, with
        # VDI_BILLING_INCIRCUIT_BINDING on) is proved, each batch's proofs in
        # parallel on the prover's threads (~25 ms per proof on 2 cores): the
        # sample the strict profile verifies. All 10,000 would take ~4 min.
        binding = circuits_settings.incircuit_binding
        summary = access_log_import(
            lines=lines,
            tenant_by="ip",
            progress=bar.update if bar else None,
            batch_size=100,
            prove_first=10 if binding else 1,
        )
        if bar:
            bar.close()
        attest_s = time.monotonic() - t0
        result = summary.to_json()
        write(f"2/6 imported {log_path.name}: " + json.dumps(result))
        proved = self._proved_count()
        write(
            f"    {proved} bundles carry a Groth16 billing_proof (sample: the "
            f"first {'1,000' if binding else '100'} events, in-circuit binding "
            f"{'on, proof mode ' + circuits_settings.proof_mode if binding else 'off'})"
        )
        reconciled = result["lines"] == result["attested"] + result["duplicates"] + len(
            result["rejected"]
        )

        export = out / "export"
        call_command(
            "export_bundles", out=str(export), clean=True, stdout=open(os.devnull, "w")
        )
        bundle_files = sorted((export / "bundles").glob("*.json"))
        write(
            f"3/6 exported {len(bundle_files)} bundles + trust.json + "
            f"revocation.json to {export}"
        )

        t0 = time.monotonic()
        code, report = self._cli(
            "verify",
            str(export / "bundles"),
            "--trust",
            str(export / "trust.json"),
            "--failures-only",
            "--compact",
        )
        verify_s = time.monotonic() - t0
        write(
            f"4/6 offline CLI verified {report['valid']}/{report['bundles']} bundles "
            f"in {verify_s:.1f} s (exit {code})"
        )

        strict = out / "strict"
        call_command(
            "export_bundles",
            out=str(strict),
            clean=True,
            proved_only=True,
            stdout=open(os.devnull, "w"),
        )
        s_code, s_report = self._cli(
            "verify",
            str(strict / "bundles"),
            "--trust",
            str(strict / "trust.json"),
            "--profile",
            "strict",
            "--revocation",
            str(strict / "revocation.json"),
            "--failures-only",
            "--compact",
        )
        write(
            f"5/6 strict profile (proofs, revocation snapshot) verified "
            f"{s_report['valid']}/{s_report['bundles']} proved bundles in {strict} "
            f"(exit {s_code})"
        )

        tampered_dir = out / "tampered"
        tampered_dir.mkdir(parents=True, exist_ok=True)
        original = json.loads(bundle_files[0].read_text())
        original["attestation"]["charge"]["amount_minor"] += 1
        tampered = tampered_dir / "tampered.json"
        tampered.write_text(json.dumps(original))
        t_code, t_report = self._cli(
            "verify", str(tampered), "--trust", str(export / "trust.json"), "--compact"
        )
        failed = sorted(t_report["failed_checks"])
        write(
            f"6/6 tampered bundle (amount_minor + 1): exit {t_code}, failed checks {failed}"
        )

        totals = Bundle.objects.aggregate(total=Sum("amount_minor"))
        db_total = totals["total"] or 0
        head = LogState.objects.filter(id=1).first()
        write("")
        write("Summary")
        write(f"  access-log lines        {result['lines']}")
        write(f"  attested this run       {result['attested']}")
        write(
            f"  already attested        {result['duplicates']}  (idempotent re-run: no double charge)"
        )
        write(
            f"  rejected                {len(result['rejected'])}  "
            + ", ".join(
                f"line {r['line']}: {r['reason'][:60]}" for r in result["rejected"][:3]
            )
        )
        write(
            f"  tenants (surrogates)    {result['tenants']}  (one per client address; "
            f"the '{tenant.slug}' tenant itself has "
            f"{Bundle.objects.filter(tenant=tenant).count()} bundles)"
        )
        write(
            f"  charged this run        {format_amount(result['amount_minor_total'], 'USD')}"
        )
        write(
            f"  bundles in database     {Bundle.objects.count()}  totalling {format_amount(db_total, 'USD')}"
        )
        write(
            f"  transparency log        {head.tree_size if head else 0} leaves, root {head.root_hash[:16] if head else ''}…"
        )
        write(
            f"  offline verification    {report['valid']} valid, {report['invalid']} invalid"
        )
        write(
            f"  strict (proved sample)  {s_report['valid']} valid, "
            f"{s_report['invalid']} invalid"
        )
        write(
            f"  tampered bundle         {'rejected' if t_code == 1 else 'ACCEPTED (bug!)'}"
        )
        write(
            f"  time                    attest {attest_s:.1f} s, verify {verify_s:.1f} s, "
            f"total {time.monotonic() - started:.1f} s"
        )
        ok = (
            reconciled
            and code == 0
            and report["bundles"] == Bundle.objects.count()
            and s_code == 0
            and s_report["bundles"] == self._proved_count() > 0
            and t_code == 1
            and "charge_recompute" in failed
        )
        if not ok:
            raise CommandError("demo did not reconcile (see above)")
        write(
            f"  where to look           {export}/bundles (every bundle, named by "
            "receipt id); admin › Bundles; export_bundles --tenant <surrogate>"
        )
        write("demo OK")
