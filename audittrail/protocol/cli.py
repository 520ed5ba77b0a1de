"""``meterproof verify-audit FILE [--expect-head SEQ:HASH] [--json]``: the
offline check of an audit-trail export (Django-free).

``FILE`` holds one record per line (``manage.py audit_export``; blank lines
are skipped), each read with the strict I-JSON reader. Exit 0: valid; 1: a
changed, deleted or reordered record, or a pinned head that is gone (the
summary names the first bad sequence number); 2: unusable input (unreadable
file, a line that is not JSON, a malformed ``--expect-head``). The same
verdict as ``manage.py audit_verify`` on the database the file came from.
"""

from __future__ import annotations

import argparse
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from kernel.protocol.errors import JsonInputError
from kernel.protocol.strictjson import loads as strict_loads

from .chain import AuditReport, verify_audit_chain
from .errors import AuditHeadFormatError

__all__ = [
    "AuditFileError",
    "add_verify_audit_parser",
    "cmd_verify_audit",
    "format_audit_report",
    "read_audit_export",
]

EXIT_OK, EXIT_INVALID, EXIT_UNUSABLE = 0, 1, 2


class AuditFileError(Exception):
    """The export cannot be read, or a line is not JSON (exit 2)."""


def read_audit_export(path: Path) -> Iterator[Any]:
    """Yield the decoded record of each non-blank line of ``path``, read
    line by line (constant memory).

    Raises:
        AuditFileError: the file cannot be opened or read, or a line is not
            strict JSON (the message names the line number).
    """
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise AuditFileError(f"cannot read {path}: {exc.strerror}") from exc
    with handle:
        for number, line in enumerate(handle, 1):
            if not line.strip():
                continue
            try:
                yield strict_loads(line)
            except JsonInputError as exc:
                raise AuditFileError(
                    f"{path}: line {number} is not JSON: {exc.code}: {exc.message}"
                ) from exc


def format_audit_report(report: AuditReport) -> str:
    """Return the human summary of ``report``: one line saying valid (count,
    head) or invalid (first bad ``seq``), then one line per check."""
    head = str(report.head) if report.head else "none (empty trail)"
    if report.ok:
        lines = [f"audit trail valid: {report.count} records, head {head}"]
    else:
        lines = [
            f"audit trail INVALID: first bad seq {report.first_bad_seq} "
            f"({report.count} records read, last {head})"
        ]
    for check in report.checks:
        code = f" [{check.code}]" if check.code else ""
        lines.append(f"  {check.status:4} {check.name}{code}: {check.message}")
    return "\n".join(lines) + "\n"


def cmd_verify_audit(args: argparse.Namespace) -> int:
    """Run ``verify-audit``; return 0 (valid), 1 (invalid) or 2 (unusable)."""
    try:
        report = verify_audit_chain(
            read_audit_export(Path(args.file)), expect_head=args.expect_head
        )
    except (AuditFileError, AuditHeadFormatError) as exc:
        sys.stderr.write(f"meterproof: {exc}\n")
        return EXIT_UNUSABLE
    if args.json:
        sys.stdout.write(json.dumps(report.to_json(), indent=2) + "\n")
    else:
        sys.stdout.write(format_audit_report(report))
    return EXIT_OK if report.ok else EXIT_INVALID


def add_verify_audit_parser(sub: Any) -> None:
    """Add the ``verify-audit`` sub-command to ``sub`` (the sub-parsers of
    ``meterproof``)."""
    parser = sub.add_parser(
        "verify-audit", help="verify a staff audit-trail export (JSON lines)"
    )
    parser.add_argument("file", help="the export written by manage.py audit_export")
    parser.add_argument(
        "--expect-head",
        default=None,
        metavar="SEQ:HASH",
        help="a head you saw before: the trail must still hold it (detects "
        "deleted last records)",
    )
    parser.add_argument("--json", action="store_true", help="print the JSON report")
    parser.set_defaults(func=cmd_verify_audit)
