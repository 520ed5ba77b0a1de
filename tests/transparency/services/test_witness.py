"""Witnessing end to end: a real log (log_append), the witness reading it
through the HTTP API in-process, cosignatures stored and served."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from tests.transparency.log_support import log_append
from transparency.fetchers import local_fetcher, local_poster
from transparency.models import Checkpoint, Cosignature, LogEntry, LogNode, LogState
from transparency.protocol.checkpoint import open_checkpoint
from transparency.protocol.errors import WitnessInconsistent, WitnessRollback
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    CosignatureSigner,
    NoteSigner,
    generate_key,
    open_note,
)
from transparency.protocol.witness import Witness
from transparency.selectors_witness import checkpoint_note_cosigned

pytestmark = pytest.mark.django_db

API = "/api/vdi/billing/transparency"
ORIGIN = "test.example/log"


@pytest.fixture
def log_key() -> tuple[NoteSigner, str]:
    """The log operator's note key for these tests."""
    skey, vkey = generate_key(ORIGIN)
    return NoteSigner.from_skey(skey), vkey


@pytest.fixture
def witness_key(settings: Any) -> tuple[CosignatureSigner, str]:
    """A witness key, configured on the log."""
    skey, vkey = generate_key("witness.example/w1", COSIGNATURE_TYPE)
    settings.VDI_BILLING_LOG_WITNESS_KEYS = [vkey]
    signer = CosignatureSigner.from_skey(skey)
    assert isinstance(signer, CosignatureSigner)
    return signer, vkey


def _append(signer: NoteSigner, *labels: str) -> None:
    log_append(
        entries=[f'{{"leaf":"{x}"}}'.encode() for x in labels],
        signer=signer,
        origin=ORIGIN,
    )


def _wipe_log() -> None:
    """Drop every log row: the next appends build a different log."""
    Cosignature.objects.all().delete()
    Checkpoint.objects.all().delete()
    for entry in LogEntry.objects.order_by("-leaf_index"):
        entry.delete()  # newest first: each is its successor's PROTECTed FK
    LogNode.objects.all().delete()
    LogState.objects.all().delete()


def _witness(log_vkey: str, signer: CosignatureSigner) -> Witness:
    return Witness(
        origin=ORIGIN,
        log_verifier_keys=[log_vkey],
        signer=signer,
        state=None,
        fetch=local_fetcher(),
    )


def _submit(line: str, checkpoint: Checkpoint, **extra: Any) -> Any:
    body = {
        "tree_size": checkpoint.tree_size,
        "root_hash": checkpoint.root_hash,
        "cosignature": line,
        **extra,
    }
    return APIClient().post(f"{API}/cosignatures", body, format="json")


def test_witness_cosigns_the_head_and_the_log_serves_it(
    log_key: Any, witness_key: Any
) -> None:
    """The witness's cosignature is stored (201, then 200 when repeated) and
    the head, /tlog/checkpoint and the selector serve the note with it; it
    verifies with the witness's 0x04 vkey."""
    signer, log_vkey = log_key
    wsigner, wvkey = witness_key
    _append(signer, "a", "b", "c")
    witness = _witness(log_vkey, wsigner)
    cosigned = witness.step()
    checkpoint = Checkpoint.objects.get(tree_size=3)
    response = _submit(cosigned.cosignature, checkpoint)
    assert response.status_code == 201, response.json()
    assert response.json()["name"] == "witness.example/w1"
    assert _submit(cosigned.cosignature, checkpoint).status_code == 200
    assert Cosignature.objects.count() == 1

    head = APIClient().get(f"{API}/head").json()
    assert head["cosignatures"] == [
        {
            "name": "witness.example/w1",
            "key_id": wsigner.key_id.hex(),
            "timestamp": cosigned.timestamp,
        }
    ]
    for note_text in (
        head["checkpoint"],
        APIClient().get("/tlog/checkpoint").content.decode(),
        checkpoint_note_cosigned(checkpoint),
    ):
        cp, note = open_checkpoint(note_text, ORIGIN, [log_vkey, wvkey])
        assert cp.tree_size == 3
        assert [s.timestamp for s in note.sigs if s.key_type == COSIGNATURE_TYPE] == [
            cosigned.timestamp
        ]


def test_witness_follows_growth_and_submits_by_checkpoint_text(
    log_key: Any, witness_key: Any
) -> None:
    """After the log grows the witness checks consistency against the real
    consistency endpoint, cosigns, and the POST by checkpoint text works."""
    signer, log_vkey = log_key
    wsigner, _ = witness_key
    _append(signer, "a")
    witness = _witness(log_vkey, wsigner)
    witness.step()
    post = local_poster()
    for batch in (["b", "c"], ["d", "e", "f", "g"]):
        _append(signer, *batch)
        cosigned = witness.step()
        post(
            f"{API}/cosignatures",
            {
                "checkpoint": cosigned.checkpoint_text,
                "cosignature": cosigned.cosignature,
            },
        )
    assert witness.state is not None and witness.state.tree_size == 7
    sizes = Cosignature.objects.values_list("checkpoint__tree_size", flat=True)
    assert sorted(sizes) == [3, 7]


def test_witness_refuses_a_forked_log(log_key: Any, witness_key: Any) -> None:
    """The log rebuilt with one different leaf at the same size (same log key)
    is refused at that size and after growth; nothing is signed."""
    signer, log_vkey = log_key
    wsigner, _ = witness_key
    _append(signer, "a", "b", "c")
    witness = _witness(log_vkey, wsigner)
    seen = witness.step().state
    _wipe_log()
    _append(signer, "a", "B", "c")
    with pytest.raises(WitnessInconsistent):
        witness.step()
    _append(signer, "d")
    with pytest.raises(WitnessInconsistent) as exc:
        witness.step()
    assert exc.value.code == "witness_inconsistent"
    assert witness.state == seen


def test_witness_refuses_a_rollback(log_key: Any, witness_key: Any) -> None:
    """A log that shrank (rebuilt shorter) is a rollback."""
    signer, log_vkey = log_key
    wsigner, _ = witness_key
    _append(signer, "a", "b", "c")
    witness = _witness(log_vkey, wsigner)
    witness.step()
    _wipe_log()
    _append(signer, "a", "b")
    with pytest.raises(WitnessRollback):
        witness.step()


def test_endpoint_refuses_tampered_unknown_and_orphan_cosignatures(
    log_key: Any, witness_key: Any
) -> None:
    """A flipped signature byte -> cosignature_invalid; a key not configured ->
    witness_unknown_key; an unsigned (size, root) -> checkpoint_unknown; a
    line for another checkpoint -> cosignature_invalid. All 400, none stored."""
    signer, log_vkey = log_key
    wsigner, _ = witness_key
    _append(signer, "a", "b")
    first = Checkpoint.objects.get(tree_size=2)
    line = _witness(log_vkey, wsigner).step().cosignature
    name, b64 = line[2:].rstrip("\n").split(" ")
    raw = bytearray(__import__("base64").b64decode(b64))
    raw[-1] ^= 1
    tampered = f"\u2014 {name} {__import__('base64').b64encode(bytes(raw)).decode()}"
    stranger_skey, _ = generate_key("stranger.example/w", COSIGNATURE_TYPE)
    stranger = (
        Witness(
            origin=ORIGIN,
            log_verifier_keys=[log_vkey],
            signer=CosignatureSigner.from_skey(stranger_skey),  # type: ignore[arg-type]
            state=None,
            fetch=local_fetcher(),
        )
        .step()
        .cosignature
    )
    cases = [
        (_submit(tampered, first), "cosignature_invalid"),
        (_submit("not a line", first), "cosignature_invalid"),
        (_submit(stranger, first), "witness_unknown_key"),
        (
            APIClient().post(
                f"{API}/cosignatures",
                {"tree_size": 9, "root_hash": "ab" * 32, "cosignature": line},
                format="json",
            ),
            "checkpoint_unknown",
        ),
    ]
    _append(signer, "c")
    second = Checkpoint.objects.get(tree_size=3)
    cases.append((_submit(line, second), "cosignature_invalid"))
    for response, code in cases:
        assert response.status_code == 400, response.content
        assert response.json()["error"]["code"] == code
    assert not Cosignature.objects.exists()


def test_tlog_witness_command_init_and_round(
    tmp_path: Path, log_key: Any, settings: Any, capsys: Any
) -> None:
    """--init writes a 0600 key and prints its vkey; configured on the log,
    a --once round against the log (in-process) stores a cosignature and
    writes the state file; a forked log then makes the command fail."""
    signer, log_vkey = log_key
    key_file = tmp_path / "w.key"
    state_file = tmp_path / "w.state.json"
    call_command(
        "tlog_witness", "--init", "--name", "w.example/1", "--key-file", str(key_file)
    )
    vkey = capsys.readouterr().out.strip().splitlines()[-1]
    assert (key_file.stat().st_mode & 0o777) == 0o600
    assert open_note  # the vkey parses as a 0x04 key:
    settings.VDI_BILLING_LOG_WITNESS_KEYS = [vkey]
    _append(signer, "a", "b")
    args = [
        "tlog_witness",
        "--log",
        "self",
        "--log-key",
        log_vkey,
        "--key-file",
        str(key_file),
        "--state-file",
        str(state_file),
        "--once",
    ]
    call_command(*args)
    assert Cosignature.objects.get().name == "w.example/1"
    assert '"tree_size": 2' in state_file.read_text()
    with pytest.raises(CommandError, match="exists"):
        call_command(
            "tlog_witness", "--init", "--name", "x", "--key-file", str(key_file)
        )
    _wipe_log()
    _append(signer, "a", "X")
    with pytest.raises(CommandError, match="witness_inconsistent"):
        call_command(*args)
    assert '"tree_size": 2' in state_file.read_text()


def test_witness_keys_system_check(settings: Any) -> None:
    """A malformed or 0x01 witness key is transparency.E101; a 0x04 one passes."""
    from transparency.checks import check_witness_keys

    _, cosigner_vkey = generate_key("w.example/ok", COSIGNATURE_TYPE)
    _, note_vkey = generate_key("w.example/wrong-type")
    settings.VDI_BILLING_LOG_WITNESS_KEYS = [cosigner_vkey]
    assert check_witness_keys() == []
    for bad in ("nonsense", note_vkey):
        settings.VDI_BILLING_LOG_WITNESS_KEYS = [cosigner_vkey, bad]
        assert [m.id for m in check_witness_keys()] == ["transparency.E101"]
