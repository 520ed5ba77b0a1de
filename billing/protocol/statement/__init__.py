"""Signed, logged period statements that verify offline (Django-free).

A statement (format ``vdi-billing-statement/1``, docs/PROTOCOL.md §13) is
the issuer-signed bill of one tenant's period: one line per ``(metric,
tariff version)`` priced once over the period's total quantity (design D1),
the total, the count N and Merkle root of the period's numbered bundles, and
the ``vdi-billing/2`` receipts it includes. It is logged like a bundle.

Layout: :mod:`.document` (building, signing, parsing, the receipts root),
:mod:`.verify` (``verify_statement`` and its named checks), :mod:`.sources`
(reading bundles from a directory or a ``.jsonl`` file) and :mod:`.errors`.
"""

from __future__ import annotations

from .document import (
    EMPTY_RECEIPTS_ROOT,
    STATEMENT_FORMAT,
    ReceiptsRoot,
    StatementFile,
    StatementLine,
    build_statement,
    build_statement_file,
    period_lines,
    statement_id_for,
    statement_leaf_data,
    statement_leaf_hash,
    unsigned_statement,
)
from .errors import STATEMENT_CHECK_CODES, StatementFormatError, StatementInputError
from .sources import bundle_sources
from .verify import STATEMENT_CHECKS, BundleFacts, StatementReport, verify_statement

__all__ = [
    "EMPTY_RECEIPTS_ROOT",
    "STATEMENT_CHECKS",
    "STATEMENT_CHECK_CODES",
    "STATEMENT_FORMAT",
    "BundleFacts",
    "ReceiptsRoot",
    "StatementFile",
    "StatementFormatError",
    "StatementInputError",
    "StatementLine",
    "StatementReport",
    "build_statement",
    "build_statement_file",
    "bundle_sources",
    "period_lines",
    "statement_id_for",
    "statement_leaf_data",
    "statement_leaf_hash",
    "unsigned_statement",
    "verify_statement",
]
