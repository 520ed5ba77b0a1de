"""C2SP signed-note and tlog-cosignature against golang/mod and C2SP vectors.

Vectors live in ``tests/vectors/tlog/`` (signed_notes.json, note_keys.json,
checkpoints.json). The ``PRIVATE+KEY+...`` strings there are public test keys.
"""

from __future__ import annotations

import base64
from typing import Any

import nacl.signing
import pytest

from tests.transparency.protocol.vectors import load
from transparency.protocol.errors import (
    InvalidSignatureError,
    MalformedNoteError,
    UnknownVerifierError,
    VerifierKeyError,
)
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    CosignatureSigner,
    NoteSigner,
    NoteVerifier,
    cosignature_message,
    cosignature_timestamp,
    generate_key,
    key_id,
    open_note,
    parse_verifier_key,
    sign_cosignature,
    sign_note,
)

NOTES = load("signed_notes.json")
KEYS = load("note_keys.json")
CHECKPOINTS = load("checkpoints.json")
PETER = NOTES["signer_key_vectors"][0]
TEXT = "Checkpoint body\n42\n"

ERROR_BY_REASON = {
    "malformed note": MalformedNoteError,
    "note has no verifiable signatures": UnknownVerifierError,
}


@pytest.fixture(scope="module")
def signer() -> NoteSigner:
    return NoteSigner("log.example/test", nacl.signing.SigningKey.generate())


@pytest.fixture(scope="module")
def other() -> NoteSigner:
    return NoteSigner("other.example", nacl.signing.SigningKey.generate())


# --- vectors ----------------------------------------------------------------


def test_peter_neumann_signed_note_is_byte_exact() -> None:
    """Ed25519 is deterministic: the public TEST key reproduces golang/mod's note."""
    s = NoteSigner.from_skey(PETER["skey"])
    assert s.name == "PeterNeumann"
    assert s.key_id.hex() == "c74f20a3"
    assert s.verifier_key() == PETER["matching_vkey"]
    assert sign_note(PETER["text"], s) == PETER["expected_signed_note"]
    assert sign_note(PETER["text"], PETER["skey"]) == PETER["expected_signed_note"]
    note = open_note(PETER["expected_signed_note"], [PETER["matching_vkey"]])
    assert note.text == PETER["text"]


@pytest.mark.parametrize("case", NOTES["open_cases"], ids=lambda c: c["name"])
def test_open_cases(case: dict[str, Any]) -> None:
    """Each open case gets note.Open's verdict and our error class and code."""
    raw = bytes.fromhex(case["note_hex"])
    if "note" in case:
        assert case["note"].encode("utf-8") == raw
    vkeys = [NOTES["verifier_keys"][k] for k in case["verifier_keys"]]
    expect = case["expect"]
    if expect["result"] == "ok":
        for given in (raw, raw.decode("utf-8")):
            note = open_note(given, vkeys)
            assert note.text == expect["text"]
            assert [s.name for s in note.sigs] == expect["verified"]
            assert [s.name for s in note.unverified_sigs] == expect["unverified"]
            for sig in note.sigs:
                assert len(sig.key_id) == 4
                assert len(sig.signature) == 64
        return
    reason = expect["reason"]
    error = ERROR_BY_REASON.get(reason, InvalidSignatureError)
    with pytest.raises(error) as exc:
        open_note(raw, vkeys)
    assert exc.value.code == error.code
    if error is InvalidSignatureError:
        assert exc.value.message == reason


def test_unverified_signature_keeps_key_id_and_bytes() -> None:
    """An unknown key's signature is reported with its key ID and raw bytes."""
    (case,) = [c for c in NOTES["open_cases"] if c["name"].startswith("peter verified")]
    note = open_note(case["note"], [NOTES["verifier_keys"]["PeterNeumann"]])
    (enoch,) = note.unverified_sigs
    enoch_vkey = parse_verifier_key(NOTES["verifier_keys"]["EnochRoot"])
    assert enoch.key_id == enoch_vkey.key_id
    line = case["note"].splitlines()[-1]
    assert line == f"\u2014 EnochRoot {enoch.base64}"


@pytest.mark.parametrize("vkey", KEYS["vkeys_valid"])
def test_valid_vkeys_round_trip(vkey: str) -> None:
    """Every published vkey parses and re-encodes to the same string."""
    v = NoteVerifier.from_vkey(vkey)
    assert v.vkey == vkey
    assert v.key_id == key_id(v.name, v.key_type, v.public_key)
    assert parse_verifier_key(vkey) == v


@pytest.mark.parametrize("case", KEYS["vkeys_invalid"], ids=lambda c: c["why"])
def test_invalid_vkeys_rejected(case: dict[str, str]) -> None:
    """Wrong length, algorithm, key ID, parts or base64 is a VerifierKeyError."""
    with pytest.raises(VerifierKeyError) as exc:
        parse_verifier_key(case["vkey"])
    assert exc.value.code == "note_key_invalid"


@pytest.mark.parametrize(
    "vkey",
    [
        "",
        "PeterNeumann+c74f20a3",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+0xc74f20+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10T",
        "PeterNeumann+c74f20a3+",
        "+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_more_malformed_vkeys_rejected(vkey: str) -> None:
    """Malformed names, hex IDs and base64 are rejected with note_key_invalid."""
    with pytest.raises(VerifierKeyError) as exc:
        parse_verifier_key(vkey)
    assert exc.value.code == "note_key_invalid"


@pytest.mark.parametrize("pair", KEYS["skey_vkey_pairs"], ids=lambda p: p["vkey"])
def test_skey_vkey_pairs(pair: dict[str, str]) -> None:
    """Each public test skey derives its vkey, and re-encodes to itself."""
    s = NoteSigner.from_skey(pair["skey"])
    assert s.verifier_key() == pair["vkey"]
    assert s.signer_key() == pair["skey"]
    assert "PRIVATE" not in repr(s)


@pytest.mark.parametrize(
    "skey",
    [
        "PRIVATE+KEY+PeterNeumann+c74f20a4+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PRIVATE+KEE+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKDFz",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PRIVATE+KEY+PeterNeumann+c74f20a3+AYEKFALVFGyNhPJEMzD1QIDr+Y7hfZx09iUvxdXHKD=",
        "PRIVATE+KEY+PeterNeumann+c74f20a3",
    ],
)
def test_malformed_skeys_rejected(skey: str) -> None:
    """A wrong key ID, prefix, seed length or missing part is rejected."""
    with pytest.raises(VerifierKeyError) as exc:
        NoteSigner.from_skey(skey)
    assert exc.value.code == "note_key_invalid"


# --- round trips ------------------------------------------------------------


def test_generate_key_round_trip() -> None:
    """generate_key() gives an skey that signs notes its vkey opens."""
    skey, vkey = generate_key("meterproof.example/log")
    assert skey.startswith("PRIVATE+KEY+meterproof.example/log+")
    s = NoteSigner.from_skey(skey)
    assert s.verifier_key() == vkey
    assert NoteVerifier.from_vkey(vkey) == s.verifier()
    signed = sign_note(TEXT, skey)
    note = open_note(signed, [vkey])
    assert note.text == TEXT
    assert [(x.name, x.key_id) for x in note.sigs] == [(s.name, s.key_id)]


def test_sign_and_open_with_two_signers(signer: NoteSigner, other: NoteSigner) -> None:
    """Both signatures verify, in order; one known key is enough to open."""
    signed = sign_note(TEXT, signer, other)
    assert signed.startswith(TEXT + "\n\u2014 log.example/test ")
    both = open_note(signed, [signer.verifier_key(), other.verifier_key()])
    assert [s.name for s in both.sigs] == [signer.name, other.name]
    one = open_note(signed, [other.verifier_key()])
    assert [s.name for s in one.sigs] == [other.name]
    assert [s.name for s in one.unverified_sigs] == [signer.name]


def test_duplicate_signature_counted_once(signer: NoteSigner) -> None:
    """A repeated signature line by a known key is ignored, as note.Open does."""
    signed = sign_note(TEXT, signer)
    line = signed.split("\n\n", 1)[1]
    note = open_note(signed + line, [signer.verifier_key()])
    assert len(note.sigs) == 1


def test_text_with_inner_blank_line_round_trips(signer: NoteSigner) -> None:
    """The last blank line separates the signatures; inner ones stay in the text."""
    text = "a\n\nb\n\n"
    note = open_note(sign_note(text, signer), [signer.verifier_key()])
    assert note.text == text


@pytest.mark.parametrize(
    "text", ["", "no newline", "tab\there\n", "cr\r\n", "nul\x00\n", "\ud800\n"]
)
def test_sign_note_rejects_bad_text(signer: NoteSigner, text: str) -> None:
    """Empty text, missing final newline, control characters, bad UTF-8 fail."""
    with pytest.raises(MalformedNoteError) as exc:
        sign_note(text, signer)
    assert exc.value.code == "note_malformed"


def test_signer_name_must_be_valid() -> None:
    """Key names with space or '+' are rejected."""
    for name in ("", "bad name", "bad+name"):
        with pytest.raises(VerifierKeyError):
            NoteSigner(name, nacl.signing.SigningKey.generate())


# --- tampering --------------------------------------------------------------


def test_tampered_text_fails_signature(signer: NoteSigner) -> None:
    """Changing one character of the text breaks the known key's signature."""
    signed = sign_note(TEXT, signer).replace("42", "43", 1)
    with pytest.raises(InvalidSignatureError) as exc:
        open_note(signed, [signer.verifier_key()])
    assert exc.value.code == "note_bad_signature"


def test_tampered_signature_bytes_fail(signer: NoteSigner) -> None:
    """Flipping any signature byte (after the key ID) is rejected."""
    signed = sign_note(TEXT, signer)
    head, b64 = signed.rstrip("\n").rsplit(" ", 1)
    raw = base64.b64decode(b64)
    for i in range(4, len(raw), 7):
        bad = raw[:i] + bytes([raw[i] ^ 1]) + raw[i + 1 :]
        forged = f"{head} {base64.b64encode(bad).decode()}\n"
        with pytest.raises(InvalidSignatureError):
            open_note(forged, [signer.verifier_key()])


def test_signature_by_wrong_key_under_same_name(signer: NoteSigner) -> None:
    """A signature from another key with the same name has another key ID."""
    imposter = NoteSigner(signer.name, nacl.signing.SigningKey.generate())
    with pytest.raises(UnknownVerifierError) as exc:
        open_note(sign_note(TEXT, imposter), [signer.verifier_key()])
    assert exc.value.code == "note_unknown_key"


@pytest.mark.parametrize(
    "suffix",
    [
        "\u2014 name\n",
        "\u2014 name \n",
        "\u2014 name AAAA\n",
        "\u2014 name not-base64!\n",
        "- name AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=\n",
        "\u2014 name  AAAAAAAA\n",
    ],
)
def test_malformed_signature_lines(signer: NoteSigner, suffix: str) -> None:
    """Lines without a name, base64, key ID, or EM DASH prefix are malformed."""
    signed = sign_note(TEXT, signer) + suffix
    with pytest.raises(MalformedNoteError) as exc:
        open_note(signed, [signer.verifier_key()])
    assert exc.value.code == "note_malformed"


def test_hundred_signatures_allowed_hundred_and_one_not(signer: NoteSigner) -> None:
    """The 100-signature limit counts lines, duplicates included."""
    signed = sign_note(TEXT, signer)
    line = signed.split("\n\n", 1)[1]
    assert open_note(signed + line * 99, [signer.verifier_key()]).sigs
    with pytest.raises(MalformedNoteError):
        open_note(signed + line * 100, [signer.verifier_key()])


def test_ambiguous_verifier_keys_rejected() -> None:
    """Two different keys cannot share a name and key ID in one verifier set."""
    v = parse_verifier_key(PETER["matching_vkey"])
    clash = NoteVerifier(v.name, v.key_id, v.key_type, b"\x01" * 32)
    with pytest.raises(VerifierKeyError):
        open_note(PETER["expected_signed_note"], [v, clash])
    with pytest.raises(VerifierKeyError):
        open_note(PETER["expected_signed_note"], PETER["matching_vkey"])  # type: ignore[arg-type]


# --- tlog-cosignature (signature type 0x04) --------------------------------


def test_cosigned_message_layout_matches_spec() -> None:
    """cosignature/v1 message is byte-identical to the C2SP example."""
    example = CHECKPOINTS["spec_examples"][1]
    body = example["signed_note"].split("\n\n", 1)[0] + "\n"
    expected = example["expected_cosigned_message_for_time_1679315147"]
    assert cosignature_message(body, 1679315147) == expected.encode()


def test_spec_example_cosignature_timestamp_and_key_id() -> None:
    """The witness line in the C2SP example decodes to key ID and timestamp."""
    example = CHECKPOINTS["spec_examples"][1]
    want = example["expect_cosignature"]
    line = example["signed_note"].rstrip("\n").split("\n")[-1]
    _, name, b64 = line.split(" ")
    assert name == want["name"]
    assert base64.b64decode(b64)[:4].hex() == want["key_id_hex"]
    assert cosignature_timestamp(b64) == want["timestamp"]


@pytest.mark.parametrize(
    "case", CHECKPOINTS["cosignature_timestamp_vectors"], ids=lambda c: c["source"]
)
def test_cosignature_timestamp_vectors(case: dict[str, Any]) -> None:
    """Timestamps decode; a plain 68-byte note signature is not a cosignature."""
    if "expect_timestamp" in case:
        assert cosignature_timestamp(case["sig_b64"]) == case["expect_timestamp"]
        assert (
            cosignature_timestamp(base64.b64decode(case["sig_b64"]))
            == (case["expect_timestamp"])
        )
    else:
        with pytest.raises(MalformedNoteError):
            cosignature_timestamp(case["sig_b64"])


def test_cosignature_round_trip(signer: NoteSigner) -> None:
    """A witness cosignature appended to a signed checkpoint verifies with 0x04."""
    body = (
        "meterproof.example/log\n7\n" + base64.b64encode(b"\x11" * 32).decode() + "\n"
    )
    skey, vkey = generate_key("witness.example/w1", COSIGNATURE_TYPE)
    assert base64.b64decode(vkey.split("+", 2)[2])[0] == COSIGNATURE_TYPE
    witness = CosignatureSigner.from_skey(skey)
    line = sign_cosignature(body, witness, 1_700_000_000)
    assert line.startswith("\u2014 witness.example/w1 ")
    assert cosignature_timestamp(line.split(" ")[-1].strip()) == 1_700_000_000
    cosigned = sign_note(body, signer) + line
    note = open_note(cosigned, [signer.verifier_key(), vkey])
    assert [(s.name, s.key_type, s.timestamp) for s in note.sigs] == [
        (signer.name, 0x01, None),
        ("witness.example/w1", 0x04, 1_700_000_000),
    ]
    # The witness alone is a known verifier too.
    assert open_note(cosigned, [vkey]).sigs[0].timestamp == 1_700_000_000


def test_cosignature_tampered_timestamp_fails(signer: NoteSigner) -> None:
    """Changing the timestamp bytes invalidates the cosignature."""
    body = "log\n1\n" + base64.b64encode(b"\x22" * 32).decode() + "\n"
    skey, vkey = generate_key("w", COSIGNATURE_TYPE)
    line = sign_cosignature(body, skey, 5)
    raw = bytearray(base64.b64decode(line.split(" ")[-1]))
    raw[11] ^= 1  # last timestamp byte
    forged = f"\u2014 w {base64.b64encode(bytes(raw)).decode()}\n"
    with pytest.raises(InvalidSignatureError):
        open_note(sign_note(body, signer) + forged, [vkey])


def test_cosigner_and_note_signer_types_do_not_mix(signer: NoteSigner) -> None:
    """A 0x01 skey cannot cosign and a 0x04 signer cannot sign plain notes."""
    skey, _ = generate_key("w", COSIGNATURE_TYPE)
    with pytest.raises(VerifierKeyError):
        NoteSigner.from_skey(skey)
    with pytest.raises(VerifierKeyError):
        sign_note(TEXT, CosignatureSigner.from_skey(skey))
    with pytest.raises(VerifierKeyError):
        sign_cosignature(TEXT, PETER["skey"], 1)
    with pytest.raises(MalformedNoteError):
        sign_cosignature(TEXT, skey, -1)
