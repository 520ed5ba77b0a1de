"""Where ``verify-statement`` reads bundles from: a directory of ``*.json``
files or one ``.jsonl`` file (one bundle per line), one at a time.

Each item is ``(label, payload)``: ``label`` names the bundle in reports
(the file path, or ``FILE.jsonl:<line number>``) and ``payload`` is either a
:class:`~pathlib.Path` to read (directories: the worker process reads it) or
the bundle's JSON bytes (``.jsonl`` lines). Nothing is held beyond the
current item.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from .errors import StatementInputError

__all__ = ["BundlePayload", "bundle_sources", "read_payload"]

#: A bundle to verify: a file to read or the bundle's JSON bytes.
BundlePayload = Path | bytes


def bundle_sources(
    path: Path, *, exclude: frozenset[Path] = frozenset()
) -> Iterator[tuple[str, BundlePayload]]:
    """Yield the bundles under ``path``: every ``*.json`` file of a directory
    (recursively, sorted by path; ``exclude`` lists resolved paths to skip,
    such as the statement and trust files) or every non-blank line of a
    ``.jsonl`` file.

    Raises:
        StatementInputError: (``statement_input_unusable``) ``path`` does
            not exist, is neither a directory nor a ``.jsonl`` file, or the
            ``.jsonl`` file cannot be read.
    """
    if path.is_dir():
        for item in sorted(path.rglob("*.json")):
            if item.resolve() not in exclude:
                yield str(item), item
        return
    if not path.is_file():
        raise StatementInputError(
            f"no such directory or .jsonl file: {path}", field="bundles"
        )
    if path.suffix != ".jsonl":
        raise StatementInputError(
            f"--bundles takes a directory of *.json files or a .jsonl file, "
            f"found {path}",
            field="bundles",
        )
    try:
        handle = path.open("rb")
    except OSError as exc:
        raise StatementInputError(
            f"cannot read {path}: {exc.strerror}", field="bundles"
        ) from exc
    with handle:
        for number, line in enumerate(handle, start=1):
            if line.strip():
                yield f"{path}:{number}", line


def read_payload(payload: BundlePayload) -> bytes:
    """Return the bundle's bytes (reading the file of a path payload).

    Raises:
        OSError: the file cannot be read (the caller reports the bundle as
            failing ``bundle_format``).
    """
    if isinstance(payload, Path):
        return payload.read_bytes()
    return payload
