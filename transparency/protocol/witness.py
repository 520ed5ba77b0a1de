"""A C2SP tlog-witness: cosign a log's checkpoint only if it extends the last.

A witness keeps, per log, the last checkpoint it cosigned (``tree_size``,
``root_hash``). Shown a new signed checkpoint it checks, in order (C2SP
tlog-witness "add-checkpoint", applied to a checkpoint the witness fetched
itself):

1. the note is signed by the log's key (named after the origin) —
   :class:`WitnessBadSignature`;
2. the origin line is the log's origin — :class:`WitnessOriginMismatch`;
3. the size is not smaller than the last one — :class:`WitnessRollback`;
4. the same size carries the same root, and a larger size comes with an
   RFC 9162 §2.1.4 consistency proof from the last root —
   :class:`WitnessInconsistent`.

Only then does it sign a ``cosignature/v1`` (type 0x04, C2SP
tlog-cosignature) with its own Ed25519 key and a timestamp, and advance its
state. A witness without state trusts its first checkpoint (trust on first
use), as C2SP witnesses do for a newly configured log.

Django-free: keys, clock and the fetcher are arguments (CONVENTIONS.md §3).
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from transparency.protocol.checkpoint import CheckpointBody, parse_checkpoint
from transparency.protocol.errors import (
    CheckpointError,
    ConsistencyProofError,
    FetchError,
    LogResponseError,
    NoteError,
    WitnessBadSignature,
    WitnessFetchFailed,
    WitnessInconsistent,
    WitnessOriginMismatch,
    WitnessRollback,
    WitnessStateError,
)
from transparency.protocol.logapi import Fetcher, fetch_consistency_proof, fetch_head
from transparency.protocol.merkle import HASH_SIZE, verify_consistency
from transparency.protocol.note import (
    ED25519_TYPE,
    CosignatureSigner,
    NoteVerifier,
    open_note,
    sign_cosignature,
)

__all__ = [
    "Cosigned",
    "Witness",
    "WitnessState",
    "witness_checkpoint",
]


@dataclass(frozen=True)
class WitnessState:
    """The last checkpoint a witness cosigned for one log.

    Attributes:
        tree_size: its tree size (0 for "nothing yet" is allowed).
        root_hash: its 32-byte RFC 9162 root.
    """

    tree_size: int
    root_hash: bytes

    def __post_init__(self) -> None:
        """Check the field shapes.

        Raises:
            WitnessStateError: (``witness_state_invalid``, also a
                ``ValueError``) a size that is not a non-negative int or a
                root that is not 32 bytes.
        """
        if isinstance(self.tree_size, bool) or not isinstance(self.tree_size, int):
            raise WitnessStateError(
                f"tree_size must be an int, found {type(self.tree_size).__name__}",
                field="tree_size",
            )
        if self.tree_size < 0:
            raise WitnessStateError(
                f"tree_size must be >= 0, found {self.tree_size}", field="tree_size"
            )
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            found = (
                f"{len(self.root_hash)} bytes"
                if isinstance(self.root_hash, bytes)
                else type(self.root_hash).__name__
            )
            raise WitnessStateError(
                f"root_hash must be {HASH_SIZE} bytes, found {found}",
                field="root_hash",
            )

    def to_json(self) -> dict[str, Any]:
        """Return ``{"tree_size": int, "root_hash": lowercase hex}``."""
        return {"tree_size": self.tree_size, "root_hash": self.root_hash.hex()}

    @classmethod
    def from_json(cls, obj: Any) -> WitnessState:
        """Parse :meth:`to_json` output.

        Raises:
            WitnessStateError: (``witness_state_invalid``, also a
                ``ValueError``) on any other shape.
        """
        if not isinstance(obj, dict) or set(obj) != {"tree_size", "root_hash"}:
            found = sorted(obj) if isinstance(obj, dict) else type(obj).__name__
            raise WitnessStateError(
                f"witness state must be {{tree_size, root_hash}}, found {found}"
            )
        root = obj["root_hash"]
        try:
            root_hash = bytes.fromhex(root) if isinstance(root, str) else None
        except ValueError:
            root_hash = None
        if root_hash is None:
            raise WitnessStateError(
                f"root_hash must be hex, found {root!r}"[:200], field="root_hash"
            )
        return cls(tree_size=obj["tree_size"], root_hash=root_hash)


@dataclass(frozen=True)
class Cosigned:
    """What the witness produced for one checkpoint.

    Attributes:
        checkpoint: the parsed checkpoint body that was cosigned.
        checkpoint_text: its note text (what the cosignature covers).
        cosignature: one signature line ``"— name base64(...)\\n"`` (C2SP
            tlog-cosignature) to append to the log's signed note.
        timestamp: unix seconds in the cosignature.
        state: the witness state to persist (this checkpoint).
    """

    checkpoint: CheckpointBody
    checkpoint_text: str
    cosignature: str
    timestamp: int
    state: WitnessState


def _system_clock() -> int:
    return int(time.time())


def witness_checkpoint(
    signed_note: str,
    *,
    origin: str,
    log_verifier_keys: Iterable[str | NoteVerifier],
    signer: CosignatureSigner,
    state: WitnessState | None,
    consistency_proof: Sequence[bytes] | None,
    timestamp: int,
) -> Cosigned:
    """Check ``signed_note`` against the witness ``state``; cosign it.

    Args:
        signed_note: the log's signed checkpoint (extra cosignature lines by
            other witnesses are ignored).
        origin: the log's origin; its key must be named so (C2SP).
        log_verifier_keys: the log's 0x01 verifier keys (vkeys).
        signer: the witness's own 0x04 cosigner.
        state: the last cosigned checkpoint, or ``None`` (trust on first use).
        consistency_proof: PROOF(state.tree_size, D[new size]) when the new
            size is larger than a non-zero ``state.tree_size``; else ignored.
        timestamp: unix seconds to put in the cosignature.

    Returns:
        The :class:`Cosigned` line and the new state.

    Raises:
        WitnessBadSignature: malformed note or checkpoint body, or no valid
            signature by the log's key named ``origin``.
        WitnessOriginMismatch: the body's origin is not ``origin``.
        WitnessRollback: the size is smaller than ``state.tree_size``.
        WitnessInconsistent: same size and another root, a missing proof,
            or a consistency proof that fails.
    """
    try:
        note = open_note(signed_note, log_verifier_keys)
        checkpoint = parse_checkpoint(note.text)
    except (NoteError, CheckpointError) as exc:
        raise WitnessBadSignature(
            f"checkpoint note does not verify with the log's key: {exc.message}"
        ) from exc
    if checkpoint.origin != origin:
        raise WitnessOriginMismatch(
            f"checkpoint origin is {checkpoint.origin!r}, expected {origin!r}",
            field="origin",
        )
    if not any(s.name == origin and s.key_type == ED25519_TYPE for s in note.sigs):
        raise WitnessBadSignature(
            f"checkpoint has no valid signature by the log key named {origin!r}"
        )
    size, root = checkpoint.tree_size, checkpoint.root_hash
    if state is not None and state.tree_size > 0:
        if size < state.tree_size:
            raise WitnessRollback(
                f"checkpoint tree_size {size} is smaller than the last cosigned "
                f"tree_size {state.tree_size}",
                field="tree_size",
            )
        if size == state.tree_size:
            if root != state.root_hash:
                raise WitnessInconsistent(
                    f"checkpoint at tree_size {size} has root {root.hex()}, but "
                    f"the witness cosigned root {state.root_hash.hex()} at that "
                    "size (fork)",
                    field="root_hash",
                )
        else:
            if consistency_proof is None:
                raise WitnessInconsistent(
                    f"no consistency proof from tree_size {state.tree_size} to {size}"
                )
            try:
                verify_consistency(
                    state.tree_size, size, consistency_proof, state.root_hash, root
                )
            except ConsistencyProofError as exc:
                raise WitnessInconsistent(
                    f"checkpoint {size} is not consistent with the last cosigned "
                    f"checkpoint {state.tree_size}: {exc.message}"
                ) from exc
    line = sign_cosignature(note.text, signer, timestamp)
    return Cosigned(
        checkpoint=checkpoint,
        checkpoint_text=note.text,
        cosignature=line,
        timestamp=timestamp,
        state=WitnessState(tree_size=size, root_hash=root),
    )


class Witness:
    """A witness for one log, reading it through an injected fetcher.

    Example::

        w = Witness(origin=o, log_verifier_keys=[vkey], signer=me,
                    state=saved, fetch=http_fetcher("https://log.example"))
        cosigned = w.step()          # raises a WitnessError to refuse
        save(cosigned.state); submit(cosigned.cosignature)

    Attributes:
        state: the last cosigned checkpoint; :meth:`step` advances it.
    """

    def __init__(
        self,
        *,
        origin: str,
        log_verifier_keys: Iterable[str | NoteVerifier],
        signer: CosignatureSigner,
        state: WitnessState | None,
        fetch: Fetcher,
        clock: Callable[[], int] = _system_clock,
    ) -> None:
        """Configure the witness (see :func:`witness_checkpoint` for args);
        ``clock() -> unix seconds`` stamps each cosignature."""
        self.origin = origin
        self.log_verifier_keys = [
            k if isinstance(k, NoteVerifier) else NoteVerifier.from_vkey(k)
            for k in log_verifier_keys
        ]
        self.signer = signer
        self.state = state
        self.fetch = fetch
        self.clock = clock

    def step(self) -> Cosigned:
        """Fetch the log head, check it, cosign it and advance :attr:`state`.

        Returns:
            The :class:`Cosigned` result (its ``state`` is now
            :attr:`state`).

        Raises:
            WitnessFetchFailed: the log is unreachable, answers malformed
                JSON, or has no checkpoint yet.
            WitnessBadSignature, WitnessOriginMismatch, WitnessRollback,
            WitnessInconsistent: see :func:`witness_checkpoint`; the state
                is left unchanged and nothing is signed.
        """
        try:
            head = fetch_head(self.fetch)
        except (FetchError, LogResponseError) as exc:
            raise WitnessFetchFailed(f"cannot read the log head: {exc}") from exc
        if not head.checkpoint:
            raise WitnessFetchFailed("the log has no checkpoint yet")
        try:
            note = open_note(head.checkpoint, self.log_verifier_keys)
            size = parse_checkpoint(note.text).tree_size
        except (NoteError, CheckpointError) as exc:
            raise WitnessBadSignature(
                f"checkpoint note does not verify with the log's key: {exc.message}"
            ) from exc
        proof: list[bytes] | None = None
        state = self.state
        if state is not None and 0 < state.tree_size < size:
            try:
                proof = fetch_consistency_proof(self.fetch, state.tree_size, size)
            except (FetchError, LogResponseError) as exc:
                raise WitnessFetchFailed(
                    f"cannot read the consistency proof {state.tree_size} -> "
                    f"{size}: {exc}"
                ) from exc
        result = witness_checkpoint(
            head.checkpoint,
            origin=self.origin,
            log_verifier_keys=self.log_verifier_keys,
            signer=self.signer,
            state=state,
            consistency_proof=proof,
            timestamp=self.clock(),
        )
        self.state = result.state
        return result
