"""The log's read API and C2SP tlog-tiles path, checked with the Django-free
verifiers and against a from-scratch recomputation of every root."""

from __future__ import annotations

import struct
from typing import Any

import pytest
from rest_framework.test import APIClient

from tests.transparency.log_support import log_append
from transparency.models import Checkpoint
from transparency.protocol.checkpoint import parse_checkpoint
from transparency.protocol.merkle import (
    inclusion_proof,
    leaf_hash,
    node_hash,
    root_hash,
    verify_consistency,
    verify_inclusion,
)
from transparency.protocol.note import NoteSigner, generate_key, open_note

pytestmark = pytest.mark.django_db

API = "/api/vdi/billing/transparency"
ORIGIN = "test.example/log"
BATCHES = (1, 5, 20, 230, 344)  # 600 leaves: two full level-0 tiles, a partial


@pytest.fixture
def log() -> dict[str, Any]:
    """A log of 600 leaves appended in five batches (five checkpoints)."""
    skey, vkey = generate_key(ORIGIN)
    signer = NoteSigner.from_skey(skey)
    datas: list[bytes] = []
    for size in BATCHES:
        batch = [f'{{"n":{len(datas) + k}}}'.encode() for k in range(size)]
        log_append(entries=batch, signer=signer, origin=ORIGIN)
        datas += batch
    return {"vkey": vkey, "datas": datas, "hashes": [leaf_hash(d) for d in datas]}


def _get(path: str, **params: Any) -> Any:
    return APIClient().get(path, params)


def _root_at(log: dict[str, Any], size: int) -> bytes:
    return root_hash(log["hashes"][:size])


def test_head_is_the_latest_signed_checkpoint(log: dict[str, Any]) -> None:
    """The head's note verifies with the log key and states the recomputed root."""
    body = _get(f"{API}/head").json()
    note = open_note(body["checkpoint"], [log["vkey"]])
    checkpoint = parse_checkpoint(note.text)
    assert checkpoint.tree_size == body["tree_size"] == 600
    assert checkpoint.root_hash == _root_at(log, 600)
    assert body["root_hash"] == checkpoint.root_hash.hex()
    assert body["latest_leaf_hash"] == log["hashes"][599].hex()
    assert checkpoint.extensions[0].startswith("Timestamp: ")


@pytest.mark.parametrize("size", [1, 6, 26, 256, 600])
def test_inclusion_proofs_verify_for_every_leaf(log: dict[str, Any], size: int) -> None:
    """Every leaf's proof (by index) verifies against the signed root of the
    checkpoint it names; proof length is the RFC's for (index, size)."""
    checkpoints = set(Checkpoint.objects.values_list("tree_size", flat=True))
    if size not in checkpoints:
        response = _get(f"{API}/inclusion", leaf_index=0, tree_size=size)
        assert response.status_code == 404
        assert response.json()["error"]["code"] == "checkpoint_not_found"
        return
    root = _root_at(log, size)
    for index in sorted({*range(0, size, 1 if size < 64 else 7), size - 1}):
        body = _get(f"{API}/inclusion", leaf_index=index, tree_size=size).json()
        note = parse_checkpoint(open_note(body["checkpoint"], [log["vkey"]]).text)
        assert note.root_hash == root and body["tree_size"] == size
        proof = [bytes.fromhex(h) for h in body["inclusion_proof"]]
        verify_inclusion(log["hashes"][index], index, size, proof, root)


def test_inclusion_by_leaf_hash_defaults_to_the_latest(log: dict[str, Any]) -> None:
    """A leaf found by hash is proved against the latest checkpoint."""
    target = log["hashes"][123]
    body = _get(f"{API}/inclusion", leaf_hash=target.hex()).json()
    assert body["leaf_index"] == 123 and body["tree_size"] == 600
    proof = [bytes.fromhex(h) for h in body["inclusion_proof"]]
    verify_inclusion(target, 123, 600, proof, _root_at(log, 600))


def test_consistency_between_every_pair_of_checkpoints(log: dict[str, Any]) -> None:
    """Every pair of signed sizes has a consistency proof that verifies with
    the recomputed roots; both notes come back signed."""
    sizes = sorted(set(Checkpoint.objects.values_list("tree_size", flat=True)))
    assert sizes == [1, 6, 26, 256, 600]
    for i, first in enumerate(sizes):
        for second in sizes[i:]:
            body = _get(f"{API}/consistency", first=first, second=second).json()
            proof = [bytes.fromhex(h) for h in body["consistency_proof"]]
            verify_consistency(
                first, second, proof, _root_at(log, first), _root_at(log, second)
            )
            for key in ("first_checkpoint", "second_checkpoint"):
                open_note(body[key], [log["vkey"]])


def test_entries_pages_through_the_log(log: dict[str, Any]) -> None:
    """Following ``next`` from 0 returns every entry once, in order."""
    seen: list[int] = []
    url: str | None = f"{API}/entries?start=0&end=250"
    while url:
        body = APIClient().get(url).json()
        for entry in body["entries"]:
            assert entry["leaf_hash"] == log["hashes"][entry["leaf_index"]].hex()
        seen += [e["leaf_index"] for e in body["entries"]]
        url = body["next"]
    assert seen == list(range(600))


@pytest.mark.parametrize(
    ("path", "params", "status", "code", "field"),
    [
        ("inclusion", {"leaf_index": "600"}, 404, "leaf_not_found", "leaf_index"),
        ("inclusion", {"leaf_index": "-1"}, 400, "invalid_parameter", "leaf_index"),
        ("inclusion", {"leaf_index": "01"}, 400, "invalid_parameter", "leaf_index"),
        ("inclusion", {}, 400, "invalid_parameter", "leaf_index"),
        ("inclusion", {"leaf_hash": "AB" * 32}, 400, "invalid_parameter", "leaf_hash"),
        ("inclusion", {"leaf_hash": "ab" * 32}, 404, "leaf_not_found", "leaf_hash"),
        (
            "inclusion",
            {"leaf_index": "5", "tree_size": "601"},
            400,
            "tree_size_out_of_range",
            "tree_size",
        ),
        (
            "inclusion",
            {"leaf_index": "7", "tree_size": "6"},
            400,
            "tree_size_out_of_range",
            "leaf_index",
        ),
        ("consistency", {"first": "0"}, 400, "tree_size_out_of_range", "first"),
        (
            "consistency",
            {"first": "26", "second": "6"},
            400,
            "tree_size_out_of_range",
            "first",
        ),
        ("consistency", {"first": "7"}, 404, "checkpoint_not_found", "tree_size"),
        ("consistency", {"first": "x"}, 400, "invalid_parameter", "first"),
        (
            "entries",
            {"start": "0", "end": "1001"},
            400,
            "tree_size_out_of_range",
            "end",
        ),
        (
            "entries",
            {"start": "599", "end": "601"},
            400,
            "tree_size_out_of_range",
            "end",
        ),
        ("entries", {"start": "5", "end": "5"}, 400, "tree_size_out_of_range", "start"),
        ("entries", {"start": "9" * 25}, 400, "invalid_parameter", "start"),
    ],
)
def test_bad_input_is_a_clear_400_or_404(
    log: dict[str, Any],
    path: str,
    params: dict[str, str],
    status: int,
    code: str,
    field: str,
) -> None:
    """Out-of-range indices, sizes beyond the tree, malformed hashes and
    oversize ranges get a JSON error with a stable code and the field."""
    response = _get(f"{API}/{path}", **params)
    assert response.status_code == status
    assert response.json()["error"]["code"] == code
    assert response.json()["error"]["field"] == field


def test_oversize_page_is_refused(log: dict[str, Any]) -> None:
    """More than 1000 entries per page is ``range_too_large`` (600 + 500
    leaves, so the range lies inside the tree)."""
    skey, _ = generate_key(ORIGIN)
    signer = NoteSigner.from_skey(skey)
    log_append(
        entries=[f'{{"m":{k}}}'.encode() for k in range(500)],
        signer=signer,
        origin=ORIGIN,
    )
    response = _get(f"{API}/entries", start="0", end="1001")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "range_too_large"


def _tile_path(index: int) -> str:
    """C2SP tlog-tiles index encoding: ``x001/x234/067``."""
    digits = f"{index:03d}"
    digits = "0" * (-len(digits) % 3) + digits
    groups = [digits[k : k + 3] for k in range(0, len(digits), 3)]
    return "/".join([*(f"x{g}" for g in groups[:-1]), groups[-1]])


class TileReader:
    """A client that knows only ``/tlog/``: it reads hashes from tiles and
    composes the other nodes, as Go's ``tlog.TileHashReader`` does."""

    def __init__(self, tree_size: int) -> None:
        self.size = tree_size
        self.tiles: dict[tuple[int, int], list[bytes]] = {}

    def _tile(self, level: int, index: int) -> list[bytes]:
        if (level, index) not in self.tiles:
            have = (self.size >> (8 * level)) - 256 * index
            width = min(have, 256)
            path = f"/tlog/tile/{level}/{_tile_path(index)}"
            if width < 256:
                path += f".p/{width}"
            response = APIClient().get(path)
            assert response.status_code == 200, path
            raw = response.content
            assert len(raw) == 32 * width
            self.tiles[(level, index)] = [
                raw[k : k + 32] for k in range(0, len(raw), 32)
            ]
        return self.tiles[(level, index)]

    def get_node(self, level: int, index: int) -> bytes:
        base = 8 * (level // 8)
        span = 1 << (level - base)
        first = index * span
        hashes = [
            self._tile(base // 8, k // 256)[k % 256] for k in range(first, first + span)
        ]
        while len(hashes) > 1:
            hashes = [
                node_hash(hashes[k], hashes[k + 1]) for k in range(0, len(hashes), 2)
            ]
        return hashes[0]


def test_inclusion_proof_from_the_served_tiles_alone(log: dict[str, Any]) -> None:
    """A client with only /tlog/checkpoint and hash tiles builds inclusion
    proofs that verify against the signed root."""
    text = APIClient().get("/tlog/checkpoint").content.decode()
    checkpoint = parse_checkpoint(open_note(text, [log["vkey"]]).text)
    reader = TileReader(checkpoint.tree_size)
    for index in (0, 255, 256, 300, 511, 512, 599):
        proof = inclusion_proof(index, checkpoint.tree_size, reader.get_node)
        verify_inclusion(
            log["hashes"][index],
            index,
            checkpoint.tree_size,
            proof,
            checkpoint.root_hash,
        )
    assert (1, 0) in reader.tiles  # a level-1 (partial) tile was needed


def test_entry_bundles_hold_the_logged_data(log: dict[str, Any]) -> None:
    """Entry tiles are uint16-length-prefixed leaf data matching the leaf hashes."""
    for index, width in ((0, None), (2, 88)):
        path = f"/tlog/tile/entries/{_tile_path(index)}" + (
            f".p/{width}" if width else ""
        )
        raw = APIClient().get(path).content
        entries = []
        while raw:
            (length,) = struct.unpack(">H", raw[:2])
            entries.append(raw[2 : 2 + length])
            raw = raw[2 + length :]
        assert entries == log["datas"][256 * index : 256 * index + len(entries)]
        assert len(entries) == (width or 256)


@pytest.mark.parametrize(
    "path",
    [
        "/tlog/tile/0/003",  # beyond the tree
        "/tlog/tile/0/002.p/89",  # wider than the tree holds
        "/tlog/tile/0/2",  # not three digits
        "/tlog/tile/0/002.p/0",
        "/tlog/tile/0/002.p/256",
        "/tlog/tile/9/000",
        "/tlog/tile/entries/x000",
        # Non-canonical spellings of tiles that exist (C2SP: one path each).
        "/tlog/tile/00/000",
        "/tlog/tile/01/000",
        "/tlog/tile/0/x000/000",
        "/tlog/tile/0/x000/x000/001",
        "/tlog/tile/0/002.p/088",
        "/tlog/tile/0/000/000",
        "/tlog/tile/entries/x000/000",
        "/tlog/tile/entries/002.p/088",
        "/tlog/tile/entries/x000/002.p/88",
        "/tlog/tile//000",
    ],
)
def test_missing_or_malformed_tiles_are_404(log: dict[str, Any], path: str) -> None:
    """What a static host would not have is a JSON 404 ``tile_not_found``."""
    response = APIClient().get(path)
    assert response.status_code == 404
    assert response.json()["error"]["code"] in {"tile_not_found", "not_found"}


def test_tile_index_encoding_matches_c2sp() -> None:
    """N=1234067 is ``x001/x234/067`` (C2SP tlog-tiles); our parser inverts it."""
    from transparency.api import parse_tile_index

    assert _tile_path(1234067) == "x001/x234/067"
    assert parse_tile_index("x001/x234/067") == (1234067, None)
    assert parse_tile_index("067.p/8") == (67, 8)


def test_entry_bundles_are_gzipped_when_accepted(log: dict[str, Any]) -> None:
    """C2SP tlog-tiles: entry bundles SHOULD be compressed at the HTTP layer;
    a client accepting gzip gets Content-Encoding: gzip of the same bytes, a
    client that does not gets them as they are (Vary: Accept-Encoding)."""
    import gzip

    from transparency.protocol.tiles import parse_entry_bundle

    plain = APIClient().get("/tlog/tile/entries/000")
    zipped = APIClient().get(
        "/tlog/tile/entries/000", HTTP_ACCEPT_ENCODING="gzip, identity"
    )
    assert plain.status_code == zipped.status_code == 200
    assert not plain.has_header("Content-Encoding")
    assert zipped["Content-Encoding"] == "gzip"
    assert "Accept-Encoding" in zipped["Vary"]
    assert gzip.decompress(zipped.content) == plain.content
    assert len(zipped.content) < len(plain.content)
    assert parse_entry_bundle(plain.content) == log["datas"][:256]


@pytest.mark.parametrize(
    "path",
    [
        "/tlog/tile/0/000",
        "/tlog/tile/0/002.p/88",
        "/tlog/tile/1/000.p/2",
        "/tlog/tile/entries/000",
        "/tlog/tile/entries/002.p/88",
    ],
)
def test_tiles_full_and_partial_are_cached_as_immutable(
    log: dict[str, Any], path: str
) -> None:
    """A partial tile of width W never changes either (the log is append-only
    and the tile covers only leaves a signed checkpoint fixed), so both are
    served with a year's max-age and ``immutable``."""
    response = APIClient().get(path)
    assert response.status_code == 200
    directives = {d.strip() for d in response["Cache-Control"].split(",")}
    assert {"public", "immutable", "max-age=31536000"} <= directives
