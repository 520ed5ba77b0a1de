"""C2SP tlog-checkpoint bodies: strict parsing, round trips, signed checkpoints.

Vectors: ``tests/vectors/tlog/checkpoints.json``. Cases the peer accepts
leniently (``peer_lenient``: roots that are not 32 bytes, empty trailing
lines) must be rejected here.
"""

from __future__ import annotations

import base64
from typing import Any

import nacl.signing
import pytest

from tests.transparency.protocol.vectors import load
from transparency.protocol.checkpoint import (
    MAX_TREE_SIZE,
    CheckpointBody,
    open_checkpoint,
    parse_checkpoint,
)
from transparency.protocol.errors import CheckpointError, UnknownVerifierError
from transparency.protocol.merkle import MemoryNodeStore, leaf_hash
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    NoteSigner,
    generate_key,
    sign_cosignature,
    sign_note,
)

DATA = load("checkpoints.json")
BODY_CASES = DATA["body_parse_cases"]
ROOT = bytes(range(32))


def _strictly_valid(case: dict[str, Any]) -> bool:
    return case["peer_expect"] == "ok" and not case.get("peer_lenient")


@pytest.mark.parametrize(
    "case", [c for c in BODY_CASES if _strictly_valid(c)], ids=lambda c: c["name"]
)
def test_valid_bodies_parse(case: dict[str, Any]) -> None:
    """Strictly valid bodies parse to the expected fields and round-trip."""
    cp = parse_checkpoint(case["body"])
    want = case["expect_parse"]
    assert cp.origin == want["origin"]
    assert cp.tree_size == want["tree_size"]
    assert cp.root_hash.hex() == want["root_hex"]
    assert list(cp.extensions) == want.get("extension_lines", [])
    assert cp.to_text() == case["body"]


@pytest.mark.parametrize(
    "case", [c for c in BODY_CASES if not _strictly_valid(c)], ids=lambda c: c["name"]
)
def test_invalid_and_peer_lenient_bodies_rejected(case: dict[str, Any]) -> None:
    """Peer rejects and peer-lenient bodies both raise CheckpointError."""
    with pytest.raises(CheckpointError) as exc:
        parse_checkpoint(case["body"])
    assert exc.value.code == "checkpoint_invalid"


def test_peer_lenient_cases_exist() -> None:
    """The vector file still holds the five lenient cases we must reject."""
    assert sum(1 for c in BODY_CASES if c.get("peer_lenient")) == 5


def test_c2sp_spec_example_body() -> None:
    """The C2SP example's note text parses to origin, size and root."""
    example = DATA["spec_examples"][0]
    body = example["signed_note"].split("\n\n", 1)[0] + "\n"
    cp = parse_checkpoint(body)
    want = example["expect_parse"]
    assert (cp.origin, cp.tree_size, cp.root_hash.hex(), list(cp.extensions)) == (
        want["origin"],
        want["tree_size"],
        want["root_hex"],
        want["extension_lines"],
    )
    assert cp.to_text() == body
    line = example["signed_note"].split("\n\n", 1)[1].rstrip("\n")
    (sig_line,) = example["signature_lines"]
    payload = base64.b64decode(line.split(" ")[-1])
    assert payload[:4].hex() == sig_line["key_id_hex"]
    assert len(payload) - 4 == sig_line["sig_len"]


ROOT_B64 = base64.b64encode(ROOT).decode()
URLSAFE_ROOT_B64 = base64.urlsafe_b64encode(bytes([0xFF] * 32)).decode()
LONG_ROOT_B64 = base64.b64encode(ROOT + b"x").decode()


@pytest.mark.parametrize(
    "body",
    [
        f"log\n007\n{ROOT_B64}\n",
        f"log\n+7\n{ROOT_B64}\n",
        f"log\n 7\n{ROOT_B64}\n",
        f"log\n7 \n{ROOT_B64}\n",
        f"log\n\u0667\n{ROOT_B64}\n",  # Arabic-Indic digit seven
        f"log\n{MAX_TREE_SIZE + 1}\n{ROOT_B64}\n",
        f"log\n7\n{ROOT_B64.rstrip('=')}\n",
        f"log\n7\n{URLSAFE_ROOT_B64}\n",
        f"log\n7\n{LONG_ROOT_B64}\n",
        f"log\n7\n{ROOT_B64}\n\n",
        f"log\n7\n{ROOT_B64}\next\n\n",
        f"log\n7\n{ROOT_B64}\r\n",
        f"lo\tg\n7\n{ROOT_B64}\n",
        f"\n7\n{ROOT_B64}\n",
        "",
    ],
)
def test_strictness(body: str) -> None:
    """Leading zeros, signs, spaces, non-ASCII digits, overflow, bad base64,
    blank lines and control characters are rejected."""
    with pytest.raises(CheckpointError) as exc:
        parse_checkpoint(body)
    assert exc.value.code == "checkpoint_invalid"


@pytest.mark.parametrize(
    "cp",
    [
        CheckpointBody("log", 0, ROOT),
        CheckpointBody("example.com/behind-the-sofa", MAX_TREE_SIZE, ROOT),
        CheckpointBody("o", 12, ROOT, ("ext one", "— ext two")),
    ],
)
def test_round_trip(cp: CheckpointBody) -> None:
    """parse_checkpoint(cp.to_text()) == cp."""
    assert parse_checkpoint(cp.to_text()) == cp


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"origin": ""}, "origin"),
        ({"origin": "a\nb"}, "origin"),
        ({"tree_size": -1}, "tree_size"),
        ({"tree_size": MAX_TREE_SIZE + 1}, "tree_size"),
        ({"tree_size": True}, "tree_size"),
        ({"root_hash": ROOT[:31]}, "root_hash"),
        ({"root_hash": ROOT.hex()}, "root_hash"),
        ({"extensions": ("",)}, "extensions[0]"),
        ({"extensions": ("ok", "x\ny")}, "extensions[1]"),
        ({"extensions": ["list"]}, "extensions"),
    ],
)
def test_constructor_validates(kwargs: dict[str, Any], field: str) -> None:
    """A CheckpointBody that could not be serialised strictly cannot be built."""
    args: dict[str, Any] = {"origin": "log", "tree_size": 1, "root_hash": ROOT}
    args.update(kwargs)
    with pytest.raises(CheckpointError) as exc:
        CheckpointBody(**args)
    assert exc.value.field == field


def test_open_checkpoint_signed_by_log_and_cosigned() -> None:
    """A signed checkpoint over a real tree opens; origin and signer are checked."""
    store = MemoryNodeStore(leaf_hash(b"%d" % i) for i in range(10))
    log = NoteSigner("meterproof.example/log", nacl.signing.SigningKey.generate())
    cp = CheckpointBody(log.name, store.tree_size, store.root())
    signed = sign_note(cp.to_text(), log)
    w_skey, w_vkey = generate_key("witness.example", COSIGNATURE_TYPE)
    cosigned = signed + sign_cosignature(cp.to_text(), w_skey, 1_800_000_000)

    got, note = open_checkpoint(cosigned, log.name, [log.verifier_key(), w_vkey])
    assert got == cp
    assert [s.timestamp for s in note.sigs] == [None, 1_800_000_000]

    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(signed, "other.example/log", [log.verifier_key()])
    # Only the witness is trusted: the note opens, but the log's key is missing.
    with pytest.raises(CheckpointError, match="no verified signature"):
        open_checkpoint(cosigned, log.name, [w_vkey])
    with pytest.raises(UnknownVerifierError):
        open_checkpoint(signed, log.name, [w_vkey])


def test_open_checkpoint_rejects_signed_non_checkpoint() -> None:
    """A validly signed note whose text is not a checkpoint is rejected."""
    log = NoteSigner("log", nacl.signing.SigningKey.generate())
    signed = sign_note("log\n5\nnot-a-root\n", log)
    with pytest.raises(CheckpointError) as exc:
        open_checkpoint(signed, "log", [log.verifier_key()])
    assert exc.value.field == "root_hash"
