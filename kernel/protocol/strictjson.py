"""The one strict JSON reader of the protocol: I-JSON (RFC 7493) with a depth limit.

Every boundary reads JSON through :func:`loads`: API request bodies (the DRF
parser ``config.parsers.StrictJSONParser``), bundle and trust-anchor files of
the offline CLI, revocation snapshots and the feed poller, tariffs, the
artifact manifest and log responses. It refuses, with stable codes:

- ``malformed_json`` (:class:`JsonInputError`): not RFC 8259 JSON, a
  ``NaN``/``Infinity``/``-Infinity`` literal, or a number Python cannot read;
- ``duplicate_member`` (:class:`DuplicateMemberError`): two members of one
  object share a name, at any depth (RFC 7493 §2.3). A reader that keeps the
  first value and one that keeps the last would otherwise see two documents;
- ``json_too_deep`` (:class:`JsonTooDeepError`): arrays and objects nested
  deeper than ``max_depth`` (default :data:`MAX_DEPTH` = 64; a top-level
  object or array is depth 1). The depth is counted by a linear,
  non-recursive scan *before* the recursive decoder runs, because py_ecc
  raises the interpreter's recursion limit far above what the C stack holds;
- ``invalid_unicode`` (:class:`JsonUnicodeError`): bytes that are not UTF-8,
  or a string or member name holding a lone surrogate (RFC 7493 §2.1).

``field`` is the JSON path of the offending member where known (dotted names,
``[i]`` for array items, e.g. ``attestation.receipt.kid``). Messages never echo
the offending text.

Speed (bulk audits read a million bundles): the depth scan is skipped when
the text holds no more ``[``/``{`` than ``max_depth`` (nesting cannot exceed
the number of openers), and the tree walk that locates a duplicate member or
a lone surrogate runs only when one can be there: when the decoder met a
repeated name, or when the text holds a surrogate or an escape of one
(``\\uD800``..``\\uDFFF``, the only ways a decoded string gets one). Either way the same error, with the
same ``field``, is raised as by a full walk.
"""

from __future__ import annotations

import json
import re
from typing import Any, NoReturn

from .errors import (
    DuplicateMemberError,
    JsonInputError,
    JsonTooDeepError,
    JsonUnicodeError,
)

__all__ = ["MAX_DEPTH", "check_depth", "loads"]

#: Deepest nesting of arrays and objects accepted (bundles nest 7 levels).
MAX_DEPTH = 64

_STRUCTURE = re.compile(r'[\[\]{}"]')
#: A ``\\u`` escape of a surrogate code unit (U+D800..U+DFFF), any case.
_SURROGATE_ESCAPE = re.compile(r"\\u[dD][89a-fA-F]")


class _Duplicated(dict[str, Any]):
    """An object in which ``name`` appeared twice (located after parsing)."""

    name: str = ""


def check_depth(text: str, max_depth: int = MAX_DEPTH) -> None:
    """Refuse ``text`` if its arrays and objects nest deeper than ``max_depth``.

    Linear in ``len(text)`` and non-recursive; brackets inside strings are
    skipped; an unterminated string is left to the JSON decoder.

    Raises:
        JsonTooDeepError: the nesting exceeds ``max_depth``.
    """
    if text.count("[") + text.count("{") <= max_depth:
        return  # depth never exceeds the number of openers
    depth = 0
    position = 0
    while (match := _STRUCTURE.search(text, position)) is not None:
        token = match.group()
        position = match.end()
        if token == '"':
            while True:
                end = text.find('"', position)
                if end < 0:
                    return
                backslashes = 0
                while (
                    end - 1 - backslashes >= position
                    and text[end - 1 - backslashes] == "\\"
                ):
                    backslashes += 1
                position = end + 1
                if backslashes % 2 == 0:
                    break
        elif token in "[{":
            depth += 1
            if depth > max_depth:
                raise JsonTooDeepError(
                    f"JSON nests deeper than {max_depth} levels "
                    f"(at character {match.start()})"
                )
        else:
            depth -= 1


def _pairs(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    obj: dict[str, Any] = {}
    for name, value in pairs:
        if name in obj:
            marked = _Duplicated(pairs[: len(obj)])
            marked.name = name
            return marked
        obj[name] = value
    return obj


def _constant(text: str) -> NoReturn:
    raise JsonInputError(f"{text} is not a JSON number (RFC 8259 §6)")


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


def _scan(value: Any) -> None:
    """Find the first duplicate member or lone surrogate, iteratively."""
    stack: list[tuple[str, Any]] = [("", value)]
    while stack:
        path, item = stack.pop()
        if isinstance(item, str):
            _check_text(item, path)
        elif isinstance(item, dict):
            if isinstance(item, _Duplicated):
                where = _join(path, item.name)
                _check_text(item.name, where)
                raise DuplicateMemberError(
                    "object has the member name twice (RFC 7493 §2.3)", field=where
                )
            for name, child in reversed(item.items()):
                _check_text(name, _join(path, name))
                stack.append((_join(path, name), child))
        elif isinstance(item, list):
            for index in range(len(item) - 1, -1, -1):
                stack.append((f"{path}[{index}]", item[index]))


def _check_text(text: str, path: str) -> None:
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        raise JsonUnicodeError(
            "string holds a lone surrogate (RFC 7493 §2.1)", field=path or None
        ) from None


def loads(data: bytes | bytearray | str, *, max_depth: int = MAX_DEPTH) -> Any:
    """Parse one I-JSON text and return its value (dict, list, str, int,
    float, bool or None).

    Args:
        data: UTF-8 bytes (no byte-order mark), or already decoded text.
        max_depth: deepest nesting of arrays and objects accepted.

    Raises:
        JsonUnicodeError: ``invalid_unicode``, bytes not UTF-8 or a lone
            surrogate in a string or name (RFC 7493 §2.1).
        JsonTooDeepError: ``json_too_deep``, nesting over ``max_depth``.
        DuplicateMemberError: ``duplicate_member``, a repeated member name
            (RFC 7493 §2.3); ``field`` is its path.
        JsonInputError: ``malformed_json``, anything else that is not JSON
            (RFC 8259), including ``NaN`` and ``Infinity``.
    """
    if isinstance(data, (bytes, bytearray)):
        try:
            text = bytes(data).decode("utf-8")
        except UnicodeDecodeError as exc:
            raise JsonUnicodeError(
                f"JSON text is not UTF-8 (byte {exc.start}, RFC 8259 §8.1)"
            ) from None
    else:
        text = data
    check_depth(text, max_depth)
    duplicated: list[bool] = []

    def pairs(items: list[tuple[str, Any]]) -> dict[str, Any]:
        obj = _pairs(items)
        if type(obj) is _Duplicated:
            duplicated.append(True)
        return obj

    try:
        value = json.loads(text, object_pairs_hook=pairs, parse_constant=_constant)
    except json.JSONDecodeError as exc:
        raise JsonInputError(
            f"not JSON: {exc.msg} (line {exc.lineno}, column {exc.colno})"
        ) from None
    except (ValueError, RecursionError) as exc:  # e.g. an over-long integer
        raise JsonInputError(f"not JSON: {type(exc).__name__}") from None
    if duplicated or _SURROGATE_ESCAPE.search(text) or not _utf8_clean(text):
        _scan(value)  # locates the problem (or finds none)
    return value


def _utf8_clean(text: str) -> bool:
    """Return True iff ``text`` holds no surrogate code point."""
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True
