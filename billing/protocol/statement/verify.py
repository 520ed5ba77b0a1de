"""``verify_statement``: a statement and its bundles, checked offline
(docs/PROTOCOL.md §13.3, design D4).

Named checks, in report order, each fail closed (an exception inside a
check is a failed check with the exception's code, ``internal_error`` when
it is not a protocol error):

``statement_format`` · ``statement_signature`` · ``statement_log`` ·
``statement_bundles`` · ``statement_foreign`` · ``statement_completeness`` ·
``statement_lines`` · ``statement_credit_notes`` · ``statement_total``.

When ``statement_format`` fails no other check runs and no bundle is read.
Otherwise the bundles are read **once, one at a time** (optionally verified
in a process pool): each is verified under the standard bundle profile by
the one bundle verifier (:class:`~billing.protocol.verify.BundleVerifier`,
whose checkpoint cache makes a shared checkpoint cost one signature check),
reduced to a few picklable facts (:class:`BundleFacts`) and folded into
running totals: per ``(metric, tariff_hash)`` sums, the receipts root over
the contiguous prefix of numbers 1, 2, ... (numbers that arrive early wait in
a dictionary, so bundles given in number order need O(log N) memory), the
``vdi-billing/2`` receipts seen. Only bundles that verified and belong to the
statement's tenant and period count towards completeness, lines and totals.

The input may also hold credit-note files (top-level ``format``
``vdi-billing-credit-note/1``): each is verified by the one credit-note
verifier (:class:`~billing.protocol.verify.credit_note.CreditNoteVerifier`,
standard profile, sharing the bundle verifier's checkpoint cache), must be
of the statement's tenant, period and currency, and the verified set must
equal ``statement.credit_notes`` (by ``credit_note_id``, ``leaf_hash`` and
``amount_minor``): ``statement_credit_notes``. A listed credit note is
required: completeness of the credits is the point, so an auditor without
one gets a failure naming its id.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from kernel.protocol.ed25519 import verify_object
from kernel.protocol.errors import ProtocolError
from kernel.protocol.verdict import CheckResult, verdict_ok
from transparency.protocol.merkle import leaf_hash, verify_inclusion

from ..bundle import Bundle, attestation_leaf_hash
from ..contexts import CONTEXT_STATEMENT
from ..credit_note import credit_note_json_or_none, credit_note_leaf_data
from ..errors import CheckFailed, UnknownKeyError
from ..tariff import TariffDocument
from ..trust import TrustAnchors
from ..verify import PROFILE_STANDARD, BundleVerifier, VerificationReport
from ..verify.credit_note import CreditNoteVerifier
from .document import (
    ReceiptsRoot,
    StatementFile,
    period_lines,
    statement_leaf_hash,
    unsigned_statement,
)
from .errors import StatementInputError
from .sources import BundlePayload, read_payload

__all__ = [
    "STATEMENT_CHECKS",
    "BundleFacts",
    "StatementReport",
    "bundle_facts",
    "credit_note_verifier",
    "verify_statement",
]

#: The statement checks, in report order.
STATEMENT_CHECKS: Final = (
    "statement_format",
    "statement_signature",
    "statement_log",
    "statement_bundles",
    "statement_foreign",
    "statement_completeness",
    "statement_lines",
    "statement_credit_notes",
    "statement_total",
)
#: Problems a report lists per check (the counts are always complete).
MAX_LISTED: Final = 20
#: Bundles sent to a worker process at once, and chunks kept in flight.
_CHUNK: Final = 256
_IN_FLIGHT_PER_JOB: Final = 4


@dataclass(frozen=True)
class BundleFacts:
    """What a statement needs of one bundle: small and picklable.

    Attributes:
        label: the file (or ``FILE.jsonl:line``) the bundle came from.
        ok: the bundle verified under the standard profile.
        failed: names of its failed checks.
        receipt_id: ``receipt.receipt_id`` once it parsed, else ``None``.
        tenant, window: the event's tenant and window.
        period, number: the ``vdi-billing/3`` ``sequence`` (``None`` for a
            ``vdi-billing/2`` bundle).
        leaf_hash: the attestation's 32-byte log leaf hash.
        metric, quantity, amount_minor, currency, tariff_hash: the event's
            metric and quantity, the stand-alone charge (integer minor
            units) and the tariff's hash (64 lowercase hex).
        tariff: the tariff JSON the first time a worker sees its hash (the
            parent caches it), else ``None``.
        credit_note_id: set when the file is a credit note
            (``vdi-billing-credit-note/1``) that parsed; its ``tenant``,
            ``window`` (the period it nets into), ``currency``,
            ``amount_minor`` (negative) and ``leaf_hash`` (SHA-256(0x00 ||
            JCS(credit_note))) fill the fields above.
        kind: ``"bundle"`` or ``"credit_note"``.
    """

    label: str
    ok: bool
    failed: tuple[str, ...] = ()
    receipt_id: str | None = None
    tenant: str = ""
    window: str = ""
    period: str | None = None
    number: int | None = None
    leaf_hash: bytes = b""
    metric: str = ""
    quantity: int = 0
    amount_minor: int = 0
    currency: str = ""
    tariff_hash: str = ""
    tariff: dict[str, Any] | None = None
    credit_note_id: str | None = None
    kind: str = "bundle"


def _leaf_hash(bundle: Bundle, report: VerificationReport) -> bytes:
    """Return the bundle's 32-byte log leaf hash: ``log.leaf_hash`` when
    ``log_inclusion`` passed (it recomputed exactly that value), else
    SHA-256(0x00 || JCS(attestation)) computed here (JCS is the costly
    step of a bundle's checks; done once)."""
    if bundle.log is not None and any(
        c.name == "log_inclusion" and c.status == "pass" for c in report.checks
    ):
        return bundle.log.leaf_hash
    return attestation_leaf_hash(bundle.attestation)


def credit_note_verifier(verifier: BundleVerifier) -> CreditNoteVerifier:
    """Return a standard-profile credit-note verifier with ``verifier``'s
    trust anchors, sharing its checkpoint cache (a checkpoint common to
    bundles and credit notes costs one signature check)."""
    credit_notes = CreditNoteVerifier(verifier.trust, profile=PROFILE_STANDARD)
    credit_notes.checkpoints = verifier.checkpoints
    return credit_notes


def _credit_note_facts(
    verifier: CreditNoteVerifier, label: str, document: dict[str, Any]
) -> BundleFacts:
    """Verify one credit-note file and return its facts (``kind``
    ``credit_note``); never raises."""
    report = verifier.verify(document)
    if report.credit_note_id is None or report.billing_check is None:
        return BundleFacts(label, False, tuple(report.failed), kind="credit_note")
    body = document["credit_note"]
    return BundleFacts(
        label=label,
        ok=report.ok,
        failed=tuple(report.failed),
        tenant=body["tenant"],
        window=report.billing_check["period"],
        leaf_hash=leaf_hash(credit_note_leaf_data(body)),
        amount_minor=report.billing_check["amount_minor"],
        currency=report.billing_check["currency"],
        credit_note_id=report.credit_note_id,
        kind="credit_note",
    )


def bundle_facts(
    verifier: BundleVerifier,
    label: str,
    payload: BundlePayload,
    sent_tariffs: set[str],
    credit_notes: CreditNoteVerifier | None = None,
) -> BundleFacts:
    """Verify one bundle (or credit-note file) and return its
    :class:`BundleFacts`; never raises for a bad bundle (an unreadable file
    fails ``bundle_format``).

    ``sent_tariffs`` holds the tariff hashes already returned with their
    JSON by this process (updated in place). A file whose top-level
    ``format`` is ``vdi-billing-credit-note/1`` is verified by
    ``credit_notes`` (default :func:`credit_note_verifier` of
    ``verifier``) instead.
    """
    try:
        data = read_payload(payload)
    except OSError as exc:
        return BundleFacts(label, False, (f"bundle_format: {exc.strerror}",))
    try:
        document = credit_note_json_or_none(data)
        if document is not None:
            return _credit_note_facts(
                credit_notes or credit_note_verifier(verifier), label, document
            )
        report, bundle = verifier.verify_parsed(data)
        if bundle is None:
            return BundleFacts(label, False, tuple(report.failed))
        event = bundle.envelope.event
        period, number = bundle.sequence if bundle.sequence else (None, None)
        tariff_hash = bundle.tariff.tariff_hash
        tariff = None
        if tariff_hash not in sent_tariffs:
            sent_tariffs.add(tariff_hash)
            tariff = bundle.tariff.to_json()
        return BundleFacts(
            label=label,
            ok=report.ok,
            failed=tuple(report.failed),
            receipt_id=bundle.receipt_id,
            tenant=event.tenant,
            window=event.window,
            period=period,
            number=number,
            leaf_hash=_leaf_hash(bundle, report),
            metric=event.metric,
            quantity=event.quantity,
            amount_minor=bundle.charge.amount_minor,
            currency=bundle.charge.currency,
            tariff_hash=tariff_hash,
            tariff=tariff,
        )
    except Exception as exc:  # fail closed: reported, never raised
        return BundleFacts(label, False, (f"internal_error: {exc}",))


@dataclass
class StatementReport:
    """The result of :func:`verify_statement`; ``ok`` is the verdict.

    Attributes:
        checks: the named checks in report order.
        statement: the parsed statement (``None`` when its format failed).
        bundles: ``{"given", "valid", "invalid", "foreign"}`` counts.
        invalid_bundles: up to :data:`MAX_LISTED` ``{"file", "receipt_id",
            "failed_checks"}`` of the bundles that failed verification.
        credit_notes: the statement's listed credit notes, each
            ``{"credit_note_id", "leaf_hash", "amount_minor" (negative,
            minor units), "given"}`` (``given``: a verified credit-note file
            of the tenant and period with that id was given).
        credit_note_files: ``{"given", "valid", "invalid", "foreign"}``
            counts of the credit-note files among the inputs.
    """

    checks: list[CheckResult] = field(default_factory=list)
    statement: StatementFile | None = None
    bundles: dict[str, int] = field(default_factory=dict)
    invalid_bundles: list[dict[str, Any]] = field(default_factory=list)
    credit_notes: list[dict[str, Any]] = field(default_factory=list)
    credit_note_files: dict[str, int] = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        """True iff at least one check ran and none failed (fail closed)."""
        return verdict_ok(self.checks)

    @property
    def failed(self) -> list[str]:
        """Names of the failed checks."""
        return [c.name for c in self.checks if c.status == "fail"]

    def to_json(self) -> dict[str, Any]:
        """Return ``{ok, statement_id, tenant, period, currency,
        amount_minor, receipts_count, bundles, checks, invalid_bundles,
        credit_notes, credit_note_files}`` (statement members ``null`` when
        the file did not parse)."""
        st = self.statement
        return {
            "ok": self.ok,
            "statement_id": st.statement_id if st else None,
            "tenant": st.tenant if st else None,
            "period": st.period if st else None,
            "currency": st.currency if st else None,
            "amount_minor": st.amount_minor if st else None,
            "receipts_count": st.receipts_count if st else None,
            "bundles": dict(self.bundles),
            "checks": [c.to_json() for c in self.checks],
            "invalid_bundles": list(self.invalid_bundles),
            "credit_notes": [dict(note) for note in self.credit_notes],
            "credit_note_files": dict(self.credit_note_files),
        }


def _run(report: StatementReport, name: str, check: Callable[[], None]) -> None:
    """Run one check and append its result (fail closed)."""
    try:
        check()
    except ProtocolError as exc:
        report.checks.append(CheckResult(name, "fail", exc.code, exc.message))
    except Exception as exc:  # fail closed on anything unexpected
        report.checks.append(
            CheckResult(name, "fail", "internal_error", f"{type(exc).__name__}: {exc}")
        )
    else:
        report.checks.append(CheckResult(name, "pass"))


def _listed(items: list[str], total: int) -> str:
    more = f" and {total - len(items)} more" if total > len(items) else ""
    return ", ".join(items) + more


class _Problems:
    """Problems of one kind: a count and the first :data:`MAX_LISTED`
    descriptions (memory stays bounded however many bundles are wrong)."""

    def __init__(self) -> None:
        self.count = 0
        self.shown: list[str] = []

    def add(self, text: str) -> None:
        """Count one problem; keep its description while few are kept."""
        self.count += 1
        if len(self.shown) < MAX_LISTED:
            self.shown.append(text)

    def __bool__(self) -> bool:
        """True once a problem was counted."""
        return self.count > 0

    def describe(self) -> str:
        """Return the shown descriptions, ``and N more`` when cut."""
        return _listed(self.shown, self.count)


class _Totals:
    """The running totals over the bundles (see the module docstring)."""

    def __init__(self, statement: StatementFile) -> None:
        self.statement = statement
        self.given = self.valid = 0
        self.invalid: list[BundleFacts] = []
        self.invalid_count = 0
        self.foreign: list[str] = []
        self.foreign_count = 0
        self.root = ReceiptsRoot()
        self.next_number = 1
        self.early: dict[int, bytes] = {}
        self.duplicates = _Problems()
        self.out_of_range = _Problems()
        self.unsequenced: dict[str, str] = {}
        self.currency_problems = _Problems()
        self.groups: dict[tuple[str, str], list[int]] = {}
        self.tariffs: dict[str, TariffDocument] = {}
        self.problem: Exception | None = None
        self.credit_given = self.credit_valid = 0
        self.credit_invalid = _Problems()
        self.credit_foreign = _Problems()
        self.credit_duplicates = _Problems()
        #: Verified credit notes of the tenant and period: id -> (leaf
        #: hash hex, amount_minor). A period has few.
        self.credits: dict[str, tuple[str, int]] = {}

    def require_complete(self) -> None:
        """Re-raise the error that stopped reading the bundles, if any."""
        if self.problem is not None:
            raise self.problem

    def add(self, facts: BundleFacts) -> None:
        """Fold one bundle's (or credit note's) facts into the totals."""
        if facts.kind == "credit_note":
            self._credit_note(facts)
            return
        self.given += 1
        if facts.tariff is not None and facts.tariff_hash not in self.tariffs:
            self.tariffs[facts.tariff_hash] = TariffDocument.from_json(facts.tariff)
        if not facts.ok:
            self.invalid_count += 1
            if len(self.invalid) < MAX_LISTED:
                self.invalid.append(facts)
            return
        self.valid += 1
        st = self.statement
        name = facts.receipt_id or facts.label
        if facts.tenant != st.tenant or facts.window != st.period:
            self.foreign_count += 1
            if len(self.foreign) < MAX_LISTED:
                self.foreign.append(
                    f"{name} (tenant {facts.tenant!r}, period {facts.window!r})"
                )
            return
        if facts.number is None:
            assert facts.receipt_id is not None
            if facts.receipt_id in self.unsequenced:
                self.duplicates.add(f"{name} (given twice)")
            self.unsequenced[facts.receipt_id] = facts.leaf_hash.hex()
        else:
            self._number(facts.number, facts.leaf_hash, name)
        if facts.currency != st.currency:
            self.currency_problems.add(f"{name} ({facts.currency})")
        group = self.groups.setdefault((facts.metric, facts.tariff_hash), [0, 0, 0])
        group[0] += 1
        group[1] += facts.quantity
        group[2] += facts.amount_minor

    def _credit_note(self, facts: BundleFacts) -> None:
        """Fold one credit-note file: count it, keep a verified one of the
        statement's tenant, period and currency by id."""
        self.credit_given += 1
        name = facts.credit_note_id or facts.label
        if not facts.ok:
            self.credit_invalid.add(f"{name} [{', '.join(facts.failed)}]")
            return
        self.credit_valid += 1
        st = self.statement
        if (
            facts.tenant != st.tenant
            or facts.window != st.period
            or facts.currency != st.currency
        ):
            self.credit_foreign.add(
                f"{name} (tenant {facts.tenant!r}, period {facts.window!r}, "
                f"currency {facts.currency})"
            )
            return
        assert facts.credit_note_id is not None
        if facts.credit_note_id in self.credits:
            self.credit_duplicates.add(f"{name} (given twice)")
        self.credits[facts.credit_note_id] = (
            facts.leaf_hash.hex(),
            facts.amount_minor,
        )

    def _number(self, number: int, leaf: bytes, name: str) -> None:
        """Place bundle ``number`` in the sequence 1..N."""
        if number > self.statement.receipts_count:
            self.out_of_range.add(f"{name} (number {number})")
        elif number < self.next_number or number in self.early:
            self.duplicates.add(f"{name} (number {number})")
        elif number > self.next_number:
            self.early[number] = leaf
        else:
            self.root.add(leaf)
            self.next_number += 1
            while self.next_number in self.early:
                self.root.add(self.early.pop(self.next_number))
                self.next_number += 1

    def missing_numbers(self, limit: int = MAX_LISTED) -> tuple[list[int], int]:
        """Return (up to ``limit`` of) the numbers 1..N without a bundle and
        how many there are."""
        n = self.statement.receipts_count
        total = n - (self.next_number - 1) - len(self.early)
        found: list[int] = []
        number = self.next_number
        while len(found) < limit and number <= n:
            if number not in self.early:
                found.append(number)
            number += 1
        return found, total


def _check_signature(st: StatementFile, trust: TrustAnchors) -> None:
    key = trust.key("issuer", st.kid)
    if key is None:
        raise UnknownKeyError(
            f"issuer kid {st.kid} is not a trusted issuer key", field="statement.kid"
        )
    verify_object(
        key.verify_key,
        CONTEXT_STATEMENT,
        unsigned_statement(st.statement),
        st.statement["sig"],
        field="statement.sig",
    )


def _check_log(st: StatementFile, verifier: BundleVerifier) -> None:
    log = st.log
    if log is None:
        raise CheckFailed(
            "log_evidence_missing",
            "the statement has no log evidence: it must be logged",
            field="log",
        )
    expected = statement_leaf_hash(st.statement)
    if log.leaf_hash != expected:
        raise CheckFailed(
            "leaf_hash_mismatch",
            "log.leaf_hash is not SHA-256(0x00 || JCS(statement))",
            field="log.leaf_hash",
        )
    checkpoint, _ = verifier.checkpoints.open(log.checkpoint)
    if checkpoint.tree_size != log.tree_size:
        raise CheckFailed(
            "tree_size_mismatch",
            f"log.tree_size {log.tree_size} != checkpoint size {checkpoint.tree_size}",
            field="log.tree_size",
        )
    verify_inclusion(
        expected,
        log.leaf_index,
        log.tree_size,
        list(log.inclusion_proof),
        checkpoint.root_hash,
    )


def _check_bundles(totals: _Totals) -> None:
    totals.require_complete()
    if totals.invalid_count:
        shown = [
            f"{f.receipt_id or f.label} [{', '.join(f.failed)}]" for f in totals.invalid
        ]
        raise CheckFailed(
            "statement_bundle_invalid",
            f"{totals.invalid_count} of {totals.given} bundles fail verification: "
            + _listed(shown, totals.invalid_count),
        )


def _check_foreign(totals: _Totals) -> None:
    totals.require_complete()
    if totals.foreign_count:
        st = totals.statement
        raise CheckFailed(
            "statement_bundle_foreign",
            f"{totals.foreign_count} bundle(s) are not of tenant {st.tenant!r}, "
            f"period {st.period}: " + _listed(totals.foreign, totals.foreign_count),
        )


def _check_completeness(totals: _Totals) -> None:
    totals.require_complete()
    st = totals.statement
    if totals.duplicates:
        raise CheckFailed(
            "statement_sequence_duplicate",
            "bundles repeat a sequence number: " + totals.duplicates.describe(),
        )
    if totals.out_of_range:
        raise CheckFailed(
            "statement_sequence_out_of_range",
            f"bundles numbered above the statement's count {st.receipts_count}: "
            + totals.out_of_range.describe(),
        )
    missing, count = totals.missing_numbers()
    if count:
        raise CheckFailed(
            "statement_bundle_missing",
            f"{count} of the numbers 1..{st.receipts_count} have no bundle: "
            + _listed([str(n) for n in missing], count),
        )
    root = totals.root.root()
    if root != st.receipts_root:
        raise CheckFailed(
            "statement_root_mismatch",
            f"receipts.root is {st.receipts_root.hex()}, the bundles numbered "
            f"1..{st.receipts_count} give {root.hex()}",
            field="statement.receipts.root",
        )
    listed = dict(st.unsequenced)
    absent = [r for r in listed if r not in totals.unsequenced]
    if absent:
        raise CheckFailed(
            "statement_bundle_missing",
            f"{len(absent)} unsequenced receipt(s) listed without a bundle: "
            + _listed(absent[:MAX_LISTED], len(absent)),
        )
    extra = [r for r, leaf in totals.unsequenced.items() if listed.get(r) != leaf]
    if extra:
        raise CheckFailed(
            "statement_unsequenced_mismatch",
            f"{len(extra)} vdi-billing/2 bundle(s) of the period are not in "
            "statement.unsequenced (or with another leaf_hash): "
            + _listed(sorted(extra)[:MAX_LISTED], len(extra)),
            field="statement.unsequenced",
        )


def _check_lines(totals: _Totals) -> None:
    totals.require_complete()
    st = totals.statement
    if totals.currency_problems:
        raise CheckFailed(
            "statement_currency_mismatch",
            f"bundles charged in another currency than {st.currency}: "
            + totals.currency_problems.describe(),
        )
    expected = {
        (line.metric, line.tariff_hash): line
        for line in period_lines(
            (totals.tariffs[tariff_hash], sums[0], sums[1], sums[2])
            for (_, tariff_hash), sums in totals.groups.items()
        )
    }
    stated = {(line.metric, line.tariff_hash): line for line in st.lines}
    for key in sorted(stated.keys() | expected.keys()):
        have, want = stated.get(key), expected.get(key)
        if have is None or want is None:
            raise CheckFailed(
                "statement_lines_mismatch",
                f"line (metric {key[0]!r}, tariff_hash {key[1][:12]}…) is "
                + ("stated without bundles" if want is None else "not stated")
                + f"; the bundles give {len(expected)} line(s), the statement "
                f"{len(stated)}",
                field="statement.lines",
            )
        for name in ("tariff_id", "tariff_version", "events", "quantity"):
            if getattr(have, name) != getattr(want, name):
                raise CheckFailed(
                    "statement_lines_mismatch",
                    f"line {key[0]!r}: {name} is {getattr(have, name)!r}, the "
                    f"bundles give {getattr(want, name)!r}",
                    field="statement.lines",
                )
        if have.events_amount_minor != want.events_amount_minor:
            raise CheckFailed(
                "statement_lines_mismatch",
                f"line {key[0]!r}: events_amount_minor is "
                f"{have.events_amount_minor}, the bundles' charges sum to "
                f"{want.events_amount_minor}",
                field="statement.lines",
            )
        if have.amount_minor != want.amount_minor:
            raise CheckFailed(
                "statement_amount_mismatch",
                f"line {key[0]!r}: amount_minor is {have.amount_minor}, the "
                f"tariff {want.tariff_id} v{want.tariff_version} prices the "
                f"period's quantity {want.quantity} at {want.amount_minor}",
                field="statement.lines",
            )


def _check_credit_notes(totals: _Totals) -> None:
    """``statement_credit_notes``: every credit-note file given verifies
    and is of the statement's tenant, period and currency, and the verified
    set equals ``statement.credit_notes`` (id, leaf hash, amount).

    Raises:
        CheckFailed: ``statement_credit_note_invalid``,
            ``statement_credit_note_foreign``,
            ``statement_credit_note_duplicate``,
            ``statement_credit_note_mismatch``,
            ``statement_credit_note_missing``,
            ``statement_credit_note_unlisted``.
    """
    totals.require_complete()
    st = totals.statement
    if totals.credit_invalid:
        raise CheckFailed(
            "statement_credit_note_invalid",
            f"{totals.credit_invalid.count} of {totals.credit_given} credit "
            "notes fail verification: " + totals.credit_invalid.describe(),
        )
    if totals.credit_foreign:
        raise CheckFailed(
            "statement_credit_note_foreign",
            f"credit notes not of tenant {st.tenant!r}, period {st.period}, "
            f"currency {st.currency}: " + totals.credit_foreign.describe(),
        )
    if totals.credit_duplicates:
        raise CheckFailed(
            "statement_credit_note_duplicate",
            "credit notes given more than once: " + totals.credit_duplicates.describe(),
        )
    listed = {
        note["credit_note_id"]: (note["leaf_hash"], note["amount_minor"])
        for note in st.credit_notes
    }
    changed = [
        f"{cid} (statement: leaf_hash {listed[cid][0][:12]}…, amount_minor "
        f"{listed[cid][1]}; credit note: leaf_hash {have[0][:12]}…, "
        f"amount_minor {have[1]})"
        for cid, have in sorted(totals.credits.items())
        if cid in listed and listed[cid] != have
    ]
    if changed:
        raise CheckFailed(
            "statement_credit_note_mismatch",
            f"{len(changed)} credit note(s) differ from the statement's list: "
            + _listed(changed[:MAX_LISTED], len(changed)),
            field="statement.credit_notes",
        )
    missing = sorted(cid for cid in listed if cid not in totals.credits)
    if missing:
        raise CheckFailed(
            "statement_credit_note_missing",
            f"{len(missing)} of the {len(listed)} listed credit note(s) were "
            "not given (a listed credit note is required): "
            + _listed(missing[:MAX_LISTED], len(missing)),
            field="statement.credit_notes",
        )
    unlisted = sorted(cid for cid in totals.credits if cid not in listed)
    if unlisted:
        raise CheckFailed(
            "statement_credit_note_unlisted",
            f"{len(unlisted)} credit note(s) of {st.tenant}/{st.period} are not "
            "in statement.credit_notes: "
            + _listed(unlisted[:MAX_LISTED], len(unlisted)),
            field="statement.credit_notes",
        )


def _check_total(st: StatementFile) -> None:
    total = sum(line.amount_minor for line in st.lines) + sum(
        note["amount_minor"] for note in st.credit_notes
    )
    if st.amount_minor != total:
        raise CheckFailed(
            "statement_total_mismatch",
            f"amount_minor is {st.amount_minor}, the lines and credit notes sum "
            f"to {total}",
            field="statement.amount_minor",
        )


_WORKER: tuple[BundleVerifier, set[str], CreditNoteVerifier] | None = None


def _init_worker(trust_json: Any, skip_proofs: bool) -> None:
    global _WORKER
    verifier = _bundle_verifier(TrustAnchors.from_json(trust_json), skip_proofs)
    _WORKER = (verifier, set(), credit_note_verifier(verifier))


def _facts_chunk(chunk: list[tuple[str, BundlePayload]]) -> list[BundleFacts]:
    assert _WORKER is not None
    verifier, sent, credit_notes = _WORKER
    return [
        bundle_facts(verifier, label, payload, sent, credit_notes)
        for label, payload in chunk
    ]


def _bundle_verifier(trust: TrustAnchors, skip_proofs: bool) -> BundleVerifier:
    """Return the standard-profile verifier; ``skip_proofs`` leaves out the
    ``billing_proof`` (Groth16) check, documented as a speed option."""
    verifier = BundleVerifier(trust, profile=PROFILE_STANDARD)
    if skip_proofs:
        verifier.checks = tuple(c for c in verifier.checks if c.name != "billing_proof")
    return verifier


def _chunks(
    items: Iterable[tuple[str, BundlePayload]],
) -> Iterator[list[tuple[str, BundlePayload]]]:
    chunk: list[tuple[str, BundlePayload]] = []
    for item in items:
        chunk.append(item)
        if len(chunk) >= _CHUNK:
            yield chunk
            chunk = []
    if chunk:
        yield chunk


def _facts_stream(
    bundles: Iterable[tuple[str, BundlePayload]],
    trust: TrustAnchors,
    verifier: BundleVerifier,
    jobs: int,
    skip_proofs: bool,
) -> Iterator[BundleFacts]:
    """Yield the facts of every bundle, in input order; with ``jobs`` > 1
    chunks go to a process pool, at most ``4 * jobs`` chunks in flight."""
    if jobs <= 1:
        sent: set[str] = set()
        credit_notes = credit_note_verifier(verifier)
        for label, payload in bundles:
            yield bundle_facts(verifier, label, payload, sent, credit_notes)
        return
    with ProcessPoolExecutor(
        max_workers=jobs,
        initializer=_init_worker,
        initargs=(trust.to_json(), skip_proofs),
    ) as pool:
        pending: list[Future[list[BundleFacts]]] = []
        for chunk in _chunks(bundles):
            pending.append(pool.submit(_facts_chunk, chunk))
            if len(pending) >= jobs * _IN_FLIGHT_PER_JOB:
                yield from pending.pop(0).result()
        for future in pending:
            yield from future.result()


def verify_statement(
    statement_file: Any,
    bundles: Iterable[tuple[str, BundlePayload]],
    trust: TrustAnchors,
    *,
    jobs: int = 1,
    skip_proofs: bool = False,
) -> StatementReport:
    """Verify a statement file against its bundles and ``trust``.

    Args:
        statement_file: the statement file's bytes (strict I-JSON) or its
            parsed JSON.
        bundles: ``(label, payload)`` items (:func:`.sources.bundle_sources`),
            read once, one at a time; credit-note files among them are
            verified as credit notes (``statement_credit_notes``).
        trust: the trust anchors (the only thing trusted).
        jobs: worker processes for the bundle checks (1: this process).
        skip_proofs: leave the Groth16 ``billing_proof`` check out of each
            bundle's verification (speed; the report says so in
            ``statement_bundles`` only by the check's absence, and the CLI
            flag is documented in docs/PROTOCOL.md §6).

    Returns:
        The report; never raises for a bad statement or bundle.

    Raises:
        StatementInputError: only from ``bundles`` itself (an unusable
            source), before any verdict.
    """
    report = StatementReport()
    parsed: list[StatementFile] = []

    def parse() -> None:
        if isinstance(statement_file, (bytes, bytearray)):
            parsed.append(StatementFile.from_bytes(statement_file))
        else:
            parsed.append(StatementFile.from_json(statement_file))

    _run(report, "statement_format", parse)
    if not parsed:
        return report
    st = report.statement = parsed[0]
    verifier = _bundle_verifier(trust, skip_proofs)
    _run(report, "statement_signature", lambda: _check_signature(st, trust))
    _run(report, "statement_log", lambda: _check_log(st, verifier))
    totals = _Totals(st)
    try:
        for facts in _facts_stream(bundles, trust, verifier, jobs, skip_proofs):
            totals.add(facts)
    except StatementInputError:
        raise
    except Exception as exc:  # fail closed: every bundle check fails
        totals.problem = exc
    report.bundles = {
        "given": totals.given,
        "valid": totals.valid,
        "invalid": totals.invalid_count,
        "foreign": totals.foreign_count,
    }
    report.invalid_bundles = [
        {"file": f.label, "receipt_id": f.receipt_id, "failed_checks": list(f.failed)}
        for f in totals.invalid
    ]
    report.credit_note_files = {
        "given": totals.credit_given,
        "valid": totals.credit_valid,
        "invalid": totals.credit_invalid.count,
        "foreign": totals.credit_foreign.count,
    }
    report.credit_notes = [
        {**note, "given": note["credit_note_id"] in totals.credits}
        for note in st.credit_notes
    ]
    _run(report, "statement_bundles", lambda: _check_bundles(totals))
    _run(report, "statement_foreign", lambda: _check_foreign(totals))
    _run(report, "statement_completeness", lambda: _check_completeness(totals))
    _run(report, "statement_lines", lambda: _check_lines(totals))
    _run(report, "statement_credit_notes", lambda: _check_credit_notes(totals))
    _run(report, "statement_total", lambda: _check_total(st))
    return report
