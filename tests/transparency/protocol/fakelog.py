"""An in-memory log that serves the documented read API to an injected
fetcher: RFC 9162 proofs from :mod:`transparency.protocol.merkle`, checkpoints
signed with :mod:`transparency.protocol.note` (no mocks of our crypto)."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qs, urlsplit

from kernel.protocol.jcs import canonical_json
from transparency.protocol.checkpoint import CheckpointBody
from transparency.protocol.errors import FetchError
from transparency.protocol.merkle import (
    MemoryNodeStore,
    consistency_proof,
    leaf_hash,
    tree_root,
)
from transparency.protocol.note import NoteSigner, generate_key, sign_note

ORIGIN = "fake.example/log"


class FakeLog:
    """A log of JSON entries; ``fetch`` answers head, consistency, entries."""

    def __init__(self, origin: str = ORIGIN, signer: NoteSigner | None = None):
        if signer is None:
            skey, _ = generate_key(origin)
            signer = NoteSigner.from_skey(skey)
        self.origin = origin
        self.signer = signer
        self.vkey = signer.verifier_key()
        self.store = MemoryNodeStore()
        self.datas: list[Any] = []
        self.page_cap = 1000
        self.note: str | None = None
        # Hooks a test may set to tamper with what is served.
        self.tamper_head: Callable[[dict[str, Any]], None] | None = None
        self.tamper_entry: Callable[[dict[str, Any]], None] | None = None

    def append(self, *datas: Any) -> None:
        """Append entries and sign a checkpoint of the new size."""
        for data in datas:
            self.datas.append(data)
            self.store.append(leaf_hash(canonical_json(data)))
        self.sign()

    def sign(self) -> None:
        size = len(self.datas)
        body = CheckpointBody(
            origin=self.origin,
            tree_size=size,
            root_hash=tree_root(size, self.store.get_node),
        ).to_text()
        self.note = sign_note(body, self.signer)

    @property
    def size(self) -> int:
        return len(self.datas)

    def fetch(self, path: str) -> bytes:
        """Serve ``path`` as the real API would (JSON bytes)."""
        url = urlsplit(path)
        q = {k: int(v[0]) for k, v in parse_qs(url.query).items()}
        if url.path.endswith("/head"):
            size = self.size
            body: dict[str, Any] = {
                "origin": self.origin,
                "tree_size": size,
                "root_hash": tree_root(size, self.store.get_node).hex()
                if size
                else None,
                "checkpoint": self.note,
            }
            if self.tamper_head:
                self.tamper_head(body)
        elif url.path.endswith("/consistency"):
            proof = consistency_proof(q["first"], q["second"], self.store.get_node)
            body = {
                "first": q["first"],
                "second": q["second"],
                "consistency_proof": [h.hex() for h in proof],
            }
        elif url.path.endswith("/entries"):
            start, end = q["start"], min(q["end"], q["start"] + self.page_cap)
            entries = []
            for i in range(start, end):
                item = {
                    "leaf_index": i,
                    "leaf_hash": leaf_hash(canonical_json(self.datas[i])).hex(),
                    "data": self.datas[i],
                }
                if self.tamper_entry:
                    self.tamper_entry(item)
                entries.append(item)
            body = {
                "start": start,
                "end": end,
                "tree_size": self.size,
                "entries": entries,
                "next": None,
            }
        else:
            raise FetchError(f"GET {path}: HTTP 404")
        return json.dumps(body).encode()
