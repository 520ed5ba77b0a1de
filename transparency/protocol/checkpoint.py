"""C2SP tlog-checkpoint bodies (https://github.com/C2SP/C2SP/blob/main/tlog-checkpoint.md).

A checkpoint body is the text of a C2SP signed note::

    <origin>\\n
    <tree size, ASCII decimal>\\n
    <root hash, standard base64 with padding of 32 bytes>\\n
    [<extension line>\\n ...]

The parser is strict: it rejects what lenient peers accept (roots that are not
32 bytes, empty trailing lines, leading zeros). Signature verification of the
enclosing note lives in :mod:`transparency.protocol.note`; this module
imports no Django.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable
from dataclasses import dataclass

from kernel.protocol.shape import require_integer
from transparency.protocol.errors import CheckpointError
from transparency.protocol.merkle import HASH_SIZE
from transparency.protocol.note import ED25519_TYPE, Note, NoteVerifier, open_note

__all__ = ["MAX_TREE_SIZE", "CheckpointBody", "open_checkpoint", "parse_checkpoint"]

MAX_TREE_SIZE = (1 << 64) - 1
"""Largest tree size a checkpoint may state (uint64, as C2SP peers use)."""

_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _check_line(value: str, what: str) -> None:
    """A line is non-empty UTF-8 without control characters (so no newline)."""
    if not value:
        raise CheckpointError(f"checkpoint {what} is empty", field=what)
    for ch in value:
        if ch < " ":
            raise CheckpointError(
                f"checkpoint {what} contains control character U+{ord(ch):04X}",
                field=what,
            )
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        raise CheckpointError(
            f"checkpoint {what} is not valid UTF-8", field=what
        ) from None


@dataclass(frozen=True)
class CheckpointBody:
    """A C2SP tlog-checkpoint body: the note text, without signatures.

    Not the Django row :class:`transparency.models.Checkpoint`, which keeps a
    signed checkpoint (this body in a C2SP signed note) the log issued.

    Attributes:
        origin: the log's unique identity (first line), non-empty.
        tree_size: number of leaves, ``0 .. 2**64 - 1``.
        root_hash: 32-byte RFC 9162 root of the first ``tree_size`` leaves.
        extensions: optional extension lines, each non-empty, without newline.

    Raises:
        CheckpointError: on construction with any field out of those bounds.
    """

    origin: str
    tree_size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        """Validate the fields (see the class docstring)."""
        if not isinstance(self.origin, str):
            raise CheckpointError("checkpoint origin must be str", field="origin")
        _check_line(self.origin, "origin")
        require_integer(
            self.tree_size,
            error=CheckpointError,
            field="tree_size",
            maximum=MAX_TREE_SIZE,
            message="checkpoint tree_size must be an int, found {type}",
            range_message="checkpoint tree_size {value} is out of range 0 .. 2**64 - 1",
        )
        if not isinstance(self.root_hash, bytes) or len(self.root_hash) != HASH_SIZE:
            found = (
                len(self.root_hash)
                if isinstance(self.root_hash, bytes)
                else type(self.root_hash).__name__
            )
            raise CheckpointError(
                f"checkpoint root_hash must be {HASH_SIZE} bytes, found {found}",
                field="root_hash",
            )
        if not isinstance(self.extensions, tuple):
            raise CheckpointError(
                "checkpoint extensions must be a tuple of str", field="extensions"
            )
        for i, ext in enumerate(self.extensions):
            if not isinstance(ext, str):
                raise CheckpointError(
                    f"checkpoint extensions[{i}] must be str", field=f"extensions[{i}]"
                )
            _check_line(ext, f"extensions[{i}]")

    def to_text(self) -> str:
        """Return the body ``origin\\nsize\\nbase64(root)\\n[ext\\n...]``.

        The result is the note text to sign with
        :func:`transparency.protocol.note.sign_note`.
        """
        lines = [
            self.origin,
            str(self.tree_size),
            base64.b64encode(self.root_hash).decode("ascii"),
            *self.extensions,
        ]
        return "".join(line + "\n" for line in lines)


Checkpoint = CheckpointBody  # deprecated alias, removed in a later release


def parse_checkpoint(text: str) -> CheckpointBody:
    """Parse a C2SP tlog-checkpoint body strictly.

    Args:
        text: the note text (not the signed note): origin, decimal tree
            size, standard base64 root hash, then optional extension lines,
            every line ending in ``"\\n"``.

    Returns:
        The :class:`CheckpointBody`; ``parse_checkpoint(c.to_text()) == c``.

    Raises:
        CheckpointError: if the text does not end in a newline, has fewer
            than three lines, an empty origin or extension line (so no blank
            lines), a size that is not plain decimal (no sign, leading zero,
            space or hex) or exceeds 2**64 - 1, or a root that is not
            canonical padded standard base64 of exactly 32 bytes.
    """
    if not isinstance(text, str):
        raise CheckpointError(f"checkpoint must be str, found {type(text).__name__}")
    if not text.endswith("\n"):
        raise CheckpointError("checkpoint must end with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3:
        raise CheckpointError(
            f"checkpoint has {len(lines)} lines, expected at least 3 "
            "(origin, tree size, root hash)"
        )
    origin, size_text, root_text, *extensions = lines
    _check_line(origin, "origin")
    if not _DECIMAL.fullmatch(size_text):
        raise CheckpointError(
            f"checkpoint tree size {size_text!r} is not a decimal without sign "
            "or leading zeros",
            field="tree_size",
        )
    tree_size = int(size_text)
    if tree_size > MAX_TREE_SIZE:
        raise CheckpointError(
            f"checkpoint tree size {size_text} exceeds 2**64 - 1", field="tree_size"
        )
    try:
        root = base64.b64decode(root_text.encode("ascii"), validate=True)
    except (binascii.Error, UnicodeEncodeError, ValueError):
        raise CheckpointError(
            f"checkpoint root hash {root_text!r} is not standard base64",
            field="root_hash",
        ) from None
    if base64.b64encode(root).decode("ascii") != root_text:
        raise CheckpointError(
            f"checkpoint root hash {root_text!r} is not canonical padded base64",
            field="root_hash",
        )
    if len(root) != HASH_SIZE:
        raise CheckpointError(
            f"checkpoint root hash has {len(root)} bytes, expected {HASH_SIZE}",
            field="root_hash",
        )
    return CheckpointBody(
        origin=origin,
        tree_size=tree_size,
        root_hash=root,
        extensions=tuple(extensions),
    )


def open_checkpoint(
    signed_note: str | bytes,
    origin: str,
    verifier_keys: Iterable[str | NoteVerifier],
) -> tuple[CheckpointBody, Note]:
    """Verify a signed checkpoint from log ``origin``; return it and the note.

    The note must verify (:func:`transparency.protocol.note.open_note`), its
    body must parse, its origin line must equal ``origin``, and at least one
    verified 0x01 signature must be by a key *named* ``origin`` (C2SP
    tlog-checkpoint: the log's key name is the origin). Other verified
    signatures, e.g. tlog-cosignatures by witnesses, are returned in the note.

    Raises:
        NoteError: any :func:`open_note` failure (malformed note, bad or no
            known signature, bad verifier key).
        CheckpointError: malformed body, origin mismatch, or no verified
            signature by the log's own key.
    """
    note = open_note(signed_note, verifier_keys)
    checkpoint = parse_checkpoint(note.text)
    if checkpoint.origin != origin:
        raise CheckpointError(
            f"checkpoint origin is {checkpoint.origin!r}, expected {origin!r}",
            field="origin",
        )
    if not any(
        sig.name == origin and sig.key_type == ED25519_TYPE for sig in note.sigs
    ):
        raise CheckpointError(
            f"checkpoint has no verified signature by the log key named {origin!r}; "
            f"verified: {sorted(sig.name for sig in note.sigs)}"
        )
    return checkpoint, note
