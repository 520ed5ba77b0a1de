"""The C2SP tlog-witness state machine against in-memory logs."""

from __future__ import annotations

import pytest

from tests.transparency.protocol.fakelog import ORIGIN, FakeLog
from transparency.protocol.errors import (
    WitnessBadSignature,
    WitnessFetchFailed,
    WitnessInconsistent,
    WitnessOriginMismatch,
    WitnessRollback,
)
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    CosignatureSigner,
    generate_key,
    open_note,
)
from transparency.protocol.witness import Witness, WitnessState, witness_checkpoint

NOW = 1_790_000_000


def _signer(name: str = "witness.example/w1") -> tuple[CosignatureSigner, str]:
    skey, vkey = generate_key(name, COSIGNATURE_TYPE)
    signer = CosignatureSigner.from_skey(skey)
    assert isinstance(signer, CosignatureSigner)
    return signer, vkey


def _witness(log: FakeLog, state: WitnessState | None = None) -> Witness:
    signer, _ = _signer()
    return Witness(
        origin=log.origin,
        log_verifier_keys=[log.vkey],
        signer=signer,
        state=state,
        fetch=log.fetch,
        clock=lambda: NOW,
    )


def test_cosigns_a_good_head_and_the_line_verifies_with_open_note() -> None:
    """The line, appended to the log's note, verifies as a 0x04 cosignature
    with the witness timestamp; the state becomes the new checkpoint."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(5)))
    signer, vkey = _signer()
    w = Witness(
        origin=ORIGIN,
        log_verifier_keys=[log.vkey],
        signer=signer,
        state=None,
        fetch=log.fetch,
        clock=lambda: NOW,
    )
    out = w.step()
    assert out.checkpoint.tree_size == 5
    assert w.state == out.state == WitnessState(5, out.checkpoint.root_hash)
    assert log.note is not None
    note = open_note(log.note + out.cosignature, [log.vkey, vkey])
    cosig = [s for s in note.sigs if s.key_type == COSIGNATURE_TYPE]
    assert [(s.name, s.timestamp) for s in cosig] == [("witness.example/w1", NOW)]


def test_follows_a_growing_log_with_consistency_proofs() -> None:
    """Every size from 1 to 40 (all proof shapes) is accepted in turn."""
    log = FakeLog()
    w = _witness(log)
    for i in range(40):
        log.append({"n": i})
        assert w.step().checkpoint.tree_size == i + 1
        if i % 7 == 0:  # re-cosigning the same size is fine
            assert w.step().state.tree_size == i + 1


def test_refuses_a_fork_at_the_same_size_and_a_larger_size() -> None:
    """A second log (same key) with one other leaf is inconsistent both at the
    same size and after it grew; the witness state does not move."""
    honest = FakeLog()
    honest.append(*({"n": i} for i in range(6)))
    w = _witness(honest)
    seen = w.step().state
    forked = FakeLog(signer=honest.signer)
    forked.append(*({"n": i} for i in range(5)), {"n": "evil"})
    w.fetch = forked.fetch
    with pytest.raises(WitnessInconsistent) as exc:
        w.step()
    assert exc.value.code == "witness_inconsistent"
    forked.append({"n": 6}, {"n": 7})
    with pytest.raises(WitnessInconsistent, match="not consistent"):
        w.step()
    assert w.state == seen


def test_refuses_a_rollback() -> None:
    """A checkpoint smaller than the last cosigned one is refused."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(4)))
    w = _witness(log)
    w.step()
    older = FakeLog(signer=log.signer)
    older.append(*({"n": i} for i in range(3)))
    w.fetch = older.fetch
    with pytest.raises(WitnessRollback) as exc:
        w.step()
    assert exc.value.code == "witness_rollback"


def test_refuses_a_note_not_signed_by_the_log_key() -> None:
    """Another key named like the origin, or a tampered body: nothing signed."""
    log = FakeLog()
    log.append({"n": 0})
    impostor = FakeLog()
    impostor.append({"n": 0})
    w = _witness(log)
    w.fetch = impostor.fetch
    with pytest.raises(WitnessBadSignature) as exc:
        w.step()
    assert exc.value.code == "witness_bad_signature"
    assert log.note is not None
    tampered = log.note.replace("\n1\n", "\n2\n", 1)
    with pytest.raises(WitnessBadSignature):
        witness_checkpoint(
            tampered,
            origin=ORIGIN,
            log_verifier_keys=[log.vkey],
            signer=_signer()[0],
            state=None,
            consistency_proof=None,
            timestamp=NOW,
        )


def test_refuses_another_origin() -> None:
    """A log key and checkpoint of another origin is not the followed log."""
    other = FakeLog(origin="other.example/log")
    other.append({"n": 0})
    signer, _ = _signer()
    assert other.note is not None
    with pytest.raises(WitnessOriginMismatch) as exc:
        witness_checkpoint(
            other.note,
            origin=ORIGIN,
            log_verifier_keys=[other.vkey],
            signer=signer,
            state=None,
            consistency_proof=None,
            timestamp=NOW,
        )
    assert exc.value.code == "witness_origin_mismatch"


def test_a_missing_or_wrong_proof_is_inconsistent() -> None:
    """Growth without a proof, or with a truncated proof, is refused."""
    log = FakeLog()
    log.append(*({"n": i} for i in range(3)))
    state = _witness(log).step().state
    log.append({"n": 3}, {"n": 4})
    assert log.note is not None
    for proof in (None, []):
        with pytest.raises(WitnessInconsistent):
            witness_checkpoint(
                log.note,
                origin=ORIGIN,
                log_verifier_keys=[log.vkey],
                signer=_signer()[0],
                state=state,
                consistency_proof=proof,
                timestamp=NOW,
            )


def test_unreachable_or_empty_log_is_a_fetch_failure() -> None:
    """No checkpoint yet, or a fetch error, raises witness_fetch_failed."""
    log = FakeLog()
    with pytest.raises(WitnessFetchFailed):
        _witness(log).step()

    def broken(path: str) -> bytes:
        return b"<html>"

    w = _witness(log)
    w.fetch = broken
    with pytest.raises(WitnessFetchFailed) as exc:
        w.step()
    assert exc.value.code == "witness_fetch_failed"


def test_state_json_round_trip() -> None:
    """from_json(to_json(s)) == s; malformed state is refused."""
    state = WitnessState(7, bytes(range(32)))
    assert WitnessState.from_json(state.to_json()) == state
    with pytest.raises(ValueError):
        WitnessState.from_json({"tree_size": -1, "root_hash": "00" * 32})
    with pytest.raises(ValueError):
        WitnessState.from_json({"tree_size": 1, "root_hash": "00"})
