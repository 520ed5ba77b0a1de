"""The one set of JSON shape checks of the protocol packages.

A JSON document read by :func:`kernel.protocol.strictjson.loads` still has to
be checked member by member: an integer that is not a boolean and lies in
range, a hex digest, an object with exactly the documented members. Every
protocol package checks its documents with these helpers and passes in its
own error class, so each still raises its own class and ``code``
(``tariff_invalid``, ``revocation_feed_malformed``, ``manifest_malformed``,
...) with the ``field`` it names.

Messages are templates formatted with :meth:`str.format` (like Django's
validator ``message`` with ``params``), so each package keeps the exact
sentence it documents and its tests pin. Every template may use
``{value}`` (the value checked; ``{value!r}`` for its repr), ``{kind}`` (its
JSON type name, :func:`json_kind`), ``{type}`` (its Python type name) and
``{field}``, plus the helper's own names (``{minimum}``, ``{maximum}``,
``{length}``, ...) and any extra keyword ``params`` the caller passes (a
request path, a member name). The caller's own text goes in ``params``, never
into the template itself, so a brace in hostile input is never read as a
placeholder.

This module imports nothing first-party: it is usable from every layer.
"""

from __future__ import annotations

import re
from collections.abc import Collection
from typing import Any, Final

from .errors import MeterproofError

__all__ = [
    "MAX_SAFE_INTEGER",
    "is_hex",
    "is_integer",
    "join_path",
    "json_kind",
    "require_hex",
    "require_instance",
    "require_integer",
    "require_object",
]

#: Largest integer an I-JSON number holds exactly (RFC 7493 §2.2): 2**53 - 1.
MAX_SAFE_INTEGER: Final = 2**53 - 1

_LOWER_HEX: Final = re.compile(r"[0-9a-f]*")
_ANY_HEX: Final = re.compile(r"[0-9a-fA-F]*")


def json_kind(value: Any) -> str:
    """Return the JSON type name of ``value`` for error messages.

    ``"null"``, ``"boolean"``, ``"integer"``, ``"number"`` (a float),
    ``"string"``, ``"array"`` (list or tuple), ``"object"`` (dict), else the
    Python type name.
    """
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, (list, tuple)):
        return "array"
    if isinstance(value, dict):
        return "object"
    return type(value).__name__


def join_path(parent: str, name: str) -> str:
    """Return the dotted path of member ``name`` under ``parent``
    (``""`` for the top level): ``join_path("pricing", "tiers")`` is
    ``"pricing.tiers"``."""
    return f"{parent}.{name}" if parent else name


def is_integer(value: Any) -> bool:
    """Return whether ``value`` is a JSON integer: an ``int`` and not a
    ``bool`` (Python's ``True`` is an ``int``; JSON's ``true`` is not)."""
    return isinstance(value, int) and not isinstance(value, bool)


def is_hex(value: Any, length: int = 64, *, lowercase: bool = True) -> bool:
    """Return whether ``value`` is a string of ``length`` hex characters
    (``0-9a-f``; also ``A-F`` when ``lowercase`` is ``False``). A 32-byte
    SHA-256 digest is 64 characters, the default."""
    return (
        isinstance(value, str)
        and len(value) == length
        and (_LOWER_HEX if lowercase else _ANY_HEX).fullmatch(value) is not None
    )


def _fail(
    error: type[MeterproofError],
    template: str,
    value: Any,
    field: str | None,
    params: dict[str, Any],
) -> MeterproofError:
    message = template.format(
        value=value,
        kind=json_kind(value),
        type=type(value).__name__,
        field=field,
        **params,
    )
    return error(message, field=field)


def require_integer(
    value: Any,
    *,
    error: type[MeterproofError],
    message: str,
    field: str | None = None,
    minimum: int | None = 0,
    maximum: int | None = None,
    range_message: str | None = None,
    **params: Any,
) -> int:
    """Return ``value`` if it is a JSON integer in ``minimum .. maximum``.

    Args:
        value: the decoded JSON value.
        error: the caller's error class, raised with ``field``.
        message: template when ``value`` is not an integer (a ``bool`` is
            not); also used out of range when ``range_message`` is ``None``.
        field: the member's path, given to ``error``.
        minimum: smallest accepted value (inclusive), ``None`` for no bound.
        maximum: largest accepted value (inclusive), ``None`` for no bound.
        range_message: template when ``value`` is out of range; may use
            ``{minimum}`` and ``{maximum}``.
        params: further names the templates use.

    Raises:
        error: ``value`` is not an integer, or out of range.
    """
    if not is_integer(value):
        raise _fail(error, message, value, field, params)
    if (minimum is not None and value < minimum) or (
        maximum is not None and value > maximum
    ):
        template = message if range_message is None else range_message
        raise _fail(
            error,
            template,
            value,
            field,
            {"minimum": minimum, "maximum": maximum, **params},
        )
    return int(value)


def require_instance(
    value: Any,
    kind: type,
    *,
    error: type[MeterproofError],
    message: str,
    field: str | None = None,
    **params: Any,
) -> Any:
    """Return ``value`` if it is an instance of ``kind`` and not a ``bool``.

    ``kind`` is ``str``, ``int``, ``list`` or ``dict`` (the JSON types);
    ``message`` may also use ``{expected}``, the name of ``kind``.

    Raises:
        error: ``value`` has another type.
    """
    if not isinstance(value, kind) or isinstance(value, bool):
        raise _fail(error, message, value, field, {"expected": kind.__name__, **params})
    return value


def require_hex(
    value: Any,
    *,
    error: type[MeterproofError],
    message: str,
    field: str | None = None,
    length: int = 64,
    lowercase: bool = True,
    digits_message: str | None = None,
    **params: Any,
) -> str:
    """Return ``value`` if it is a string of ``length`` hex characters.

    Args:
        value: the decoded JSON value (a 32-byte SHA-256 digest is 64 hex
            characters, the default ``length``).
        error: the caller's error class, raised with ``field``.
        message: template when ``value`` is not a string of ``length``
            characters; also for a non-hex character when ``digits_message``
            is ``None``. May use ``{length}``.
        field: the member's path, given to ``error``.
        lowercase: accept only ``0-9a-f`` (the protocol's spelling); ``False``
            also accepts ``A-F``.
        digits_message: template when the characters are not hex digits.
        params: further names the templates use.

    Raises:
        error: ``value`` is not such a string.
    """
    values = {"length": length, **params}
    if not isinstance(value, str) or len(value) != length:
        raise _fail(error, message, value, field, values)
    if not (_LOWER_HEX if lowercase else _ANY_HEX).fullmatch(value):
        template = message if digits_message is None else digits_message
        raise _fail(error, template, value, field, values)
    return value


def require_object(
    value: Any,
    keys: Collection[str],
    *,
    error: type[MeterproofError],
    path: str = "",
    what: str | None = None,
) -> dict[str, Any]:
    """Return ``value`` if it is a JSON object with exactly the members
    ``keys``.

    Checked in order: an object (``"<what> must be a JSON object, found
    <kind>"``), string member names, no unknown member (the first in sorted
    order: ``"<what> has unknown key 'x'; expected exactly a, b"``), no
    missing member (the first of ``keys``: ``"<what> is missing required key
    'x'"``). ``what`` names the object in messages (default ``path``);
    ``field`` is ``path`` (``None`` at the top level) or the member's path.

    Raises:
        error: ``value`` is not such an object.
    """
    what = what or path
    if not isinstance(value, dict):
        raise error(
            f"{what} must be a JSON object, found {json_kind(value)}",
            field=path or None,
        )
    for key in value:
        if not isinstance(key, str):
            raise error(f"{what} has a non-string key {key!r}", field=path or None)
    unknown = sorted(set(value) - set(keys))
    if unknown:
        raise error(
            f"{what} has unknown key {unknown[0]!r}; expected exactly "
            f"{', '.join(keys)}",
            field=join_path(path, unknown[0]),
        )
    for key in keys:
        if key not in value:
            raise error(
                f"{what} is missing required key {key!r}", field=join_path(path, key)
            )
    return value
