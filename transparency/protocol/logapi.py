"""Client side of the log's read API, over an injected fetcher.

The witness and the monitor read the log through a :data:`Fetcher`
``fetch(path) -> bytes``: ``path`` is the part of the URL after the log's base
URL, starting with ``/`` (e.g. ``/api/vdi/billing/transparency/head``). The
caller decides how to reach the log (``urllib`` over HTTPS, Django's test
client in-process, or a test double backed by :mod:`merkle`), so this module
imports neither Django nor a network library (CONVENTIONS.md §3).

Response shapes are those of docs/PROTOCOL.md ("Transparency log API"); every
parser here is strict and raises :class:`LogResponseError` on anything else.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

from kernel.protocol.errors import JsonInputError
from kernel.protocol.shape import require_hex, require_integer
from kernel.protocol.strictjson import loads as strict_loads
from transparency.protocol.errors import LogRequestError, LogResponseError
from transparency.protocol.merkle import HASH_SIZE

__all__ = [
    "CONSISTENCY_PATH",
    "COSIGNATURES_PATH",
    "ENTRIES_PAGE_SIZE",
    "ENTRIES_PATH",
    "HEAD_PATH",
    "Fetcher",
    "LogEntryData",
    "LogHead",
    "fetch_consistency_proof",
    "fetch_head",
    "iter_entries",
]

Fetcher = Callable[[str], bytes]
"""``fetch(path) -> bytes``: GET ``base_url + path``; raises
:class:`transparency.protocol.errors.FetchError` when the log cannot be read
(network error, non-2xx status)."""

HEAD_PATH = "/api/vdi/billing/transparency/head"
CONSISTENCY_PATH = "/api/vdi/billing/transparency/consistency"
ENTRIES_PATH = "/api/vdi/billing/transparency/entries"
COSIGNATURES_PATH = "/api/vdi/billing/transparency/cosignatures"

ENTRIES_PAGE_SIZE = 1000
"""Most entries the log returns per page (docs/PROTOCOL.md)."""


def _json(fetch: Fetcher, path: str) -> dict[str, Any]:
    raw = fetch(path)
    try:
        value = strict_loads(raw)
    except JsonInputError as exc:
        raise LogResponseError(
            f"GET {path}: response is not I-JSON ({exc.code}): {exc.message}",
            field=exc.field,
        ) from None
    if not isinstance(value, dict):
        raise LogResponseError(
            f"GET {path}: expected a JSON object, found {type(value).__name__}"
        )
    return value


def _int(obj: dict[str, Any], key: str, path: str) -> int:
    return require_integer(
        obj.get(key),
        error=LogResponseError,
        field=key,
        message="GET {path}: {key!r} must be a non-negative integer, found {value!r}",
        path=path,
        key=key,
    )


def _hash(value: Any, what: str, path: str) -> bytes:
    text = require_hex(
        value,
        error=LogResponseError,
        field=what,
        length=2 * HASH_SIZE,
        lowercase=False,
        message="GET {path}: {field} must be {length} hex characters, found {value!r}",
        digits_message="GET {path}: {field} is not hex: {value!r}",
        path=path,
    )
    return bytes.fromhex(text)


@dataclass(frozen=True)
class LogHead:
    """The log head as served by ``GET .../transparency/head``.

    Attributes:
        tree_size: leaves in the tree.
        root_hash: 32-byte root, or ``None`` for an empty log.
        checkpoint: the signed note text (log signature, then any
            cosignatures), or ``None`` for an empty log.
    """

    tree_size: int
    root_hash: bytes | None
    checkpoint: str | None


def fetch_head(fetch: Fetcher) -> LogHead:
    """Return the log head from ``GET /api/vdi/billing/transparency/head``.

    The JSON fields are untrusted hints: callers verify the signed
    ``checkpoint`` and compare it with ``tree_size``/``root_hash``.

    Raises:
        FetchError: from ``fetch``.
        LogResponseError: the body is not the documented JSON object.
    """
    path = HEAD_PATH
    obj = _json(fetch, path)
    size = _int(obj, "tree_size", path)
    root_text = obj.get("root_hash")
    checkpoint = obj.get("checkpoint")
    if checkpoint is not None and not isinstance(checkpoint, str):
        raise LogResponseError(
            f"GET {path}: 'checkpoint' must be the signed note text",
            field="checkpoint",
        )
    root = None if root_text in (None, "") else _hash(root_text, "root_hash", path)
    return LogHead(tree_size=size, root_hash=root, checkpoint=checkpoint)


def fetch_consistency_proof(fetch: Fetcher, first: int, second: int) -> list[bytes]:
    """Return PROOF(first, D[second]) from ``GET .../consistency``.

    Args:
        fetch: the log fetcher.
        first: earlier tree size, ``>= 1``.
        second: later tree size, ``>= first``.

    Returns:
        The RFC 9162 §2.1.4 proof as 32-byte hashes (not yet verified).

    Raises:
        FetchError: from ``fetch``.
        LogResponseError: malformed body, or sizes other than those asked.
    """
    path = f"{CONSISTENCY_PATH}?first={first}&second={second}"
    obj = _json(fetch, path)
    if _int(obj, "first", path) != first or _int(obj, "second", path) != second:
        raise LogResponseError(
            f"GET {path}: answered first={obj.get('first')}, "
            f"second={obj.get('second')}, expected {first}, {second}"
        )
    proof = obj.get("consistency_proof")
    if not isinstance(proof, list):
        raise LogResponseError(
            f"GET {path}: 'consistency_proof' must be a list of hex hashes",
            field="consistency_proof",
        )
    return [_hash(h, f"consistency_proof[{i}]", path) for i, h in enumerate(proof)]


@dataclass(frozen=True)
class LogEntryData:
    """One entry from ``GET .../entries``.

    Attributes:
        leaf_index: zero-based index.
        leaf_hash: the 32-byte leaf hash the log *claims* (untrusted).
        data: the attestation JSON object; its leaf bytes are its RFC 8785
            (JCS) canonical form.
    """

    leaf_index: int
    leaf_hash: bytes
    data: Any


def iter_entries(
    fetch: Fetcher, start: int, end: int, page_size: int = ENTRIES_PAGE_SIZE
) -> Iterator[LogEntryData]:
    """Yield the entries ``start .. end - 1`` in order, page by page.

    Pages are requested as ``?start=S&end=E`` with at most ``page_size``
    entries; the log may answer fewer (its ``end``), and the next page starts
    there, so a short page never skips or repeats an index.

    Raises:
        FetchError: from ``fetch``.
        LogResponseError: a malformed page, a page that makes no progress or
            overshoots, or entries whose ``leaf_index`` is not the next one.
        LogRequestError: (``log_request_invalid``) ``page_size < 1``.
    """
    if page_size < 1:
        raise LogRequestError(
            f"page_size must be >= 1, found {page_size}", field="page_size"
        )
    position = start
    while position < end:
        want = min(end, position + page_size)
        path = f"{ENTRIES_PATH}?start={position}&end={want}"
        obj = _json(fetch, path)
        got_start = _int(obj, "start", path)
        got_end = _int(obj, "end", path)
        if got_start != position or not position < got_end <= want:
            raise LogResponseError(
                f"GET {path}: answered [{got_start}, {got_end}), expected a "
                f"non-empty prefix of [{position}, {want})"
            )
        items = obj.get("entries")
        if not isinstance(items, list) or len(items) != got_end - got_start:
            raise LogResponseError(
                f"GET {path}: expected {got_end - got_start} entries, found "
                f"{len(items) if isinstance(items, list) else type(items).__name__}",
                field="entries",
            )
        for offset, item in enumerate(items):
            index = position + offset
            if not isinstance(item, dict):
                raise LogResponseError(
                    f"GET {path}: entries[{offset}] is not an object",
                    field=f"entries[{offset}]",
                )
            if _int(item, "leaf_index", path) != index:
                raise LogResponseError(
                    f"GET {path}: entries[{offset}] has leaf_index "
                    f"{item.get('leaf_index')}, expected {index}",
                    field=f"entries[{offset}].leaf_index",
                )
            if "data" not in item:
                raise LogResponseError(
                    f"GET {path}: entries[{offset}] has no 'data'",
                    field=f"entries[{offset}].data",
                )
            yield LogEntryData(
                leaf_index=index,
                leaf_hash=_hash(item.get("leaf_hash"), "leaf_hash", path),
                data=item["data"],
            )
        position = got_end
