"""``verify_statement``: a statement and its bundles, checked offline
(docs/PROTOCOL.md §13.3, design D4).

Named checks, in report order, each fail closed (an exception inside a
check is a failed check with the exception's code, ``internal_error`` when
it is not a protocol error):

``statement_format`` · ``statement_signature`` · ``statement_log`` ·
``statement_bundles`` · ``statement_foreign`` · ``statement_completeness`` ·
``statement_lines`` · ``statement_total``.

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
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from dataclasses import dataclass, field
from typing import Any, Final

from kernel.protocol.ed25519 import verify_object
from kernel.protocol.errors import ProtocolError
from kernel.protocol.verdict import CheckResult, verdict_ok
from transparency.protocol.merkle import verify_inclusion

from ..bundle import Bundle, attestation_leaf_hash
from ..contexts import CONTEXT_STATEMENT
from ..errors import CheckFailed, UnknownKeyError
from ..tariff import TariffDocument
from ..trust import TrustAnchors
from ..verify import PROFILE_STANDARD, BundleVerifier, VerificationReport
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


def bundle_facts(
    verifier: BundleVerifier,
    label: str,
    payload: BundlePayload,
    sent_tariffs: set[str],
) -> BundleFacts:
    """Verify one bundle and return its :class:`BundleFacts`; never raises
    for a bad bundle (an unreadable file fails ``bundle_format``).

    ``sent_tariffs`` holds the tariff hashes already returned with their
    JSON by this process (updated in place).
    """
    try:
        data = read_payload(payload)
    except OSError as exc:
        return BundleFacts(label, False, (f"bundle_format: {exc.strerror}",))
    try:
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
    """

    checks: list[CheckResult] = field(default_factory=list)
    statement: StatementFile | None = None
    bundles: dict[str, int] = field(default_factory=dict)
    invalid_bundles: list[dict[str, Any]] = field(default_factory=list)

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
        amount_minor, receipts_count, bundles, checks, invalid_bundles}``
        (statement members ``null`` when the file did not parse)."""
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

    def require_complete(self) -> None:
        """Re-raise the error that stopped reading the bundles, if any."""
        if self.problem is not None:
            raise self.problem

    def add(self, facts: BundleFacts) -> None:
        """Fold one bundle's facts into the totals."""
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


_WORKER: tuple[BundleVerifier, set[str]] | None = None


def _init_worker(trust_json: Any, skip_proofs: bool) -> None:
    global _WORKER
    verifier = _bundle_verifier(TrustAnchors.from_json(trust_json), skip_proofs)
    _WORKER = (verifier, set())


def _facts_chunk(chunk: list[tuple[str, BundlePayload]]) -> list[BundleFacts]:
    assert _WORKER is not None
    verifier, sent = _WORKER
    return [bundle_facts(verifier, label, payload, sent) for label, payload in chunk]


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
        for label, payload in bundles:
            yield bundle_facts(verifier, label, payload, sent)
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
            read once, one at a time.
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
    _run(report, "statement_bundles", lambda: _check_bundles(totals))
    _run(report, "statement_foreign", lambda: _check_foreign(totals))
    _run(report, "statement_completeness", lambda: _check_completeness(totals))
    _run(report, "statement_lines", lambda: _check_lines(totals))
    _run(report, "statement_total", lambda: _check_total(st))
    return report
