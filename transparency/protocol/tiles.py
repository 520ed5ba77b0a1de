"""C2SP tlog-tiles: tile paths and entry bundles (Django-free).

Spec: https://c2sp.org/tlog-tiles ("Merkle Tree", "Log entries"). Tiles have
height 8 (256 hashes or entries); a tile index ``N`` is written as zero-padded
3-digit path elements, all but the last prefixed with ``x`` (``1234067`` is
``x001/x234/067``); a partial tile adds ``.p/<W>`` with ``W`` in 1..255. An
entry bundle is the concatenation, for each entry, of its length as a
big-endian uint16 and its bytes, so one entry is at most 65,535 bytes.
"""

from __future__ import annotations

import re
import struct
from collections.abc import Iterable

from transparency.protocol.errors import EntryTooLargeError, TileError

__all__ = [
    "MAX_ENTRY_SIZE_BYTES",
    "MAX_TILE_LEVEL",
    "TILE_WIDTH",
    "encode_entry_bundle",
    "format_tile_index",
    "parse_entry_bundle",
    "parse_tile_index",
    "parse_tile_level",
]

TILE_WIDTH = 256
"""Hashes (or entries) in a full tile (tile height 8)."""

MAX_ENTRY_SIZE_BYTES = 0xFFFF
"""Largest log entry, in bytes: the uint16 length prefix of entry bundles."""

MAX_TILE_LEVEL = 63
"""C2SP tlog-tiles: ``<L>`` is a decimal integer from 0 to 63."""

_LEVEL = re.compile(r"0|[1-9][0-9]?")
# "x001/x234/067", then an optional ".p/<W>" (W without leading zeroes).
_INDEX = re.compile(r"((?:x[0-9]{3}/)*)([0-9]{3})(?:\.p/([1-9][0-9]{0,2}))?")


def format_tile_index(index: int, width: int | None = None) -> str:
    """Return the canonical path of tile ``index``: ``"x001/x234/067"``, plus
    ``".p/<width>"`` for a partial tile (``width`` 1..255, ``None`` for full).

    Raises:
        TileError: ``index`` is negative or ``width`` is outside 1..255.
    """
    if index < 0:
        raise TileError(f"tile index must be non-negative, found {index}")
    if width is not None and not 1 <= width < TILE_WIDTH:
        raise TileError(f"partial tile width must be in 1..255, found {width}")
    path = f"{index % 1000:03d}"
    index //= 1000
    while index > 0:
        path = f"x{index % 1000:03d}/{path}"
        index //= 1000
    return path if width is None else f"{path}.p/{width}"


def parse_tile_level(text: str) -> int:
    """Return the tile level ``<L>`` (0..63) of a tile path.

    Raises:
        TileError: not a decimal integer in 0..63 without leading zeroes.
    """
    if not _LEVEL.fullmatch(text) or int(text) > MAX_TILE_LEVEL:
        raise TileError(f"tile level must be 0..63 without leading zeroes: {text!r}")
    return int(text)


def parse_tile_index(path: str) -> tuple[int, int | None]:
    """Return ``(N, W)`` from a tile index path such as ``"x001/x234/067"`` or
    ``"067.p/8"`` (``W`` is ``None`` for a full tile).

    Only the canonical encoding is accepted (the one :func:`format_tile_index`
    writes): no ``x000/`` leading element, no leading zeroes in ``W``, ``W``
    in 1..255, so every tile has exactly one path, as on a static host.

    Raises:
        TileError: anything else.
    """
    match = _INDEX.fullmatch(path)
    if match is None:
        raise TileError(f"malformed tile index {path[:60]!r}")
    prefix, last, width_text = match.groups()
    index = int("".join(part[1:] for part in prefix.split("/") if part) + last)
    width = int(width_text) if width_text is not None else None
    if width is not None and width >= TILE_WIDTH:
        raise TileError(f"partial tile width {width} is not in 1..255")
    if format_tile_index(index, width) != path:
        raise TileError(f"tile index {path[:60]!r} is not in canonical form")
    return index, width


def encode_entry_bundle(entries: Iterable[bytes]) -> bytes:
    """Return the entry bundle of ``entries``: each as a big-endian uint16
    length followed by its bytes.

    Raises:
        EntryTooLargeError: an entry is longer than 65,535 bytes.
    """
    out = bytearray()
    for position, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE_BYTES:
            raise EntryTooLargeError(
                f"entry {position} of the bundle is {len(entry)} bytes, at most "
                f"{MAX_ENTRY_SIZE_BYTES} fit a C2SP tlog-tiles entry bundle"
            )
        out += struct.pack(">H", len(entry)) + entry
    return bytes(out)


def parse_entry_bundle(data: bytes) -> list[bytes]:
    """Return the entries of an entry bundle (inverse of
    :func:`encode_entry_bundle`).

    Raises:
        TileError: a length prefix or an entry is cut short.
    """
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if offset + 2 > len(data):
            raise TileError(f"entry bundle ends inside a length prefix at {offset}")
        (size,) = struct.unpack_from(">H", data, offset)
        offset += 2
        if offset + size > len(data):
            raise TileError(
                f"entry {len(entries)} needs {size} bytes, {len(data) - offset} remain"
            )
        entries.append(data[offset : offset + size])
        offset += size
    return entries
