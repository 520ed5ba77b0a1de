"""Transparency-log API: head, proofs, entries, checkpoints, and the C2SP
tlog-tiles read path.

JSON endpoints live under ``/api/vdi/billing/transparency/``; hashes are
lowercase hex, notes are C2SP signed-note text. The tiles live under ``/tlog/``
exactly as https://github.com/C2SP/C2SP/blob/main/tlog-tiles.md lays them out,
so any static file host can mirror the log and clients can build their own
proofs. No endpoint needs authentication: the log is public.
"""

from __future__ import annotations

import re
from typing import Any

from django.http import HttpResponse
from django.utils.decorators import method_decorator
from django.views.decorators.gzip import gzip_page
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from transparency.errors import InvalidParameter, TileNotFound
from transparency.protocol import tiles
from transparency.protocol.errors import TileError
from transparency.selectors import (
    MAX_ENTRIES_PAGE,
    checkpoint_latest,
    checkpoint_list,
    checkpoint_note,
    consistency_proof_get,
    entries_tile_get,
    entry_data_json,
    inclusion_proof_get,
    log_entry_get,
    log_entry_list,
    log_head_get,
    tile_get,
)
from transparency.selectors_witness import checkpoint_cosignature_list

_HEX64 = re.compile(r"[0-9a-f]{64}")
_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


def _int_param(request: Request, name: str, *, required: bool = True) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        if required:
            raise InvalidParameter(f"query parameter {name} is required", field=name)
        return None
    if not _DECIMAL.fullmatch(raw):
        raise InvalidParameter(
            f"{name} must be a non-negative decimal integer, found {raw[:40]!r}",
            field=name,
        )
    return int(raw)


def _checkpoint_json(checkpoint: Any) -> dict[str, Any]:
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "signed_at": checkpoint.signed_at,
        "checkpoint": checkpoint_note(checkpoint),
    }


class LogHeadApi(APIView):
    """``GET /api/vdi/billing/transparency/head``: the latest checkpoint."""

    def get(self, request: Request) -> Response:
        """Return ``{origin, tree_size, root_hash, latest_leaf_hash, signed_at,
        checkpoint}`` (``checkpoint``: the C2SP signed note; nulls when empty)."""
        _, checkpoint = log_head_get()
        if checkpoint is None:
            return Response(
                {
                    "origin": None,
                    "tree_size": 0,
                    "root_hash": None,
                    "latest_leaf_hash": None,
                    "signed_at": None,
                    "checkpoint": None,
                    "cosignatures": [],
                }
            )
        latest = log_entry_get(leaf_index=checkpoint.tree_size - 1).leaf_hash
        return Response(
            {
                "origin": checkpoint.origin,
                "latest_leaf_hash": latest,
                **_checkpoint_json(checkpoint),
                "cosignatures": [
                    {"name": c.name, "key_id": c.key_id, "timestamp": c.timestamp}
                    for c in checkpoint_cosignature_list(checkpoint)
                ],
            }
        )


class InclusionProofApi(APIView):
    """``GET .../transparency/inclusion?leaf_index=N|leaf_hash=HEX[&tree_size=N]``."""

    def get(self, request: Request) -> Response:
        """Return ``{leaf_index, leaf_hash, tree_size, inclusion_proof,
        checkpoint}``: the RFC 9162 §2.1.3 audit path (hex hashes) against the
        signed checkpoint of ``tree_size`` (default: the latest)."""
        leaf_hash = request.query_params.get("leaf_hash")
        leaf_index = _int_param(request, "leaf_index", required=leaf_hash is None)
        if leaf_hash is not None:
            if not _HEX64.fullmatch(leaf_hash):
                raise InvalidParameter(
                    "leaf_hash must be 64 lowercase hex characters (SHA-256)",
                    field="leaf_hash",
                )
            entry = log_entry_get(leaf_hash=leaf_hash)
            if leaf_index is not None and leaf_index != entry.leaf_index:
                raise InvalidParameter(
                    f"leaf_hash is at leaf_index {entry.leaf_index}, not {leaf_index}",
                    field="leaf_index",
                )
        else:
            assert leaf_index is not None
            entry = log_entry_get(leaf_index=leaf_index)
        proof, checkpoint = inclusion_proof_get(
            leaf_index=entry.leaf_index,
            tree_size=_int_param(request, "tree_size", required=False),
        )
        return Response(
            {
                "leaf_index": entry.leaf_index,
                "leaf_hash": entry.leaf_hash,
                "inclusion_proof": [h.hex() for h in proof],
                **_checkpoint_json(checkpoint),
            }
        )


class ConsistencyProofApi(APIView):
    """``GET .../transparency/consistency?first=N[&second=N]``."""

    def get(self, request: Request) -> Response:
        """Return ``{first, second, consistency_proof, first_checkpoint,
        second_checkpoint}``: the RFC 9162 §2.1.4 proof (hex hashes) between two
        signed sizes (``second`` defaults to the latest)."""
        first = _int_param(request, "first")
        assert first is not None
        proof, old, new = consistency_proof_get(
            first=first, second=_int_param(request, "second", required=False)
        )
        return Response(
            {
                "first": old.tree_size,
                "second": new.tree_size,
                "consistency_proof": [h.hex() for h in proof],
                "first_checkpoint": checkpoint_note(old),
                "second_checkpoint": checkpoint_note(new),
            }
        )


class LogEntriesApi(APIView):
    """``GET .../transparency/entries?start=N&end=N`` (end exclusive)."""

    def get(self, request: Request) -> Response:
        """Return ``{start, end, tree_size, entries: [{leaf_index, leaf_hash,
        data}], next}``; ``data`` is the logged attestation (JSON), ``next``
        the URL of the following page or null. ``end`` defaults to
        ``start + 100``, capped at the head; at most 1000 entries per page."""
        start = _int_param(request, "start")
        assert start is not None
        head = checkpoint_latest()
        size = head.tree_size if head else 0
        end = _int_param(request, "end", required=False)
        if end is None:
            end = min(start + 100, size) if start < size else start + 1
        entries = log_entry_list(start=start, end=end)
        following = min(end + (end - start), size, end + MAX_ENTRIES_PAGE)
        next_url = (
            request.build_absolute_uri(f"{request.path}?start={end}&end={following}")
            if end < size
            else None
        )
        return Response(
            {
                "start": start,
                "end": end,
                "tree_size": size,
                "entries": [
                    {
                        "leaf_index": e.leaf_index,
                        "leaf_hash": e.leaf_hash,
                        "data": entry_data_json(e),
                    }
                    for e in entries
                ],
                "next": next_url,
            }
        )


class CheckpointListApi(APIView):
    """``GET .../transparency/checkpoints?before=N``: signed checkpoint history."""

    def get(self, request: Request) -> Response:
        """Return ``{checkpoints: [...], next}``, newest first, 100 per page;
        ``before`` (a checkpoint id) continues a previous page."""
        before = _int_param(request, "before", required=False)
        rows = checkpoint_list()
        if before is not None:
            rows = rows.filter(id__lt=before)
        page = list(rows[:100])
        return Response(
            {
                "checkpoints": [{"id": c.id, **_checkpoint_json(c)} for c in page],
                "next": (
                    request.build_absolute_uri(f"{request.path}?before={page[-1].id}")
                    if len(page) == 100
                    else None
                ),
            }
        )


def parse_tile_index(path: str) -> tuple[int, int | None]:
    """Return ``(N, W)`` from a C2SP tlog-tiles index path such as
    ``x001/x234/067`` or ``067.p/8`` (``W`` is ``None`` for a full tile).

    Raises:
        TileNotFound: malformed or non-canonical path (a 404, as a static host
            holding one file per tile would answer).
    """
    try:
        return tiles.parse_tile_index(path)
    except TileError as exc:
        raise TileNotFound(exc.message) from None


def _tile_response(body: bytes) -> HttpResponse:
    response = HttpResponse(body, content_type="application/octet-stream")
    # C2SP tlog-tiles: tiles and entry bundles are immutable. That holds for a
    # partial tile too: ``.p/W`` names the first W hashes (or entries) of the
    # tile, which the append-only log never changes once a signed checkpoint
    # covers them (and only then is it served); a wider tile has another URL.
    response["Cache-Control"] = "public, max-age=31536000, immutable"
    return response


class TlogCheckpointApi(APIView):
    """``GET /tlog/checkpoint``: the latest signed checkpoint, as text."""

    def get(self, request: Request) -> HttpResponse:
        """Return the C2SP signed note (``text/plain; charset=utf-8``)."""
        checkpoint = checkpoint_latest()
        if checkpoint is None:
            raise TileNotFound("the log is empty: no checkpoint yet")
        response = HttpResponse(
            checkpoint_note(checkpoint), content_type="text/plain; charset=utf-8"
        )
        response["Cache-Control"] = "no-cache"
        return response


class TlogTileApi(APIView):
    """``GET /tlog/tile/<L>/<N>[.p/<W>]``: a C2SP tlog-tiles hash tile."""

    def get(self, request: Request, level: str, index: str) -> HttpResponse:
        """Return the tile's concatenated 32-byte hashes.

        Raises:
            TileNotFound: ``L`` is not 0..63 without leading zeroes, or above
                7 (a 64-bit tree has no higher tile), ``N``/``W`` are not
                canonical, or the signed tree does not hold the tile.
        """
        try:
            tile_level = tiles.parse_tile_level(level)
        except TileError as exc:
            raise TileNotFound(exc.message) from None
        if tile_level > 7:
            raise TileNotFound(f"tile level {tile_level} is above 7 (64-bit tree)")
        n, width = parse_tile_index(index)
        return _tile_response(tile_get(level=tile_level, index=n, width=width))


@method_decorator(gzip_page, name="dispatch")
class TlogEntriesTileApi(APIView):
    """``GET /tlog/tile/entries/<N>[.p/<W>]``: a C2SP tlog-tiles entry bundle.

    Served with ``Content-Encoding: gzip`` to clients that accept it (C2SP
    tlog-tiles: entry bundles SHOULD be compressed at the HTTP layer), with
    ``Vary: Accept-Encoding``.
    """

    def get(self, request: Request, index: str) -> HttpResponse:
        """Return the entries, each a big-endian uint16 length and its bytes."""
        n, width = parse_tile_index(index)
        return _tile_response(entries_tile_get(index=n, width=width))
