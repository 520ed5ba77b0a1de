"""The log monitor: compact-range frontier and checks against in-memory logs."""

from __future__ import annotations

import hashlib
from typing import Any

import pytest

from kernel.protocol.jcs import canonical_json
from tests.transparency.protocol.fakelog import ORIGIN, FakeLog
from transparency.protocol.errors import MerkleError
from transparency.protocol.merkle import (
    EMPTY_ROOT,
    MemoryNodeStore,
    leaf_hash,
    root_hash,
    tree_root,
)
from transparency.protocol.monitor import (
    MONITOR_CODES,
    VerifiedTreeState,
    frontier_append,
    frontier_root,
    monitor_check,
)


def _h(i: int) -> bytes:
    return hashlib.sha256(b"leaf %d" % i).digest()


@pytest.mark.parametrize("step", [1, 3, 7, 64])
def test_frontier_root_matches_two_independent_root_computations(step: int) -> None:
    """Appending in chunks of ``step``, the frontier root equals MTH computed
    level by level (merkle.root_hash) and from stored full subtrees."""
    store = MemoryNodeStore()
    frontier: list[bytes] = []
    size = 0
    hashes = [_h(i) for i in range(300)]
    assert frontier_root(frontier, 0) == EMPTY_ROOT
    while size < len(hashes):
        chunk = hashes[size : size + step]
        for h in chunk:
            store.append(h)
        frontier, size = frontier_append(frontier, size, chunk)
        assert len(frontier) == bin(size).count("1")
        expected = root_hash(hashes[:size])
        assert frontier_root(frontier, size) == expected
        assert tree_root(size, store.get_node) == expected


def test_frontier_must_match_the_size() -> None:
    """A frontier with the wrong number of hashes is refused."""
    with pytest.raises(MerkleError):
        frontier_root([_h(0)], 3)
    with pytest.raises(MerkleError):
        VerifiedTreeState(tree_size=1, root_hash=_h(1), frontier=(_h(0),))


def _check(log: FakeLog, state: VerifiedTreeState | None = None, **kw: Any) -> Any:
    return monitor_check(
        fetch=log.fetch, origin=ORIGIN, log_verifier_keys=[log.vkey], state=state, **kw
    )


def test_follows_a_growing_log_reading_only_new_entries() -> None:
    """Each run verifies the new checkpoint and reads only the new entries,
    page by page (short pages included); the state round-trips as JSON."""
    log = FakeLog()
    log.page_cap = 7
    state = None
    for batch in (1, 4, 30, 1, 64):
        log.append(*({"n": log.size + k} for k in range(batch)))
        result = _check(log, state, page_size=10)
        assert result.ok, result.problems
        assert result.entries_checked == batch
        state = VerifiedTreeState.from_json(result.state.to_json())
        assert state.tree_size == log.size
    again = _check(log, state)
    assert again.ok and again.entries_checked == 0


def _problem(result: Any) -> str:
    assert not result.ok
    (code, message), *_ = result.problems
    assert code in MONITOR_CODES
    return str(code)


def test_bad_checkpoint_signature() -> None:
    """A checkpoint signed by another key (same name) is monitor_bad_signature."""
    log = FakeLog()
    log.append({"n": 0})
    impostor = FakeLog()
    impostor.append({"n": 0})
    log.tamper_head = lambda body: body.update(checkpoint=impostor.note)
    assert _problem(_check(log)) == "monitor_bad_signature"


def test_forged_checkpoint_inconsistent_with_the_last() -> None:
    """A fork signed by the log key (one leaf differs) fails the consistency
    check; the old state is kept."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(5)))
    state = _check(log).state
    fork = FakeLog(signer=log.signer)
    fork.append({"n": 0}, {"n": "x"}, *({"n": i} for i in range(2, 9)))
    result = _check(fork, state)
    assert _problem(result) == "monitor_inconsistent"
    assert result.state == state
    same_size = FakeLog(signer=log.signer)
    same_size.append(*({"n": i} for i in range(4)), {"n": "y"})
    assert _problem(_check(same_size, state)) == "monitor_inconsistent"


def test_rollback() -> None:
    """A smaller signed checkpoint than the verified one is a rollback."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(5)))
    state = _check(log).state
    short = FakeLog(signer=log.signer)
    short.append(*({"n": i} for i in range(3)))
    assert _problem(_check(short, state)) == "monitor_rollback"


def test_entry_data_that_does_not_hash_to_its_leaf_hash() -> None:
    """Served data altered under an unchanged leaf_hash is detected."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(4)))

    def tamper(item: dict[str, Any]) -> None:
        if item["leaf_index"] == 2:
            item["data"] = {"n": 99}

    log.tamper_entry = tamper
    assert _problem(_check(log)) == "monitor_entry_hash_mismatch"


def test_entries_that_do_not_hash_to_the_root() -> None:
    """Data and leaf_hash altered together hash to another root."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(4)))

    def tamper(item: dict[str, Any]) -> None:
        if item["leaf_index"] == 1:
            item["data"] = {"n": 99}
            item["leaf_hash"] = leaf_hash(canonical_json({"n": 99})).hex()

    log.tamper_entry = tamper
    assert _problem(_check(log)) == "monitor_root_mismatch"


def test_head_json_that_disagrees_with_the_signed_note() -> None:
    """An unsigned head field that differs from the note is reported."""
    log = FakeLog()
    log.append({"n": 0})
    log.tamper_head = lambda body: body.update(tree_size=2)
    assert _problem(_check(log)) == "monitor_head_mismatch"


def test_unreachable_log_and_empty_log() -> None:
    """A fetch failure is a problem; an empty log is fine."""
    assert _check(FakeLog()).ok

    def down(path: str) -> bytes:
        from transparency.protocol.errors import FetchError

        raise FetchError("connection refused")

    result = monitor_check(fetch=down, origin=ORIGIN, log_verifier_keys=[])
    assert _problem(result) == "monitor_fetch_failed"
