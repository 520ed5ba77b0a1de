"""Errors of the statement protocol (docs/PROTOCOL.md §13).

Rooted at :class:`billing.protocol.errors.BillingProtocolError`; a failed
statement check reports :class:`~billing.protocol.errors.CheckFailed` with its
own code (``statement_root_mismatch`` ...), listed in
:data:`STATEMENT_CHECK_CODES`.
"""

from __future__ import annotations

from typing import Final

from ..errors import BillingProtocolError

__all__ = ["STATEMENT_CHECK_CODES", "StatementFormatError", "StatementInputError"]


class StatementFormatError(BillingProtocolError):
    """A statement file does not parse as ``vdi-billing-statement/1``
    (``field`` names the offending member)."""

    code = "statement_format_invalid"


class StatementInputError(BillingProtocolError):
    """The verifier's bundle input is unusable as a whole (a missing
    directory, an unreadable ``.jsonl`` file): the CLI exits 2."""

    code = "statement_input_unusable"


#: The failure codes of the statement checks and what each means.
STATEMENT_CHECK_CODES: Final = {
    "statement_format_invalid": "the statement file is not vdi-billing-statement/1",
    "statement_id_mismatch": "statement_id is not derived from (tenant, period)",
    "statement_bundle_invalid": "a bundle of the statement fails verification",
    "statement_bundle_foreign": "a bundle of another tenant or period was given",
    "statement_bundle_missing": "a sequence number 1..N (or an unsequenced "
    "receipt) has no bundle",
    "statement_sequence_duplicate": "two bundles carry one sequence number",
    "statement_sequence_out_of_range": "a bundle's number is above the count N",
    "statement_root_mismatch": "the receipts root differs from the bundles'",
    "statement_unsequenced_mismatch": "a vdi-billing/2 bundle is not listed",
    "statement_currency_mismatch": "a bundle's currency is not the statement's",
    "statement_lines_mismatch": "the lines are not the bundles' (metric, "
    "tariff) groups, or their events, quantity or events_amount_minor differ",
    "statement_amount_mismatch": "a line's amount_minor is not the period "
    "price of its quantity",
    "statement_total_mismatch": "amount_minor is not the sum of the lines and "
    "credit notes",
    "statement_credit_note_invalid": "a credit-note file given fails verification",
    "statement_credit_note_foreign": "a credit note of another tenant, period "
    "or currency was given",
    "statement_credit_note_duplicate": "a credit note was given twice",
    "statement_credit_note_mismatch": "a credit note's leaf_hash or amount_minor "
    "differs from the statement's list",
    "statement_credit_note_missing": "a listed credit note was not given",
    "statement_credit_note_unlisted": "a credit note of the tenant and period "
    "is not listed",
}
