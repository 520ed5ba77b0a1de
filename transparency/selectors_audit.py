"""Reads behind the auditor web UI (``/audit/``): log head, checkpoints,
entries and the verdicts of checking them.

Every verdict comes from the Django-free verifiers, fed with the published
trust anchors (``billing.selectors.trust_anchors_get``): signed notes are
opened with :func:`transparency.protocol.note.open_note` /
:func:`transparency.protocol.checkpoint.open_checkpoint`, proofs checked with
:func:`transparency.protocol.merkle.verify_inclusion` /
:func:`~transparency.protocol.merkle.verify_consistency`, bundles with
:func:`billing.protocol.verify.verify_bundle` (the one bundle verifier). The
UI spans both apps, so this module may import billing's selectors; nothing
here writes.

A verdict is a list of :class:`billing.protocol.verify.CheckResult` (``name``,
``status`` pass/fail/skip, ``code``, ``message``); any exception of a
verifier is a failed check (fail closed).
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from django.conf import settings
from django.db.models import QuerySet
from django.utils import timezone

from billing.models import Bundle, Tenant
from billing.protocol.trust import TrustAnchors
from billing.protocol.verify import CheckResult, VerificationReport
from kernel.protocol.errors import MeterproofError
from transparency.errors import InvalidParameter
from transparency.models import Checkpoint, LogEntry, QueuedEntry
from transparency.protocol.checkpoint import open_checkpoint
from transparency.protocol.errors import UnknownVerifierError
from transparency.protocol.merkle import leaf_hash, verify_consistency, verify_inclusion
from transparency.protocol.note import COSIGNATURE_TYPE, open_note
from transparency.selectors import (
    checkpoint_latest,
    checkpoint_note,
    consistency_proof_get,
    inclusion_proof_get,
    log_entry_get,
)

AUDITORS_GROUP = "auditors"
"""Name of the Django group whose members may use the auditor UI."""

_HEX64 = re.compile(r"[0-9a-fA-F]{64}")
_RECEIPT = re.compile(r"rcpt_[0-9a-f]{1,64}")
_SLUG = re.compile(r"[-a-zA-Z0-9_]{1,50}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,17}")


# --------------------------------------------------------------------------
# Verdicts
# --------------------------------------------------------------------------


def _check(name: str, fn: Callable[[], str | None]) -> CheckResult:
    """Run one named check: pass with ``fn``'s message, fail on any error."""
    try:
        message = fn()
    except MeterproofError as exc:
        return CheckResult(name, "fail", exc.code, exc.message)
    except Exception as exc:  # fail closed: every exception is a failure
        return CheckResult(name, "fail", type(exc).__name__, str(exc))
    return CheckResult(name, "pass", None, message)


def verdict_ok(checks: list[CheckResult]) -> bool:
    """Return True iff at least one check ran and none failed."""
    ran = [c for c in checks if c.status != "skip"]
    return bool(ran) and all(c.status == "pass" for c in ran)


@dataclass(frozen=True)
class AuditTrust:
    """What the UI checks against: the log's origin and note keys.

    Attributes:
        anchors: the published trust anchors, or ``None`` if the server has
            no keys (every verdict then fails with ``problem``).
        problem: why ``anchors`` is ``None``.
    """

    anchors: TrustAnchors | None
    problem: str | None = None

    @property
    def origin(self) -> str:
        """The log origin the anchors name ('' when unknown)."""
        return (self.anchors.log_origin or "") if self.anchors else ""

    @property
    def log_keys(self) -> tuple[str, ...]:
        """C2SP 0x01 vkeys of the log operator (current and retired)."""
        return self.anchors.log_verifier_keys if self.anchors else ()

    @property
    def witness_keys(self) -> tuple[str, ...]:
        """C2SP 0x04 vkeys of the witnesses: the anchors' and the configured."""
        extra = tuple(getattr(settings, "VDI_BILLING_LOG_WITNESS_KEYS", ()) or ())
        mine = self.anchors.log_witnesses if self.anchors else ()
        return tuple(dict.fromkeys((*mine, *extra)))


def audit_trust_get() -> AuditTrust:
    """Return the published trust anchors for the UI's verdicts (never raises:
    a server without keys yields an :class:`AuditTrust` with ``problem``)."""
    from billing.selectors import trust_anchors_get

    try:
        return AuditTrust(trust_anchors_get())
    except Exception as exc:  # SigningKeysUnconfigured, bad key config
        return AuditTrust(None, getattr(exc, "message", str(exc)))


def _open_signed_checkpoint(note: str, trust: AuditTrust) -> Any:
    """Return the parsed checkpoint of ``note`` opened with the log's keys.

    Raises:
        MeterproofError: bad or missing log signature, malformed note.
        RuntimeError: no trust anchors.
    """
    if trust.anchors is None:
        raise RuntimeError(f"no trust anchors: {trust.problem}")
    checkpoint, _ = open_checkpoint(note, trust.origin, trust.log_keys)
    return checkpoint


# --------------------------------------------------------------------------
# Checkpoints and cosignatures
# --------------------------------------------------------------------------


@dataclass(frozen=True)
class SignatureLine:
    """One signature line of a checkpoint's served note, checked alone.

    Attributes:
        name: key name on the line.
        key_id: 4-byte key ID, lowercase hex ('' if unreadable).
        role: ``log`` (0x01 by a log key), ``witness`` (0x04) or ``unknown``.
        status: ``verified``, ``unknown_key`` (no trusted key has that name
            and ID) or ``invalid`` (a trusted key, a bad signature).
        timestamp: cosignature time (UTC) when verified, else ``None``.
        message: why it is not verified.
    """

    name: str
    key_id: str
    role: str
    status: str
    timestamp: datetime | None = None
    message: str = ""


def _line_id(line: str) -> tuple[str, str]:
    """Return (name, key ID hex) written on a signature line, for display."""
    name, _, b64 = line.removeprefix("\u2014 ").partition(" ")
    try:
        raw = base64.b64decode(b64, validate=True)
    except ValueError:
        raw = b""
    return name, raw[:4].hex()


def signature_lines_check(note: str, trust: AuditTrust) -> list[SignatureLine]:
    """Return every signature line of ``note`` (a signed note), each opened
    alone with the log and witness keys of ``trust``.

    One bad cosignature therefore does not hide the others. Spec: C2SP
    signed-note, tlog-cosignature.
    """
    split = note.rfind("\n\n")
    if split < 0 or not note.endswith("\n"):
        return []
    text, block = note[: split + 1], note[split + 2 :]
    keys = (*trust.log_keys, *trust.witness_keys)
    out = []
    for line in block[:-1].split("\n"):
        name, kid = _line_id(line)
        try:
            opened = open_note(f"{text}\n{line}\n", keys)
        except UnknownVerifierError:
            out.append(
                SignatureLine(
                    name,
                    kid,
                    "unknown",
                    "unknown_key",
                    message="no trusted key has this name and key ID",
                )
            )
            continue
        except MeterproofError as exc:
            out.append(
                SignatureLine(name, kid, "unknown", "invalid", message=exc.message)
            )
            continue
        sig = opened.sigs[0]
        witness = sig.key_type == COSIGNATURE_TYPE
        out.append(
            SignatureLine(
                sig.name,
                sig.key_id.hex(),
                "witness" if witness else "log",
                "verified",
                timestamp=datetime.fromtimestamp(sig.timestamp, UTC)
                if sig.timestamp is not None
                else None,
            )
        )
    return out


@dataclass
class CheckpointAudit:
    """A stored checkpoint as the auditor sees it.

    Attributes:
        checkpoint: the row.
        root_b64: its root hash, standard base64 (as in the note).
        note: the served signed note (log signature plus cosignatures).
        signatures: every signature line, checked alone.
        checks: ``checkpoint_signature`` (the log's own note opens with the
            trusted log keys) and ``checkpoint_matches_row`` (the signed size
            and root equal the stored columns).
    """

    checkpoint: Checkpoint
    root_b64: str
    note: str
    signatures: list[SignatureLine]
    checks: list[CheckResult] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        """True iff every check passed."""
        return verdict_ok(self.checks)

    @property
    def witness_count(self) -> int:
        """How many verified witness cosignatures the note carries."""
        return sum(
            1 for s in self.signatures if s.role == "witness" and s.status == "verified"
        )


def checkpoint_audit(checkpoint: Checkpoint, trust: AuditTrust) -> CheckpointAudit:
    """Return ``checkpoint`` with its signature verdicts (never raises)."""
    note = checkpoint_note(checkpoint)
    parsed: dict[str, Any] = {}

    def signature() -> str:
        parsed["c"] = _open_signed_checkpoint(checkpoint.note, trust)
        return f"signed by the log key named {trust.origin}"

    def matches_row() -> str:
        if "c" not in parsed:
            raise RuntimeError("the signed note did not open")
        c = parsed["c"]
        if (
            c.tree_size != checkpoint.tree_size
            or c.root_hash.hex() != checkpoint.root_hash
        ):
            raise RuntimeError(
                f"the note signs size {c.tree_size}, root {c.root_hash.hex()}; the "
                f"row says size {checkpoint.tree_size}, root {checkpoint.root_hash}"
            )
        return "the note's size and root equal the stored row"

    checks = [
        _check("checkpoint_signature", signature),
        _check("checkpoint_matches_row", matches_row),
    ]
    try:
        root_b64 = base64.b64encode(bytes.fromhex(checkpoint.root_hash)).decode()
    except ValueError:
        root_b64 = "(not hex)"
    return CheckpointAudit(
        checkpoint=checkpoint,
        root_b64=root_b64,
        note=note,
        signatures=signature_lines_check(note, trust),
        checks=checks,
    )


@dataclass
class HeadAudit:
    """The log head page: the latest checkpoint and its freshness.

    Attributes:
        latest: the latest checkpoint's audit, ``None`` for an empty log.
        tree_size: the sequencer's head size (may run ahead of ``latest``).
        queued: leaves accepted but not yet sequenced.
        age: time since ``latest`` was signed.
        stale_after: the age beyond which the head counts as stale
            (twice ``VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC``).
        checkpoint_count: how many checkpoints the log has signed.
        beat: whether Celery beat is expected to re-sign the head
            (``VDI_CELERY_BEAT``).
        queued_age: how long the oldest queued leaf has waited, ``None``
            when nothing is queued.
    """

    latest: CheckpointAudit | None
    tree_size: int
    queued: int
    age: timedelta | None
    stale_after: timedelta
    checkpoint_count: int
    trust: AuditTrust
    beat: bool = True
    queued_age: timedelta | None = None

    @property
    def stale(self) -> bool:
        """True if the log has stopped doing its periodic work.

        With beat (production), the head is re-signed every interval even
        when idle, so a newest checkpoint older than ``stale_after`` means
        the signer stopped (RFC 6962 §3.5's maximum merge delay idea).
        Without beat (development), nothing re-signs an idle log, so age
        alone proves nothing: the head is stale only if a leaf has waited
        in the queue longer than ``stale_after``.
        """
        if self.beat:
            return self.age is not None and self.age > self.stale_after
        return self.queued_age is not None and self.queued_age > self.stale_after


def head_audit_get(*, now: datetime | None = None) -> HeadAudit:
    """Return the log head with its verdicts and freshness (``now`` injectable)."""
    from transparency.models import LogState

    now = now or timezone.now()
    trust = audit_trust_get()
    latest = checkpoint_latest()
    state = LogState.objects.filter(id=1).first()
    interval = int(getattr(settings, "VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC", 60))
    oldest = QueuedEntry.objects.order_by("id").values_list("queued_at", flat=True)
    oldest_queued = oldest.first()
    return HeadAudit(
        latest=checkpoint_audit(latest, trust) if latest else None,
        tree_size=state.tree_size if state else 0,
        queued=QueuedEntry.objects.count(),
        age=(now - latest.signed_at) if latest else None,
        stale_after=timedelta(seconds=2 * interval),
        checkpoint_count=Checkpoint.objects.count(),
        trust=trust,
        beat=bool(settings.VDI_CELERY_BEAT),
        queued_age=(now - oldest_queued) if oldest_queued else None,
    )


def checkpoint_history() -> QuerySet[Checkpoint]:
    """Return every checkpoint, newest first, with its cosignature count
    (``cosignature_count``)."""
    from django.db.models import Count

    return Checkpoint.objects.annotate(
        cosignature_count=Count("cosignatures")
    ).order_by("-signed_at", "-tree_size", "-id")


def checkpoint_sizes() -> list[int]:
    """Return the distinct signed tree sizes, largest first (for pickers)."""
    return list(
        Checkpoint.objects.order_by("-tree_size")
        .values_list("tree_size", flat=True)
        .distinct()
    )


# --------------------------------------------------------------------------
# Entries
# --------------------------------------------------------------------------


@dataclass
class EntrySearch:
    """The result of an entry search.

    Attributes:
        kind: ``all``, ``leaf_hash``, ``receipt_id``, ``tenant`` or
            ``leaf_index``.
        entries: matching sequenced entries, newest first (lazy).
        message: an explanation when nothing matched or the input was
            malformed ('' otherwise).
        error: True when the input was malformed.
    """

    kind: str
    entries: QuerySet[LogEntry]
    message: str = ""
    error: bool = False


def _signed_entries() -> QuerySet[LogEntry]:
    latest = checkpoint_latest()
    size = latest.tree_size if latest else 0
    return (
        LogEntry.objects.filter(leaf_index__lt=size)
        .only("leaf_index", "leaf_hash", "created_at")
        .order_by("-leaf_index")
    )


def entry_search(*, query: str = "") -> EntrySearch:
    """Return the entries matching ``query``, newest first.

    ``query`` is one of: empty (every entry under the latest checkpoint), a
    leaf hash (64 hex digits), a receipt id (``rcpt_`` + hex), a leaf index
    (decimal) or a tenant slug (that tenant's bundles' entries). Never raises
    for user input: malformed input yields ``error`` and a ``message``.
    """
    query = query.strip()
    entries = _signed_entries()
    none = entries.none()
    if not query:
        return EntrySearch(
            "all", entries, "" if entries.exists() else "The log is empty."
        )
    if len(query) > 200:
        return EntrySearch(
            "invalid",
            none,
            "The search text is too long (at most 200 characters).",
            True,
        )
    if _HEX64.fullmatch(query):
        found = entries.filter(leaf_hash=query.lower())
        message = ""
        if not found.exists():
            if QueuedEntry.objects.filter(leaf_hash=query.lower()).exists():
                message = "That leaf is accepted but still queued: it is not yet sequenced or signed."
            elif LogEntry.objects.filter(leaf_hash=query.lower()).exists():
                message = (
                    "That leaf is sequenced but not yet covered by a signed checkpoint."
                )
            else:
                message = f"No log entry has leaf hash {query.lower()}."
        return EntrySearch("leaf_hash", found, message)
    if query.startswith("rcpt_"):
        if not _RECEIPT.fullmatch(query):
            return EntrySearch(
                "receipt_id",
                none,
                "A receipt id is 'rcpt_' followed by lowercase hex digits.",
                True,
            )
        leaf = (
            Bundle.objects.filter(receipt_id=query)
            .values_list("leaf_hash", flat=True)
            .first()
        )
        if leaf is None:
            return EntrySearch("receipt_id", none, f"No bundle has receipt id {query}.")
        found = entries.filter(leaf_hash=leaf)
        return EntrySearch(
            "receipt_id",
            found,
            ""
            if found.exists()
            else f"The bundle {query} is not yet in a signed checkpoint.",
        )
    if _DECIMAL.fullmatch(query):
        found = entries.filter(leaf_index=int(query))
        return EntrySearch(
            "leaf_index",
            found,
            "" if found.exists() else f"No signed entry has leaf index {query}.",
        )
    if _SLUG.fullmatch(query):
        tenant = Tenant.objects.filter(slug=query).first()
        if tenant is None:
            return EntrySearch("tenant", none, f"No tenant has the slug {query!r}.")
        leaves = Bundle.objects.filter(tenant=tenant, leaf_hash__isnull=False).values(
            "leaf_hash"
        )
        found = entries.filter(leaf_hash__in=leaves)
        return EntrySearch(
            "tenant",
            found,
            ""
            if found.exists()
            else f"Tenant {query} has no entries in the signed log yet.",
        )
    return EntrySearch(
        "invalid",
        none,
        "Search for a leaf hash (64 hex digits), a receipt id (rcpt_…), a leaf "
        "index or a tenant slug (letters, digits, '-' and '_').",
        True,
    )


def entry_bundles_get(*, leaf_hashes: list[str]) -> dict[str, dict[str, str]]:
    """Return ``{leaf_hash: {receipt_id, tenant}}`` for the bundles of these
    leaves (one query)."""
    rows = Bundle.objects.filter(leaf_hash__in=leaf_hashes).values_list(
        "leaf_hash", "receipt_id", "tenant__slug"
    )
    return {h: {"receipt_id": r, "tenant": t} for h, r, t in rows}


@dataclass
class EntryAudit:
    """An entry with its bundle, inclusion proof and verdicts.

    Attributes:
        entry: the stored leaf.
        data_pretty: the stored data as indented JSON (or raw if not JSON).
        recomputed_leaf_hash: SHA-256(0x00 || data), lowercase hex.
        proof: inclusion proof hashes (lowercase hex) against ``checkpoint``.
        checkpoint: the latest checkpoint's audit (``None`` if no proof).
        checks: ``leaf_hash_matches_data``, ``checkpoint_signature`` and
            ``inclusion_proof`` (RFC 9162 §2.1.3.2 against the signed root).
        receipt_id, tenant: of the bundle stored for this leaf, if any.
        bundle_pretty: that bundle (with current log evidence), indented.
        report: :func:`billing.protocol.verify.verify_bundle`'s report on
            the bundle, ``None`` without a bundle.
        bundle_problem: why the bundle could not be verified at all.
        revocation: the strict profile's ``not_revoked`` check on the bundle
            against the revocation snapshot in force (``skip`` when there is
            none), whatever profile ``report`` ran; ``None`` without a bundle.
    """

    entry: LogEntry
    data_pretty: str
    recomputed_leaf_hash: str
    proof: list[str]
    checkpoint: CheckpointAudit | None
    checks: list[CheckResult]
    receipt_id: str | None = None
    tenant: str | None = None
    bundle_pretty: str = ""
    report: VerificationReport | None = None
    bundle_problem: str = ""
    revocation: CheckResult | None = None

    @property
    def ok(self) -> bool:
        """True iff the log checks passed, the bundle (if any) verified, and
        neither it nor a key that signed it is revoked."""
        return (
            verdict_ok(self.checks)
            and (self.report is None or self.report.ok)
            and (self.revocation is None or self.revocation.status != "fail")
        )

    @property
    def every_check_passed(self) -> bool:
        """True iff :attr:`ok` and revocation was checked (and passed), the
        only case the page may say the bundle "passes every check"."""
        return self.ok and (
            self.report is None
            or (self.revocation is not None and self.revocation.status == "pass")
        )


def bundle_report_get(*, bundle_json: Any, trust: AuditTrust) -> VerificationReport:
    """Return :func:`billing.protocol.verify.verify_bundle`'s report on
    ``bundle_json`` under the server's profile (``VDI_BILLING_VERIFY_PROFILE``),
    with the revocation snapshot the strict profile needs, as
    ``POST /api/vdi/billing/verify`` does.

    Raises:
        RuntimeError: no trust anchors.
        ValueError: an unsupported profile name.
    """
    from billing.protocol.verify import resolve_profile, verify_bundle
    from billing.selectors import verification_options_get

    if trust.anchors is None:
        raise RuntimeError(f"no trust anchors: {trust.problem}")
    profile = resolve_profile(str(settings.VDI_BILLING_VERIFY_PROFILE))
    options, _ = verification_options_get(profile=profile)
    return verify_bundle(bundle_json, trust.anchors, profile=profile, **options)


def entry_audit_get(*, leaf_index: int) -> EntryAudit:
    """Return entry ``leaf_index`` with its proof against the latest checkpoint
    and every verdict.

    The inclusion check hashes the *stored data* (not the stored
    ``leaf_hash``), reads the proof from the stored nodes and checks it
    against the root in the latest checkpoint's signed note, so a change to
    either the data or a node shows as a failed check.

    Raises:
        LeafNotFound: no sequenced entry ``leaf_index``.
    """
    entry = log_entry_get(leaf_index=leaf_index)
    trust = audit_trust_get()
    data = entry.data
    try:
        data_pretty = json.dumps(json.loads(data), indent=2, ensure_ascii=False)
    except ValueError:
        data_pretty = data
    recomputed = leaf_hash(data.encode("utf-8")).hex()

    def leaf_matches() -> str:
        if recomputed != entry.leaf_hash:
            raise RuntimeError(
                f"SHA-256(0x00 || data) is {recomputed}, the stored leaf_hash is "
                f"{entry.leaf_hash}: the stored data was changed"
            )
        return "SHA-256(0x00 || data) equals the stored leaf_hash"

    checks = [_check("leaf_hash_matches_data", leaf_matches)]
    proof: list[bytes] = []
    audit: CheckpointAudit | None = None
    try:
        proof, latest = inclusion_proof_get(leaf_index=leaf_index)
    except MeterproofError as exc:
        checks.append(CheckResult("inclusion_proof", "fail", exc.code, exc.message))
    else:
        audit = checkpoint_audit(latest, trust)
        signed: dict[str, Any] = {}

        def signature() -> str:
            signed["c"] = _open_signed_checkpoint(checkpoint_note(latest), trust)
            return (
                f"checkpoint of size {signed['c'].tree_size} signed by {trust.origin}"
            )

        def inclusion() -> str:
            if "c" not in signed:
                raise RuntimeError("no signed root to check against")
            c = signed["c"]
            verify_inclusion(
                bytes.fromhex(recomputed), leaf_index, c.tree_size, proof, c.root_hash
            )
            return (
                f"{len(proof)} hashes lead from the leaf to the signed root of "
                f"tree size {c.tree_size} (RFC 9162 §2.1.3.2)"
            )

        checks += [
            _check("checkpoint_signature", signature),
            _check("inclusion_proof", inclusion),
        ]

    result = EntryAudit(
        entry=entry,
        data_pretty=data_pretty,
        recomputed_leaf_hash=recomputed,
        proof=[p.hex() for p in proof],
        checkpoint=audit,
        checks=checks,
    )
    row = (
        Bundle.objects.filter(leaf_hash=entry.leaf_hash)
        .values_list("receipt_id", "tenant__slug")
        .first()
    )
    if row is not None:
        from billing.selectors import bundle_get

        result.receipt_id, result.tenant = row
        try:
            bundle = bundle_get(receipt_id=row[0])
            result.bundle_pretty = json.dumps(bundle, indent=2, ensure_ascii=False)
            result.report = bundle_report_get(bundle_json=bundle, trust=trust)
            result.revocation = bundle_revocation_get(
                bundle_json=bundle, report=result.report
            )
        except Exception as exc:  # shown, never a 500
            result.bundle_problem = getattr(exc, "message", str(exc))
    return result


def bundle_revocation_get(
    *, bundle_json: Any, report: VerificationReport
) -> CheckResult:
    """Return the ``not_revoked`` verdict on a bundle: ``report``'s own when
    it ran the strict profile, else the strict check run against the
    revocation snapshot in force
    (:func:`billing.selectors.bundle_revocation_check`)."""
    from billing.selectors import bundle_revocation_check

    for check in report.checks:
        if check.name == "not_revoked":
            return check
    return bundle_revocation_check(bundle_json=bundle_json)


def entry_neighbours(*, leaf_index: int) -> tuple[int | None, int | None]:
    """Return the (previous, next) signed leaf indices around ``leaf_index``."""
    latest = checkpoint_latest()
    size = latest.tree_size if latest else 0
    return (
        leaf_index - 1 if 0 < leaf_index <= size else None,
        leaf_index + 1 if leaf_index + 1 < size else None,
    )


# --------------------------------------------------------------------------
# Consistency
# --------------------------------------------------------------------------


@dataclass
class ConsistencyAudit:
    """A consistency proof between two signed checkpoints and its verdict.

    Attributes:
        old, new: the two checkpoints' audits.
        proof: RFC 9162 §2.1.4 proof hashes, lowercase hex.
        checks: ``first_checkpoint_signature``, ``second_checkpoint_signature``
            and ``consistency_proof`` (RFC 9162 §2.1.4.2 against both signed
            roots).
    """

    old: CheckpointAudit
    new: CheckpointAudit
    proof: list[str]
    checks: list[CheckResult]

    @property
    def ok(self) -> bool:
        """True iff every check passed."""
        return verdict_ok(self.checks)


def consistency_audit_get(*, first: int, second: int | None = None) -> ConsistencyAudit:
    """Return the consistency proof from tree size ``first`` to ``second``
    (default: the latest) and the verdict of checking it against both signed
    roots (each note opened with the trusted log keys).

    Raises:
        TreeSizeOutOfRange, CheckpointNotFound: as
            :func:`transparency.selectors.consistency_proof_get`.
    """
    proof, old, new = consistency_proof_get(first=first, second=second)
    trust = audit_trust_get()
    signed: dict[str, Any] = {}

    def opener(key: str, checkpoint: Checkpoint) -> Callable[[], str]:
        def run() -> str:
            signed[key] = _open_signed_checkpoint(checkpoint_note(checkpoint), trust)
            return f"size {signed[key].tree_size}, signed by {trust.origin}"

        return run

    def consistency() -> str:
        if "old" not in signed or "new" not in signed:
            raise RuntimeError("both checkpoints must open before the proof is checked")
        a, b = signed["old"], signed["new"]
        verify_consistency(a.tree_size, b.tree_size, proof, a.root_hash, b.root_hash)
        return (
            f"{len(proof)} hashes show tree size {a.tree_size} is a prefix of tree "
            f"size {b.tree_size} (RFC 9162 §2.1.4.2)"
        )

    checks = [
        _check("first_checkpoint_signature", opener("old", old)),
        _check("second_checkpoint_signature", opener("new", new)),
        _check("consistency_proof", consistency),
    ]
    return ConsistencyAudit(
        old=checkpoint_audit(old, trust),
        new=checkpoint_audit(new, trust),
        proof=[p.hex() for p in proof],
        checks=checks,
    )


def tree_size_param(raw: str | None, name: str) -> int | None:
    """Return the decimal ``raw`` as an int, ``None`` if empty.

    Raises:
        InvalidParameter: not a non-negative decimal integer.
    """
    if raw is None or raw.strip() == "":
        return None
    raw = raw.strip()
    if not _DECIMAL.fullmatch(raw):
        raise InvalidParameter(
            f"{name} must be a tree size (a non-negative decimal integer), found {raw[:40]!r}",
            field=name,
        )
    return int(raw)


__all__ = [
    "AUDITORS_GROUP",
    "AuditTrust",
    "CheckpointAudit",
    "ConsistencyAudit",
    "EntryAudit",
    "EntrySearch",
    "HeadAudit",
    "SignatureLine",
    "audit_trust_get",
    "bundle_report_get",
    "checkpoint_audit",
    "checkpoint_history",
    "checkpoint_sizes",
    "consistency_audit_get",
    "entry_audit_get",
    "entry_bundles_get",
    "entry_neighbours",
    "entry_search",
    "head_audit_get",
    "signature_lines_check",
    "tree_size_param",
    "verdict_ok",
]
