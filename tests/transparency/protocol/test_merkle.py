"""RFC 9162 §2.1 Merkle hashing and proofs against published vectors.

Vectors live in ``tests/vectors/tlog/`` (copied from transparency-dev/merkle;
see the README there). The property tests compare against an independent,
naive recursive MTH written below.
"""

from __future__ import annotations

import hashlib
import math
from typing import Any

import pytest

from tests.transparency.protocol.vectors import load
from transparency.protocol import merkle
from transparency.protocol.errors import (
    ConsistencyProofError,
    InclusionProofError,
    MerkleError,
)
from transparency.protocol.merkle import (
    EMPTY_ROOT,
    HASH_SIZE,
    MemoryNodeStore,
    consistency_proof,
    inclusion_proof,
    leaf_hash,
    new_nodes,
    node_hash,
    root_hash,
    subtree_hash,
    tree_root,
    verify_consistency,
    verify_inclusion,
)

TREE8 = load("rfc6962_tree_8_leaves.json")
TREE8_LEAVES = [leaf_hash(bytes.fromhex(x)) for x in TREE8["leaf_inputs_hex"]]
INCLUSION_CASES = load("inclusion_proofs.json")["cases"]
CONSISTENCY_CASES = load("consistency_proofs.json")["cases"]


def naive_mth(leaves: list[bytes]) -> bytes:
    """Reference MTH straight from the RFC 9162 §2.1.1 recursion."""
    if not leaves:
        return hashlib.sha256(b"").digest()
    if len(leaves) == 1:
        return leaves[0]
    k = 1
    while k * 2 < len(leaves):
        k *= 2
    left, right = naive_mth(leaves[:k]), naive_mth(leaves[k:])
    return hashlib.sha256(b"\x01" + left + right).digest()


MAX_N = 64
LEAVES = [leaf_hash(b"leaf %d" % i) for i in range(MAX_N)]
ROOTS = [naive_mth(LEAVES[:n]) for n in range(MAX_N + 1)]


@pytest.fixture(scope="module")
def store() -> MemoryNodeStore:
    return MemoryNodeStore(LEAVES)


def flip(h: bytes, bit: int = 0) -> bytes:
    return h[: bit // 8] + bytes([h[bit // 8] ^ (1 << (bit % 8))]) + h[bit // 8 + 1 :]


# --- primitives -------------------------------------------------------------


@pytest.mark.parametrize("case", load("rfc6962_hashes.json")["cases"])
def test_rfc6962_hash_vectors(case: dict[str, str]) -> None:
    """Leaf, node and empty-tree hashes equal the transparency-dev vectors."""
    expected = bytes.fromhex(case["expected_hex"])
    if case["kind"] == "empty_root":
        assert EMPTY_ROOT == expected
        assert root_hash([]) == expected
    elif case["kind"] == "leaf":
        assert leaf_hash(bytes.fromhex(case["input_hex"])) == expected
    else:
        left, right = bytes.fromhex(case["left_hex"]), bytes.fromhex(case["right_hex"])
        assert node_hash(left, right) == expected


def test_tree8_nodes_and_roots() -> None:
    """Every full-subtree hash and every root 0..8 matches the 8-leaf vector."""
    assert [h.hex() for h in TREE8_LEAVES] == TREE8["node_hashes_hex"][0]
    s = MemoryNodeStore(TREE8_LEAVES)
    for level, row in enumerate(TREE8["node_hashes_hex"]):
        for index, expected in enumerate(row):
            assert s.get_node(level, index).hex() == expected
    for size, expected in TREE8["roots_hex_by_tree_size"].items():
        n = int(size)
        assert root_hash(TREE8_LEAVES[:n]).hex() == expected
        assert tree_root(n, s.get_node).hex() == expected
        assert s.root(n).hex() == expected


def test_root_hash_matches_naive_reference() -> None:
    """root_hash() equals the recursive reference MTH for sizes 0..64."""
    for n in range(MAX_N + 1):
        assert root_hash(LEAVES[:n]) == ROOTS[n]


def test_root_hash_rejects_short_leaf() -> None:
    """A 31-byte leaf hash is a MerkleError, never silently accepted."""
    with pytest.raises(MerkleError) as exc:
        root_hash([b"\x00" * 31])
    assert exc.value.code == "merkle_error"


# --- storage ----------------------------------------------------------------


def test_memory_store_append_returns_indices_and_roots() -> None:
    """append() returns zero-based indices; root() tracks the naive MTH."""
    s = MemoryNodeStore()
    assert s.tree_size == 0
    assert s.root() == EMPTY_ROOT
    for i, h in enumerate(LEAVES[:20]):
        assert s.append(h) == i
        assert s.tree_size == i + 1
        assert s.root() == ROOTS[i + 1]


def test_memory_store_missing_node_is_merkle_error(store: MemoryNodeStore) -> None:
    """A node that is not a complete subtree yet raises MerkleError."""
    with pytest.raises(MerkleError) as exc:
        store.get_node(7, 0)  # 128 leaves, the store holds 64
    assert exc.value.code == "merkle_error"
    with pytest.raises(MerkleError):
        store.root(MAX_N + 1)


def test_memory_store_extend_rejects_bad_hash_atomically() -> None:
    """A malformed hash in a batch leaves the store unchanged."""
    s = MemoryNodeStore(LEAVES[:3])
    with pytest.raises(MerkleError):
        s.extend([LEAVES[3], b"short"])
    assert s.tree_size == 3
    assert s.root() == ROOTS[3]


@pytest.mark.parametrize(
    "batches", [[64], [1] * 64, [3, 5, 7, 13, 36], [32, 32], [0, 63, 1]]
)
def test_new_nodes_batches_equal_and_read_only_prior_nodes(batches: list[int]) -> None:
    """Batch appends produce the same full subtrees however the leaves are split.

    get_node is only asked for nodes stored before the batch, and every node
    comes after its two children in the returned order.
    """
    stored: dict[tuple[int, int], bytes] = {}
    size = 0
    for count in batches:
        before = dict(stored)
        reads: list[tuple[int, int]] = []

        def reader(
            level: int, index: int, before: Any = before, reads: Any = reads
        ) -> bytes:
            reads.append((level, index))
            return before[(level, index)]  # KeyError fails the test

        out = new_nodes(size, LEAVES[size : size + count], reader)
        assert len(reads) <= max(1, int(math.log2(size + 1)) + 1)
        seen = set(before)
        for level, index, h in out:
            assert (level, index) not in seen
            if level > 0:
                assert (level - 1, 2 * index) in seen
                assert (level - 1, 2 * index + 1) in seen
            seen.add((level, index))
            stored[(level, index)] = h
        size += count
    expected = MemoryNodeStore(LEAVES)
    assert stored == expected._nodes
    assert len(stored) == 2 * MAX_N - 1


# --- RFC vectors ------------------------------------------------------------


def _inclusion_id(case: dict[str, Any]) -> str:
    return str(case["source_path"]).removeprefix("testdata/inclusion/")


@pytest.mark.parametrize("case", INCLUSION_CASES, ids=_inclusion_id)
def test_inclusion_vectors(case: dict[str, Any]) -> None:
    """Each transparency-dev inclusion probe gets the peer's verdict."""
    args = (
        bytes.fromhex(case["leaf_hash_hex"]),
        case["leaf_index"],
        case["tree_size"],
        [bytes.fromhex(x) for x in case["proof_hex"]],
        bytes.fromhex(case["root_hex"]),
    )
    if case["expect_valid"]:
        verify_inclusion(*args)
    else:
        with pytest.raises(InclusionProofError) as exc:
            verify_inclusion(*args)
        assert exc.value.code == "inclusion_proof_invalid"


def _over_tree8(case: dict[str, Any]) -> bool:
    leaf = bytes.fromhex(case["leaf_hash_hex"])
    return bool(case["expect_valid"]) and leaf == TREE8_LEAVES[case["leaf_index"]]


@pytest.mark.parametrize(
    "case", [c for c in INCLUSION_CASES if _over_tree8(c)], ids=_inclusion_id
)
def test_inclusion_vectors_are_what_we_generate(case: dict[str, Any]) -> None:
    """Our generated PATH equals each published valid proof on the 8-leaf tree."""
    s = MemoryNodeStore(TREE8_LEAVES)
    proof = inclusion_proof(case["leaf_index"], case["tree_size"], s.get_node)
    assert [h.hex() for h in proof] == case["proof_hex"]


def _consistency_id(case: dict[str, Any]) -> str:
    return str(case["source_path"]).removeprefix("testdata/consistency/")


def _strict(case: dict[str, Any]) -> bool:
    return bool(case.get("rfc_strict_expect_valid", case["expect_valid"]))


@pytest.mark.parametrize("case", CONSISTENCY_CASES, ids=_consistency_id)
def test_consistency_vectors(case: dict[str, Any]) -> None:
    """Each consistency probe gets the RFC-strict verdict (README)."""
    args = (
        case["size1"],
        case["size2"],
        [bytes.fromhex(x) for x in case["proof_hex"]],
        bytes.fromhex(case["root1_hex"]),
        bytes.fromhex(case["root2_hex"]),
    )
    if _strict(case):
        verify_consistency(*args)
    else:
        with pytest.raises(ConsistencyProofError) as exc:
            verify_consistency(*args)
        assert exc.value.code == "consistency_proof_invalid"


def test_peer_lenient_equal_size_short_roots_rejected() -> None:
    """Regression: 12-byte 'roots' with equal sizes are rejected (README note)."""
    (case,) = [c for c in CONSISTENCY_CASES if "rfc_strict_expect_valid" in c]
    assert case["expect_valid"] is True
    with pytest.raises(ConsistencyProofError, match="12 bytes, expected 32"):
        verify_consistency(
            1, 1, [], bytes.fromhex(case["root1_hex"]), bytes.fromhex(case["root2_hex"])
        )


@pytest.mark.parametrize(
    "case", [c for c in CONSISTENCY_CASES if _strict(c)], ids=_consistency_id
)
def test_consistency_vectors_are_what_we_generate(case: dict[str, Any]) -> None:
    """Our generated PROOF equals each published valid proof."""
    s = MemoryNodeStore(TREE8_LEAVES)
    proof = consistency_proof(case["size1"], case["size2"], s.get_node)
    assert [h.hex() for h in proof] == case["proof_hex"]


# --- properties over every tree up to 64 leaves ----------------------------


def test_inclusion_property_all_sizes(store: MemoryNodeStore) -> None:
    """Every PATH verifies; every tampered variant is rejected."""
    for n in range(1, MAX_N + 1):
        root = ROOTS[n]
        for i in range(n):
            proof = inclusion_proof(i, n, store.get_node)
            assert len(proof) == merkle.inclusion_proof_size(i, n)
            verify_inclusion(LEAVES[i], i, n, proof, root)
            bad_proofs = [
                proof[:j] + [flip(p, j * 7)] + proof[j + 1 :]
                for j, p in enumerate(proof)
            ]
            bad_proofs += [proof + [LEAVES[0]]]
            if proof:
                bad_proofs += [proof[:-1], proof[1:]]
            for bad in bad_proofs:
                with pytest.raises(InclusionProofError):
                    verify_inclusion(LEAVES[i], i, n, bad, root)
            with pytest.raises(InclusionProofError):
                verify_inclusion(flip(LEAVES[i]), i, n, proof, root)
            with pytest.raises(InclusionProofError):
                verify_inclusion(LEAVES[i], i, n, proof, flip(root, 255))
            for j in range(n):
                if j != i:
                    with pytest.raises(InclusionProofError):
                        verify_inclusion(LEAVES[i], j, n, proof, root)
            for m in range(i + 1, MAX_N + 1):
                if m != n:
                    with pytest.raises(InclusionProofError):
                        verify_inclusion(LEAVES[i], i, m, proof, ROOTS[m])
            with pytest.raises(InclusionProofError):
                verify_inclusion(LEAVES[i], i, i, proof, root)


def test_consistency_property_all_sizes(store: MemoryNodeStore) -> None:
    """Every PROOF(m, n) verifies; tampered proofs, sizes and roots fail."""
    for n in range(1, MAX_N + 1):
        for m in range(1, n + 1):
            proof = consistency_proof(m, n, store.get_node)
            assert len(proof) == merkle.consistency_proof_size(m, n)
            verify_consistency(m, n, proof, ROOTS[m], ROOTS[n])
            bad_proofs = [
                proof[:j] + [flip(p, j * 5)] + proof[j + 1 :]
                for j, p in enumerate(proof)
            ]
            bad_proofs += [proof + [LEAVES[0]]]
            if proof:
                bad_proofs += [proof[:-1], proof[1:]]
            for bad in bad_proofs:
                with pytest.raises(ConsistencyProofError):
                    verify_consistency(m, n, bad, ROOTS[m], ROOTS[n])
            with pytest.raises(ConsistencyProofError):
                verify_consistency(m, n, proof, flip(ROOTS[m]), ROOTS[n])
            with pytest.raises(ConsistencyProofError):
                verify_consistency(m, n, proof, ROOTS[m], flip(ROOTS[n]))
            for m2 in (m - 1, m + 1):
                if 1 <= m2 <= n:
                    with pytest.raises(ConsistencyProofError):
                        verify_consistency(m2, n, proof, ROOTS[m2], ROOTS[n])
            for n2 in (n - 1, n + 1):
                if m <= n2 <= MAX_N and n2 != n:
                    with pytest.raises(ConsistencyProofError):
                        verify_consistency(m, n2, proof, ROOTS[m], ROOTS[n2])


def test_subtree_hash_matches_reference_for_proof_ranges(
    store: MemoryNodeStore,
) -> None:
    """subtree_hash equals the naive MTH over [k*2^j, end) ranges."""
    for end in range(1, MAX_N + 1):
        for width in (1, 2, 4, 8, 16, 32):
            start = (end - 1) // width * width
            assert subtree_hash(start, end, store.get_node) == naive_mth(
                LEAVES[start:end]
            )
    with pytest.raises(MerkleError):
        subtree_hash(3, 3, store.get_node)
    with pytest.raises(MerkleError):
        subtree_hash(1, 5, store.get_node)  # not left-balanced


def test_proofs_use_logarithmic_reads() -> None:
    """Proof generation reads O(log n) nodes: at most 2*log2(n) + 2."""
    size = 5000
    s = MemoryNodeStore(leaf_hash(i.to_bytes(4, "big")) for i in range(size))
    reads = 0

    def counting(level: int, index: int) -> bytes:
        nonlocal reads
        reads += 1
        return s.get_node(level, index)

    bound = 2 * math.log2(size) + 2
    for n in (size, 4097, 4096, 3333):
        for i in (0, 1, n // 2, n - 2, n - 1):
            reads = 0
            inclusion_proof(i, n, counting)
            assert reads <= bound, (i, n, reads)
        for m in (1, 2, 3, 1000, n // 2 + 1, n - 1, n):
            reads = 0
            consistency_proof(m, n, counting)
            assert reads <= bound, (m, n, reads)
    reads = 0
    tree_root(size, counting)
    assert reads == bin(size).count("1")


# --- strict input checks ---------------------------------------------------


def test_inclusion_error_message_gives_expected_and_found() -> None:
    """Wrong proof length names the found and expected counts (CONVENTIONS §4)."""
    s = MemoryNodeStore(LEAVES[:12])
    proof = s.inclusion_proof(5)
    with pytest.raises(InclusionProofError) as exc:
        verify_inclusion(LEAVES[5], 5, 12, proof[:3], ROOTS[12])
    assert exc.value.message == (
        "inclusion proof has 3 hashes, expected 4 for leaf_index 5, tree_size 12"
    )


@pytest.mark.parametrize(
    "kwargs",
    [
        {"leaf_hash": b"\x00" * 31},
        {"leaf_hash": b"\x00" * 33},
        {"root_hash": b"\x00" * 31},
        {"leaf_index": -1},
        {"leaf_index": 1},
        {"tree_size": 0},
        {"proof": [b"\x00" * 31]},
        {"proof": b"\x00" * 32},
    ],
)
def test_verify_inclusion_rejects_malformed_input(kwargs: dict[str, Any]) -> None:
    """Non-32-byte hashes and out-of-range indices raise, never truncate."""
    args: dict[str, Any] = {
        "leaf_hash": LEAVES[0],
        "leaf_index": 0,
        "tree_size": 1,
        "proof": [],
        "root_hash": LEAVES[0],
    }
    verify_inclusion(**args)
    args.update(kwargs)
    with pytest.raises(InclusionProofError) as exc:
        verify_inclusion(**args)
    assert exc.value.code == "inclusion_proof_invalid"


@pytest.mark.parametrize(
    ("size1", "size2", "proof", "root1", "root2"),
    [
        (0, 0, [], EMPTY_ROOT, EMPTY_ROOT),
        (0, 1, [], EMPTY_ROOT, ROOTS[1]),
        (2, 1, [], ROOTS[2], ROOTS[1]),
        (2, 2, [ROOTS[1]], ROOTS[2], ROOTS[2]),
        (2, 2, [], ROOTS[2], ROOTS[3]),
        (1, 2, [], ROOTS[1], ROOTS[2]),
        (1, 2, [LEAVES[1][:31]], ROOTS[1], ROOTS[2]),
        (1, 2, [LEAVES[1]], ROOTS[1][:31], ROOTS[2]),
    ],
)
def test_verify_consistency_edge_cases_rejected(
    size1: int, size2: int, proof: list[bytes], root1: bytes, root2: bytes
) -> None:
    """Size 0, size1 > size2, non-empty equal-size and short hashes fail."""
    with pytest.raises(ConsistencyProofError) as exc:
        verify_consistency(size1, size2, proof, root1, root2)
    assert exc.value.code == "consistency_proof_invalid"


def test_generation_rejects_out_of_range(store: MemoryNodeStore) -> None:
    """Proof generation outside the tree raises MerkleError."""
    for call in (
        lambda: inclusion_proof(4, 4, store.get_node),
        lambda: inclusion_proof(-1, 4, store.get_node),
        lambda: consistency_proof(0, 4, store.get_node),
        lambda: consistency_proof(5, 4, store.get_node),
        lambda: store.inclusion_proof(0, MAX_N + 1),
    ):
        with pytest.raises(MerkleError) as exc:
            call()
        assert exc.value.code == "merkle_error"
    assert consistency_proof(4, 4, store.get_node) == []
    assert HASH_SIZE == 32
