"""C2SP tlog-tiles codecs: canonical tile paths and entry bundles."""

from __future__ import annotations

import pytest

from transparency.protocol.errors import EntryTooLargeError, TileError
from transparency.protocol.tiles import (
    MAX_ENTRY_SIZE_BYTES,
    encode_entry_bundle,
    format_tile_index,
    parse_entry_bundle,
    parse_tile_index,
    parse_tile_level,
)


@pytest.mark.parametrize(
    ("index", "width", "path"),
    [
        (0, None, "000"),
        (67, 8, "067.p/8"),
        (1000, None, "x001/000"),
        (1234067, None, "x001/x234/067"),
        (1234067, 255, "x001/x234/067.p/255"),
    ],
)
def test_tile_paths_round_trip(index: int, width: int | None, path: str) -> None:
    """The C2SP example (1234067 is x001/x234/067) and its neighbours."""
    assert format_tile_index(index, width) == path
    assert parse_tile_index(path) == (index, width)


@pytest.mark.parametrize(
    "path",
    [
        "x000/067",
        "x000/x001/000",
        "67",
        "0067",
        "067.p/08",
        "067.p/0",
        "067.p/256",
        "067/",
        "/067",
        "x001",
        "x1/067",
        "067.p/",
        "067.p/1/2",
    ],
)
def test_non_canonical_tile_paths_are_refused(path: str) -> None:
    """Every tile has one path: leading x000 elements, leading zeroes and bad
    widths are refused (TileError), as a static host would have no file."""
    with pytest.raises(TileError) as caught:
        parse_tile_index(path)
    assert caught.value.code == "tile_invalid"


@pytest.mark.parametrize("text", ["00", "01", "64", "-1", "x", ""])
def test_bad_tile_levels_are_refused(text: str) -> None:
    """``<L>`` is 0..63 without leading zeroes."""
    with pytest.raises(TileError):
        parse_tile_level(text)
    assert parse_tile_level("0") == 0 and parse_tile_level("63") == 63


def test_entry_bundle_round_trips_up_to_the_bound() -> None:
    """Entries of 0 and 65,535 bytes encode and parse back; 65,536 bytes is
    refused (entry_too_large) instead of a struct error."""
    entries = [b"", b"x" * MAX_ENTRY_SIZE_BYTES, b"{}"]
    assert parse_entry_bundle(encode_entry_bundle(entries)) == entries
    with pytest.raises(EntryTooLargeError) as caught:
        encode_entry_bundle([b"x" * (MAX_ENTRY_SIZE_BYTES + 1)])
    assert caught.value.code == "entry_too_large"


@pytest.mark.parametrize("data", [b"\x00", b"\x00\x05abc"])
def test_truncated_entry_bundles_are_refused(data: bytes) -> None:
    """A cut length prefix or entry is a TileError, never a silent short list."""
    with pytest.raises(TileError):
        parse_entry_bundle(data)
