"""``manage.py demo``: the main job end to end on real traffic.

Seeds a demo tenant and tariff, imports the bundled Apache access log as meter
events (attested through the same service as the API; each client address
becomes a surrogate tenant, so the ``demo`` tenant itself gets no bundle; the
first batch of events carries Groth16 proofs), exports every bundle with the
trust anchors and revocation snapshot, verifies them offline with the
Django-free CLI in a separate process (standard profile for all, strict for
the proved sample), shows that a tampered bundle fails, and then takes the
documented path to a bill (README "Bills: from access log to verified
statement"): imports the graduated tariff file, creates a tenant subscribed
to it, imports the log's first 5,000 lines into that tenant, closes the
period (``statement_close``), exports it (``export_bundles --period``),
verifies the statement offline (``meterproof verify-statement``, exit 0) and
shows that a tampered copy fails (exit 1), and prints a summary.

Idempotent: a second run attests nothing new and charges nothing twice; the
period being closed already, it re-exports the stored statement and verifies
it again.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from dataclasses import dataclass, field
from io import StringIO
from pathlib import Path
from typing import Any

from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models import Sum

from billing.models import Bundle, Statement
from billing.protocol.tariff import format_amount
from billing.services.access_log import access_log_import
from billing.services.demo import demo_seed
from circuits.settings import circuits_settings
from kernel.settings import kernel_settings
from transparency.models import LogState

#: The statement path's tenant, tariff file and number of log lines.
STATEMENT_TENANT = "demo-monthly"
STATEMENT_TARIFF = Path("docs") / "examples" / "tariffs" / "monthly_graduated.json"
STATEMENT_LINES = 5000
#: What the tampered statement copy adds to its line and total (minor units).
TAMPER_AMOUNT_MINOR = 100


@dataclass
class StatementRun:
    """What the statement path of the demo did and found.

    ``summary``: the ``import_access_log --json`` summary; ``statement``: the
    signed statement (JSON) exported and verified, ``None`` if no period of
    the import could be closed (its month has not ended); ``closed_now``:
    closed by this run (else already closed); ``export``: the export folder;
    ``code``/``report``: ``verify-statement``'s exit code and JSON report;
    ``t_code``/``t_failed``: the tampered copy's exit code and failed checks;
    ``seconds``: wall time of the whole path.
    """

    summary: dict[str, Any]
    statement: dict[str, Any] | None = None
    closed_now: bool = False
    export: Path | None = None
    code: int = -1
    report: dict[str, Any] = field(default_factory=dict)
    t_code: int = -1
    t_failed: list[str] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        """True when the statement verified (exit 0) and its tampered copy
        failed (exit 1) naming the amount check, the import reconciled and
        no line was rejected."""
        summary = self.summary
        return (
            self.statement is not None
            and summary["lines"] == summary["attested"] + summary["duplicates"]
            and not summary["rejected"]
            and self.code == 0
            and self.t_code == 1
            and "statement_lines" in self.t_failed
        )


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
        return self._cli_finish(self._cli_start(*args))

    @staticmethod
    def _cli_start(*args: str) -> subprocess.Popen[str]:
        """Start ``python -m billing.protocol *args`` (the ``meterproof``
        CLI) in its own process."""
        return subprocess.Popen(
            [sys.executable, "-m", "billing.protocol", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            cwd=kernel_settings.base_dir,
        )

    @staticmethod
    def _cli_finish(proc: subprocess.Popen[str]) -> tuple[int, dict[str, Any]]:
        """Wait for a started CLI; return its exit code and JSON report.

        Raises:
            CommandError: the CLI exited 2 (unusable input).
        """
        stdout, stderr = proc.communicate()
        if proc.returncode == 2:
            raise CommandError(f"offline verifier could not run: {stderr.strip()}")
        return proc.returncode, json.loads(stdout)

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
            f"1/10 tariff {version.tariff.tariff_id} v{version.version} published "
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
        write(f"2/10 imported {log_path.name}: " + json.dumps(result))
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
        exported_count = Bundle.objects.count()
        write(
            f"3/10 exported {len(bundle_files)} bundles + trust.json + "
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
            f"4/10 offline CLI verified {report['valid']}/{report['bundles']} bundles "
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
            f"5/10 strict profile (proofs, revocation snapshot) verified "
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
            f"6/10 tampered bundle (amount_minor + 1): exit {t_code}, failed checks {failed}"
        )
        bill = self.statement_steps(out, lines)

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
        self._statement_summary(bill)
        write(
            f"  time                    attest {attest_s:.1f} s, verify {verify_s:.1f} s, "
            f"statement path {bill.seconds:.1f} s, total "
            f"{time.monotonic() - started:.1f} s"
        )
        ok = (
            bill.ok
            and reconciled
            and code == 0
            and report["bundles"] == exported_count
            and s_code == 0
            and s_report["bundles"] == self._proved_count() > 0
            and t_code == 1
            and "charge_recompute" in failed
        )
        if not ok:
            raise CommandError("demo did not reconcile (see above)")
        write(
            f"  where to look           {export}/bundles (every bundle, named by "
            "receipt id); admin › Bundles; export_bundles --tenant <surrogate>; "
            f"the statement in {bill.export}/statement.json, admin › Statements"
        )
        write("demo OK")

    def statement_steps(self, out: Path, log_lines: list[str]) -> StatementRun:
        """Steps 7-10, the documented commands from access log to verified
        statement: import the graduated tariff file and create the
        :data:`STATEMENT_TENANT` subscribed to it, import the first
        :data:`STATEMENT_LINES` lines of the log into it (without Groth16
        proofs: the standard profile, which verify-statement applies, needs
        none), close each billing period of the import whose month has
        ended (or find it closed by an earlier run), export it, and verify
        the last one offline in a separate process, next to a copy whose
        line and total were raised by :data:`TAMPER_AMOUNT_MINOR`.

        Raises:
            CommandError: a command refuses (other than a period still open
                or already closed), or the verifier cannot run.
        """
        started = time.monotonic()
        write = self.stdout.write
        tariff_out = StringIO()
        call_command(
            "tariff_import",
            str(kernel_settings.base_dir / STATEMENT_TARIFF),
            publish=True,
            stdout=tariff_out,
            stderr=StringIO(),
        )
        tariff = json.loads(tariff_out.getvalue())
        call_command(
            "tenant_create",
            STATEMENT_TENANT,
            subscribe=[tariff["tariff_id"]],
            stdout=StringIO(),
        )
        write(
            f"7/10 tariff {tariff['tariff_id']} v{tariff['version']} "
            f"({tariff['status']}, graduated tiers, {STATEMENT_TARIFF}); tenant "
            f"{STATEMENT_TENANT} subscribed to it"
        )
        statement_dir = out / "statement"
        statement_dir.mkdir(parents=True, exist_ok=True)
        log = statement_dir / f"access-{STATEMENT_LINES}.log"
        log.write_text(
            "".join(line + "\n" for line in log_lines[:STATEMENT_LINES]),
            encoding="utf-8",
        )
        import_out = StringIO()
        call_command(
            "import_access_log",
            str(log),
            tenant_by="none",
            tenant=STATEMENT_TENANT,
            no_proofs=True,
            json=True,
            stdout=import_out,
        )
        run = StatementRun(summary=json.loads(import_out.getvalue()))
        write(
            f"8/10 imported the first {run.summary['lines']} lines into "
            f"{STATEMENT_TENANT} (no proofs): " + json.dumps(run.summary)
        )
        export = statement_dir / "export"
        for period in run.summary["periods"]:
            stored = Statement.objects.filter(
                tenant__slug=STATEMENT_TENANT, period=period
            ).exists()
            if not stored:
                try:
                    call_command(
                        "statement_close",
                        tenant=STATEMENT_TENANT,
                        period=period,
                        out=str(statement_dir / f"statement-{period}.json"),
                        stdout=StringIO(),
                    )
                except CommandError as exc:
                    if not str(exc).startswith("statement_period_open"):
                        raise
                    write(f"     period {period} not closed: {exc}")
                    continue
            call_command(
                "export_bundles",
                out=str(export),
                tenant=STATEMENT_TENANT,
                period=period,
                clean=True,
                stdout=StringIO(),
            )
            run.statement = json.loads((export / "statement.json").read_text())[
                "statement"
            ]
            run.closed_now, run.export = not stored, export
        if run.statement is None or run.export is None:
            run.seconds = time.monotonic() - started
            return run
        statement = run.statement
        currency = statement["currency"]
        write(
            f"9/10 statement {statement['statement_id']} of {STATEMENT_TENANT} "
            f"{statement['period']} "
            + ("closed" if run.closed_now else "already closed, by an earlier run")
            + f" at {statement['closed_at']}: total "
            f"{format_amount(statement['amount_minor'], currency)}, "
            f"{statement['receipts']['count']} numbered receipts; exported with "
            f"its bundles to {export}"
        )
        for line in statement["lines"]:
            write(
                f"     line {line['metric']} {line['tariff_id']} "
                f"v{line['tariff_version']}: {line['events']} events, quantity "
                f"{line['quantity']}, {format_amount(line['amount_minor'], currency)}"
                f" priced once over the period (the events alone: "
                f"{format_amount(line['events_amount_minor'], currency)})"
            )
        tampered_dir = statement_dir / "tampered"
        tampered_dir.mkdir(exist_ok=True)
        document = json.loads((export / "statement.json").read_text())
        document["statement"]["lines"][0]["amount_minor"] += TAMPER_AMOUNT_MINOR
        document["statement"]["amount_minor"] += TAMPER_AMOUNT_MINOR
        tampered = tampered_dir / "statement.json"
        tampered.write_text(json.dumps(document, indent=2) + "\n")
        t0 = time.monotonic()
        # Both verifications at once, each in its own process (one core each).
        good, bad = (
            self._cli_start(
                "verify-statement",
                str(path),
                "--bundles",
                str(export / "bundles"),
                "--trust",
                str(export / "trust.json"),
                "--json",
            )
            for path in (export / "statement.json", tampered)
        )
        run.code, run.report = self._cli_finish(good)
        run.t_code, t_report = self._cli_finish(bad)
        run.t_failed = [c["name"] for c in t_report["checks"] if not c["ok"]]
        passed = sum(c["ok"] for c in run.report["checks"])
        write(
            f"10/10 meterproof verify-statement {export}/statement.json: exit "
            f"{run.code}, {passed}/{len(run.report['checks'])} checks pass, "
            f"{run.report['bundles']['valid']}/{run.report['bundles']['given']} "
            f"bundles valid; tampered copy (line and total "
            f"+{format_amount(TAMPER_AMOUNT_MINOR, currency)}): exit {run.t_code}, "
            f"failed checks {run.t_failed} ({time.monotonic() - t0:.1f} s)"
        )
        run.seconds = time.monotonic() - started
        return run

    def _statement_summary(self, run: StatementRun) -> None:
        """Write the statement path's summary lines."""
        write = self.stdout.write
        statement = run.statement
        if statement is None:
            write("  statement               none (no period of the import has ended)")
            return
        write(
            f"  statement               {statement['statement_id']} "
            f"({STATEMENT_TENANT}, {statement['period']}): "
            f"{len(statement['lines'])} line(s), total "
            f"{format_amount(statement['amount_minor'], statement['currency'])}, "
            + ("verified offline" if run.code == 0 else "NOT VERIFIED (bug!)")
        )
        write(
            "  tampered statement      "
            + ("rejected" if run.t_code == 1 else "ACCEPTED (bug!)")
            + f" ({', '.join(run.t_failed)})"
        )
