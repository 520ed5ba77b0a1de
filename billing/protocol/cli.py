"""``meterproof``: the offline command-line verifier (Django-free).

Usage::

    meterproof verify BUNDLE.json|DIR ... --trust TRUST.json [--jobs N]
        [--profile standard|strict] [--revocation SNAPSHOT.json]
        [--max-snapshot-age SEC] [--now UNIX_SECONDS]
        [--groth16-backend fast|reference] [--json [--failures-only] [--compact]]
        [--original BUNDLE.json]
    meterproof price --tariff TARIFF.json --quantity N
    meterproof verify-audit AUDIT.jsonl [--expect-head SEQ:HASH] [--json]


    meterproof verify-statement STATEMENT.json --bundles DIR|FILE.jsonl
        --trust TRUST.json [--jobs N] [--skip-proofs] [--json]

``verify`` prints a summary (counts, failed checks by name, the first invalid
files; a progress bar on stderr when it is a terminal), or with ``--json`` the
JSON report with the named checks of every bundle, and exits 0 (all valid),
1 (any invalid) or 2 (unusable input: missing path, unreadable or malformed
trust anchors, no bundle found). A closed stdout (``| head``) is not an error. Every file is read with the
strict I-JSON reader: a trust file with a duplicate member name or nesting
deeper than 64 levels is unusable (2); such a bundle file fails
``bundle_format`` with ``duplicate_member`` or ``json_too_deep``. ``price`` prints the charge of a
quantity under a tariff (``amount_minor`` in the currency's minor unit).
It trusts nothing but the trust-anchor file given on the command line.
``verify-audit`` checks a staff audit-trail export
(:mod:`audittrail.protocol.cli`).

A file whose top-level ``format`` is ``vdi-billing-credit-note/1`` is verified
as a credit note (:mod:`billing.protocol.verify.credit_note`: checks
``credit_note_format``, ``issuer_signature``, ``credit_note_amount``,
``checkpoint_signature``, ``log_inclusion``), against its original bundle when
``--original`` names it or ``<receipt_id>.json`` sits next to it; its report
has ``"kind": "credit_note"``, its negative amount counts in
``amount_minor_total`` and the run's JSON adds ``credit_notes`` (how many).

``--profile strict`` (``VDI_VERIFY_STRICT_V1``) needs ``--revocation``: the
signed revocation snapshot (``/.well-known/vdi-billing-revocation.json``), opened
with the trust anchors' issuer keys. A snapshot that does not open is not a
usage error: like the API, every bundle then fails ``revocation_snapshot`` with
the snapshot's error code (and ``not_revoked``). Same inputs, same verdict and
failed checks as ``POST /api/vdi/billing/verify?profile=VDI_VERIFY_STRICT_V1``.

``verify-statement`` checks a period statement (docs/PROTOCOL.md §13.3)
against the bundles in a directory (``*.json``, recursively) or a ``.jsonl``
file, read one at a time: it prints a summary of the named statement checks
(or the JSON report with ``--json``) and exits 0 (valid), 1 (invalid) or 2
(unusable input: an unreadable statement or trust file, a missing bundle
directory). An empty directory is a valid input (a period without events).
Credit-note files among the bundles (``vdi-billing-credit-note/1``) are
verified as credit notes and must be exactly those the statement lists
(check ``statement_credit_notes``).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
from typing import Any

from audittrail.protocol.cli import add_verify_audit_parser
from kernel.protocol.errors import JsonInputError, ProtocolError
from kernel.protocol.strictjson import loads as strict_loads
from revocation.protocol.snapshot import snapshot_open

from .credit_note import credit_note_json_or_none
from .statement import StatementInputError, bundle_sources, verify_statement
from .tariff import TariffDocument, price_breakdown
from .trust import TrustAnchors
from .verify import (
    DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
    GROTH16_BACKENDS,
    PROFILE_ALIASES,
    PROFILE_STRICT,
    PROFILES,
    BundleVerifier,
    resolve_profile,
    strict_options,
)
from .verify.credit_note import CreditNoteVerifier

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2


class UsageError(Exception):
    """Unusable input: reported on stderr, exit code 2."""


def _load_json(path: Path, what: str) -> Any:
    """Read ``path`` with the strict I-JSON reader.

    Raises:
        UsageError: unreadable, or refused by the reader (duplicate member,
            nesting over 64 levels, not UTF-8, not JSON): the file is
            unusable as a whole (exit 2).
    """
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise UsageError(f"cannot read {what} {path}: {exc.strerror}") from exc
    try:
        return strict_loads(data)
    except JsonInputError as exc:
        where = f" at {exc.field}" if exc.field else ""
        raise UsageError(f"{what} {path}: {exc.code}{where}: {exc.message}") from exc


def collect_bundle_files(
    paths: Sequence[str], exclude: Path | None = None
) -> list[Path]:
    """Expand files and directories (recursively, ``*.json``) into a sorted list.

    Raises:
        UsageError: a path does not exist, or nothing was found.
    """
    found: list[Path] = []
    excluded = exclude.resolve() if exclude else None
    for raw in paths:
        path = Path(raw)
        if path.is_dir():
            found.extend(
                p for p in sorted(path.rglob("*.json")) if p.resolve() != excluded
            )
        elif path.is_file():
            found.append(path)
        else:
            raise UsageError(f"no such file or directory: {raw}")
    if not found:
        raise UsageError("no bundle files found")
    return found


_WORKER: BundleVerifier | None = None


def _init_worker(trust_json: Any, profile: str, options: dict[str, Any]) -> None:
    global _WORKER
    _WORKER = BundleVerifier(
        TrustAnchors.from_json(trust_json), profile=profile, **options
    )


def load_revocation(
    path: Path, trust: TrustAnchors
) -> tuple[Any, ProtocolError | None]:
    """Open the snapshot file with the trust anchors' issuer keys.

    Returns ``(snapshot, None)`` or ``(None, error)`` when it does not open
    (bad signature, unknown issuer, malformed): the verifier reports that
    error's code as a failed ``revocation_snapshot`` check.

    Raises:
        UsageError: the file cannot be read.
    """
    try:
        raw = path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read revocation snapshot {path}: {exc.strerror}"
        ) from exc
    issuers = {
        key.kid: key.verify_key
        for key in trust.keys_for("issuer")
        if key.status != "revoked"
    }
    try:
        return snapshot_open(raw, issuers), None
    except ProtocolError as exc:
        return None, exc


def _verify_files(
    files: list[str], original: str | None = None
) -> list[dict[str, Any]]:
    assert _WORKER is not None
    source = Path(original) if original else None
    return [_verify_one(_WORKER, Path(name), source) for name in files]


def _verify_one(
    verifier: BundleVerifier, path: Path, original: Path | None = None
) -> dict[str, Any]:
    try:
        data = path.read_bytes()
    except OSError as exc:
        report = verifier.verify(None).to_json()
        report["checks"][0]["message"] = f"cannot read bundle: {exc.strerror}"
        return {"file": str(path), **report}
    credit_note = _as_credit_note(data)
    if credit_note is not None:
        return {
            "file": str(path),
            **_verify_credit_note(verifier, path, credit_note, original),
        }
    # The bytes go to the verifier: its bundle_format check reads them with
    # the strict I-JSON reader and reports the reader's code.
    return {"file": str(path), **verifier.verify(data).to_json()}


def _as_credit_note(data: bytes) -> dict[str, Any] | None:
    """Return the parsed file when it is a credit note (top-level ``format``
    ``vdi-billing-credit-note/1``), else ``None``: every other file, and any
    that the strict reader refuses, is verified as a bundle (unchanged)."""
    return credit_note_json_or_none(data)


_CREDIT_NOTE_VERIFIERS: dict[int, CreditNoteVerifier] = {}


def _verify_credit_note(
    verifier: BundleVerifier,
    path: Path,
    document: dict[str, Any],
    original: Path | None,
) -> dict[str, Any]:
    """Verify a credit-note file with the bundle verifier's trust and
    profile; the original bundle is ``original`` (``--original``) or, when
    not given, ``<receipt_id>.json`` in the credit note's directory."""
    checker = _CREDIT_NOTE_VERIFIERS.get(id(verifier))
    if checker is None:
        checker = CreditNoteVerifier(verifier.trust, profile=verifier.profile)
        _CREDIT_NOTE_VERIFIERS.clear()
        _CREDIT_NOTE_VERIFIERS[id(verifier)] = checker
    if original is None:
        body = document.get("credit_note")
        receipt_id = (
            body.get("original", {}).get("receipt_id")
            if isinstance(body, dict) and isinstance(body.get("original"), dict)
            else None
        )
        if (
            isinstance(receipt_id, str)
            and receipt_id.isprintable()
            and ("/" not in receipt_id and receipt_id not in (".", ".."))
        ):
            candidate = path.parent / f"{receipt_id}.json"
            original = candidate if candidate.is_file() else None
    original_data = None
    if original is not None:
        try:
            original_data = original.read_bytes()
        except OSError as exc:
            raise UsageError(
                f"cannot read original bundle {original}: {exc.strerror}"
            ) from exc
    return checker.verify(document, original=original_data).to_json()


def cmd_verify(args: argparse.Namespace) -> int:
    """Verify bundles; print the report; return the exit code."""
    trust_path = Path(args.trust)
    trust_json = _load_json(trust_path, "trust anchors")
    try:
        trust = TrustAnchors.from_json(trust_json)
    except ProtocolError as exc:
        raise UsageError(
            f"trust anchors {trust_path}: {exc.message} ({exc.field})"
        ) from exc
    profile = resolve_profile(args.profile)
    snapshot, problem = None, None
    if args.revocation:
        snapshot, problem = load_revocation(Path(args.revocation), trust)
    elif profile == PROFILE_STRICT:
        raise UsageError("--profile strict needs --revocation SNAPSHOT.json")
    # One strict-profile setup (also the server's); every option pickles, so
    # the same dict goes to the worker processes.
    options: dict[str, Any] = {
        "groth16_backend": args.groth16_backend,
        "now": args.now,
        **strict_options(
            revocation=snapshot,
            problem=None if problem is None else (problem.code, problem.message),
            max_snapshot_age_seconds=args.max_snapshot_age,
        ),
    }
    exclude = [trust_path] + ([Path(args.revocation)] if args.revocation else [])
    files = [
        f
        for f in collect_bundle_files(args.paths, exclude=trust_path)
        if f.resolve() not in {p.resolve() for p in exclude}
    ]
    if not files:
        raise UsageError("no bundle files found")
    jobs = max(1, args.jobs or (os.cpu_count() or 1))
    original = Path(args.original) if args.original else None
    if original is not None and not original.is_file():
        raise UsageError(f"no such original bundle: {args.original}")
    bar = _progress_bar(len(files))
    reports: list[dict[str, Any]] = []
    if jobs > 1 and len(files) >= 200:
        size = max(50, len(files) // (jobs * 8))
        chunks = [
            [str(p) for p in files[i : i + size]] for i in range(0, len(files), size)
        ]
        with ProcessPoolExecutor(
            max_workers=jobs,
            initializer=_init_worker,
            initargs=(trust_json, profile, options),
        ) as pool:
            for chunk in pool.map(_verify_files, chunks, [args.original] * len(chunks)):
                reports.extend(chunk)
                if bar is not None:
                    bar.update(len(chunk))
    else:
        verifier = BundleVerifier(trust, profile=profile, **options)
        for path in files:
            reports.append(_verify_one(verifier, path, original))
            if bar is not None:
                bar.update(1)
    if bar is not None:
        bar.close()
    invalid = [r for r in reports if not r["ok"]]
    failed_checks: dict[str, int] = {}
    for report in invalid:
        for check in report["checks"]:
            if check["status"] == "fail":
                failed_checks[check["name"]] = failed_checks.get(check["name"], 0) + 1
    shown = invalid if args.failures_only else reports
    out = {
        "ok": not invalid,
        "profile": profile,
        "bundles": len(reports),
        "valid": len(reports) - len(invalid),
        "invalid": len(invalid),
        "failed_checks": failed_checks,
        "amount_minor_total": sum(
            r["billing_check"]["amount_minor"]
            for r in reports
            if r["ok"] and r["billing_check"]
        ),
        "reports": shown,
    }
    credit_notes = sum(1 for r in reports if r.get("kind") == "credit_note")
    if credit_notes:
        # Only when there are some: a run over bundles answers as before.
        out["credit_notes"] = credit_notes
    if args.json or args.compact:
        text = json.dumps(out, indent=None if args.compact else 2) + "\n"
    else:
        text = format_summary(out, invalid)
    _write_stdout(text)
    return EXIT_OK if not invalid else EXIT_INVALID


SUMMARY_MAX_LISTED = 20
"""Invalid bundles the summary names (``--json`` lists every report)."""


def format_summary(out: dict[str, Any], invalid: list[dict[str, Any]]) -> str:
    """Return the human summary of a verify run: counts, the failed checks by
    name with how many bundles failed each, and the first
    :data:`SUMMARY_MAX_LISTED` invalid files with their failed checks.

    ``out`` is the JSON report :func:`cmd_verify` builds (``bundles``,
    ``valid``, ``invalid``, ``profile``, ``amount_minor_total`` in integer
    minor units, ``failed_checks``); ``invalid`` the invalid bundles' reports.
    """
    lines = [
        f"{out['bundles']} bundles, profile {out['profile']}: "
        f"{out['valid']} valid, {out['invalid']} invalid",
        f"amount_minor_total of the valid bundles: {out['amount_minor_total']}",
    ]
    if out.get("credit_notes"):
        lines[0] += f" ({out['credit_notes']} of them credit notes)"
        lines[1] += " (credit notes count negative)"
    if out["failed_checks"]:
        lines.append("failed checks (bundles):")
        width = max(len(name) for name in out["failed_checks"])
        for name, count in sorted(
            out["failed_checks"].items(), key=lambda item: (-item[1], item[0])
        ):
            lines.append(f"  {name:<{width}}  {count}")
        lines.append("invalid bundles:")
        for report in invalid[:SUMMARY_MAX_LISTED]:
            names = [c["name"] for c in report["checks"] if c["status"] == "fail"]
            lines.append(f"  {report['file']}: {', '.join(names)}")
        if len(invalid) > SUMMARY_MAX_LISTED:
            lines.append(
                f"  ... and {len(invalid) - SUMMARY_MAX_LISTED} more (--json lists all)"
            )
    lines.append("OK" if not invalid else "INVALID")
    return "\n".join(lines) + "\n"


def _progress_bar(total: int) -> Any:
    """Return a tqdm bar on stderr when stderr is a terminal, else ``None``."""
    if not sys.stderr.isatty():
        return None
    from tqdm import tqdm  # type: ignore[import-untyped]  # no stubs shipped

    return tqdm(total=total, unit="bundle", file=sys.stderr, desc="verify")


def _write_stdout(text: str) -> None:
    """Write ``text`` to stdout; a reader that went away (``| head``) is not an
    error: the rest is discarded without a BrokenPipeError traceback (the
    Python documentation's recipe for SIGPIPE, ``signal`` module notes)."""
    try:
        sys.stdout.write(text)
        sys.stdout.flush()
    except BrokenPipeError:
        # Point stdout at devnull so the interpreter's final flush is silent.
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())


def cmd_price(args: argparse.Namespace) -> int:
    """Price a quantity under a tariff file; print the breakdown JSON."""
    try:
        tariff = TariffDocument.from_json(_load_json(Path(args.tariff), "tariff"))
        breakdown = price_breakdown(tariff, args.quantity)
    except ProtocolError as exc:
        raise UsageError(f"{exc.code}: {exc.message} (field {exc.field})") from exc
    _write_stdout(json.dumps(breakdown, indent=2) + "\n")
    return EXIT_OK


def _load_trust(path: Path) -> TrustAnchors:
    """Read and parse the trust anchors at ``path``.

    Raises:
        UsageError: unreadable or malformed (exit 2).
    """
    trust_json = _load_json(path, "trust anchors")
    try:
        return TrustAnchors.from_json(trust_json)
    except ProtocolError as exc:
        raise UsageError(f"trust anchors {path}: {exc.message} ({exc.field})") from exc


def cmd_verify_statement(args: argparse.Namespace) -> int:
    """Verify a statement against its bundles; print the report; return the
    exit code (0 valid, 1 invalid; unusable input raises
    :class:`UsageError`)."""
    trust_path = Path(args.trust)
    trust = _load_trust(trust_path)
    statement_path = Path(args.statement)
    try:
        statement_bytes = statement_path.read_bytes()
    except OSError as exc:
        raise UsageError(
            f"cannot read statement {statement_path}: {exc.strerror}"
        ) from exc
    bundles_path = Path(args.bundles)
    if not bundles_path.exists():
        raise UsageError(f"no such directory or .jsonl file: {bundles_path}")
    exclude = frozenset(p.resolve() for p in (trust_path, statement_path))
    jobs = max(1, args.jobs or (os.cpu_count() or 1))
    try:
        report = verify_statement(
            statement_bytes,
            bundle_sources(bundles_path, exclude=exclude),
            trust,
            jobs=jobs,
            skip_proofs=args.skip_proofs,
        )
    except StatementInputError as exc:
        raise UsageError(exc.message) from exc
    out = report.to_json()
    if args.json:
        text = json.dumps(out, indent=2) + "\n"
    else:
        text = format_statement_summary(out)
    _write_stdout(text)
    return EXIT_OK if report.ok else EXIT_INVALID


def format_statement_summary(out: dict[str, Any]) -> str:
    """Return the human summary of a ``verify-statement`` run: the
    statement, the bundle counts, one line per named check and the verdict.

    ``out`` is :meth:`~billing.protocol.statement.StatementReport.to_json`
    (``amount_minor`` in integer minor units); one line per credit note the
    statement lists, marked ``(not given)`` when its file was not given.
    """
    lines = []
    if out["statement_id"] is not None:
        lines.append(
            f"statement {out['statement_id']}: tenant {out['tenant']}, period "
            f"{out['period']}, amount_minor {out['amount_minor']} "
            f"{out['currency']}, {out['receipts_count']} numbered receipts"
        )
    if out["bundles"]:
        counts = out["bundles"]
        lines.append(
            f"bundles: {counts['given']} given, {counts['valid']} valid, "
            f"{counts['invalid']} invalid, {counts['foreign']} foreign"
        )
    for note in out.get("credit_notes", []):
        lines.append(
            f"credit note {note['credit_note_id']}: amount_minor "
            f"{note['amount_minor']}" + ("" if note["given"] else " (not given)")
        )
    width = max(len(c["name"]) for c in out["checks"])
    for check in out["checks"]:
        detail = f"  {check['code']}: {check['message']}" if check["code"] else ""
        lines.append(f"  {check['name']:<{width}}  {check['status']}{detail}")
    for item in out["invalid_bundles"]:
        lines.append(
            f"  invalid bundle {item['file']}: {', '.join(item['failed_checks'])}"
        )
    lines.append("OK" if out["ok"] else "INVALID")
    return "\n".join(lines) + "\n"


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of ``meterproof``."""
    parser = argparse.ArgumentParser(
        prog="meterproof",
        description="Offline verifier for meterproof billing bundles.",
    )
    sub = parser.add_subparsers(dest="command", required=True)
    verify = sub.add_parser("verify", help="verify bundles against trust anchors")
    verify.add_argument("paths", nargs="+", help="bundle JSON files or directories")
    verify.add_argument(
        "--trust", required=True, help="trust anchors (vdi-billing-trust.json)"
    )
    verify.add_argument(
        "--profile",
        default="standard",
        choices=[*PROFILES, *PROFILE_ALIASES],
        help="standard (default) or strict (VDI_VERIFY_STRICT_V1)",
    )
    verify.add_argument(
        "--revocation",
        help="signed revocation snapshot JSON (required by --profile strict)",
    )
    verify.add_argument(
        "--max-snapshot-age",
        type=int,
        default=DEFAULT_MAX_SNAPSHOT_AGE_SECONDS,
        help="oldest acceptable revocation snapshot, seconds "
        f"(default {DEFAULT_MAX_SNAPSHOT_AGE_SECONDS})",
    )
    verify.add_argument(
        "--now",
        type=int,
        default=None,
        help="verify as of this time, unix seconds (default: the clock)",
    )
    verify.add_argument(
        "--groth16-backend",
        choices=list(GROTH16_BACKENDS),
        default="fast",
        help="Groth16 verifier for billing_proof (default fast)",
    )
    verify.add_argument(
        "--original",
        help="the original bundle of the credit note(s) verified (default: "
        "<receipt_id>.json next to each credit note, when present)",
    )
    verify.add_argument(
        "--jobs", type=int, default=0, help="worker processes (default: CPUs)"
    )
    verify.add_argument(
        "--json",
        action="store_true",
        help="print the full JSON report (every bundle's named checks) instead "
        "of the summary",
    )
    verify.add_argument(
        "--failures-only",
        action="store_true",
        help="with --json: list only the invalid bundles' reports",
    )
    verify.add_argument(
        "--compact", action="store_true", help="one-line JSON (implies --json)"
    )
    verify.set_defaults(func=cmd_verify)
    statement = sub.add_parser(
        "verify-statement",
        help="verify a period statement against its bundles",
    )
    statement.add_argument("statement", help="the statement file (JSON)")
    statement.add_argument(
        "--bundles",
        required=True,
        help="a directory of bundle *.json files, or a .jsonl file",
    )
    statement.add_argument(
        "--trust", required=True, help="trust anchors (vdi-billing-trust.json)"
    )
    statement.add_argument(
        "--jobs", type=int, default=1, help="worker processes (default 1; 0: CPUs)"
    )
    statement.add_argument(
        "--skip-proofs",
        action="store_true",
        help="leave each bundle's Groth16 billing_proof check out (speed)",
    )
    statement.add_argument("--json", action="store_true", help="print the JSON report")
    statement.set_defaults(func=cmd_verify_statement)
    price = sub.add_parser("price", help="price a quantity under a tariff")
    price.add_argument("--tariff", required=True, help="tariff JSON (DESIGN.md)")
    price.add_argument(
        "--quantity", required=True, type=int, help="non-negative integer"
    )
    price.set_defaults(func=cmd_price)
    add_verify_audit_parser(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the CLI; return 0, 1 or 2 (also used as the process exit code)."""
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:  # argparse exits 2 on usage errors already
        return int(exc.code or 0)
    try:
        code: int = args.func(args)
        return code
    except UsageError as exc:
        sys.stderr.write(f"meterproof: {exc}\n")
        return EXIT_UNUSABLE


if __name__ == "__main__":
    sys.exit(main())
