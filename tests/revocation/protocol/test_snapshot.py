"""Revocation snapshot: sign/open round trips, every error code, freshness,
and cross-checks against openssl and an independent JCS of simple objects."""

from __future__ import annotations

import base64
import hashlib
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import nacl.signing
import pytest

from kernel.protocol.ed25519 import KeyPair, b64url_decode
from kernel.protocol.errors import CanonicalizationError, ProtocolError
from revocation.protocol.errors import (
    AttestationRevokedError,
    KidRevokedError,
    RevocationError,
    RevocationFeedMalformedError,
    RevocationFeedTooLargeError,
    RevocationRollbackError,
    RevocationSignatureError,
    RevocationStaleError,
    RevocationUnknownIssuerError,
    RevokedError,
)
from revocation.protocol.snapshot import (
    CONTEXT_REVOCATION,
    VerifiedRevocationSnapshot,
    attestation_bundle_hash,
    snapshot_check_fresh,
    snapshot_open,
    snapshot_sign,
)

REPO = Path(__file__).resolve().parents[3]
T0 = 1_795_000_000
KID_A = "a" * 43
KID_B = "B-_" + "b" * 40
RECEIPT = "rcpt_0123456789abcdef01234567"
BHASH = "ab" * 32


@pytest.fixture(scope="module")
def issuer() -> KeyPair:
    """A fresh issuer key."""
    return KeyPair.generate()


@pytest.fixture(scope="module")
def keys(issuer: KeyPair) -> dict[str, nacl.signing.VerifyKey]:
    """The trusted issuer keys by kid."""
    return {issuer.kid: issuer.verify_key}


def signed(issuer: KeyPair, **overrides: Any) -> dict[str, Any]:
    """Return a signed document with two kids and two attestations."""
    args: dict[str, Any] = {
        "revoked_kids": [KID_B, KID_A, KID_A],
        "revoked_attestations": [RECEIPT, BHASH],
        "snapshot_time": T0,
        "sequence": 7,
        "signing_key": issuer.signing_key,
    }
    args.update(overrides)
    return snapshot_sign(**args)


def resign(issuer: KeyPair, doc: dict[str, Any]) -> dict[str, Any]:
    """Return ``doc`` with a fresh valid signature over its body as is."""
    from kernel.protocol.ed25519 import sign_object

    body = {k: v for k, v in doc.items() if k != "sig"}
    return {
        **body,
        "sig": {
            "kid": issuer.kid,
            "alg": "EdDSA",
            "sig": sign_object(issuer.signing_key, CONTEXT_REVOCATION, body),
        },
    }


# -- shape and round trips ---------------------------------------------------


def test_sign_returns_the_documented_shape(issuer: KeyPair) -> None:
    """Sorted, de-duplicated lists, integers and a {kid, alg, sig} signature."""
    doc = signed(issuer)
    assert list(doc) == [
        "revokedAttestations",
        "revokedKids",
        "snapshotTime",
        "sequence",
        "sig",
    ]
    assert doc["revokedKids"] == sorted([KID_A, KID_B])
    assert doc["revokedAttestations"] == [BHASH, RECEIPT]
    assert doc["snapshotTime"] == T0 and doc["sequence"] == 7
    assert doc["sig"]["kid"] == issuer.kid and doc["sig"]["alg"] == "EdDSA"
    assert len(b64url_decode(doc["sig"]["sig"])) == 64


@pytest.mark.parametrize("form", ["dict", "str", "bytes"])
def test_open_round_trip(issuer: KeyPair, keys: Any, form: str) -> None:
    """open(sign(x)) gives back exactly x, from a dict, JSON text or bytes."""
    doc = signed(issuer)
    text = json.dumps(doc)
    document: Any = {"dict": doc, "str": text, "bytes": text.encode()}[form]
    snap = snapshot_open(document, keys)
    assert snap == VerifiedRevocationSnapshot(
        sequence=7,
        snapshot_time=T0,
        revoked_kids=frozenset({KID_A, KID_B}),
        revoked_attestations=frozenset({RECEIPT, BHASH}),
        issuer_kid=issuer.kid,
    )
    assert snap.is_kid_revoked(KID_A) and not snap.is_kid_revoked("c" * 43)
    assert snap.is_attestation_revoked(RECEIPT)
    assert snap.is_attestation_revoked("rcpt_other", BHASH)
    assert not snap.is_attestation_revoked("rcpt_other", "cd" * 32)
    assert not snap.is_attestation_revoked("rcpt_other")
    assert snap.age_seconds(T0 + 90) == 90


def test_empty_snapshot_round_trips(issuer: KeyPair, keys: Any) -> None:
    """Sequence 0 with empty lists (a fresh server's first snapshot) opens."""
    doc = signed(issuer, revoked_kids=[], revoked_attestations=[], sequence=0)
    snap = snapshot_open(doc, keys)
    assert snap.sequence == 0 and not snap.revoked_kids


@pytest.mark.skipif(shutil.which("openssl") is None, reason="no openssl binary")
def test_signature_verifies_with_openssl(issuer: KeyPair, tmp_path: Path) -> None:
    """openssl (independent Ed25519) verifies the signature over
    context || 0x00 || JCS(body), with JCS computed independently by json.dumps
    (sorted keys, no spaces: equal to RFC 8785 for ASCII strings and integers)."""
    doc = signed(issuer)
    body = {k: v for k, v in doc.items() if k != "sig"}
    message = CONTEXT_REVOCATION.encode() + b"\x00"
    message += json.dumps(body, sort_keys=True, separators=(",", ":")).encode()
    (tmp_path / "msg").write_bytes(message)
    (tmp_path / "sig").write_bytes(b64url_decode(doc["sig"]["sig"]))
    spki = bytes.fromhex("302a300506032b6570032100") + bytes(issuer.verify_key)
    pem = "-----BEGIN PUBLIC KEY-----\n" + base64.b64encode(spki).decode()
    (tmp_path / "pub.pem").write_text(pem + "\n-----END PUBLIC KEY-----\n")
    result = subprocess.run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "pub.pem", "-rawin",
         "-in", "msg", "-sigfile", "sig"],
        cwd=tmp_path, capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Signature Verified Successfully" in result.stdout


def test_bundle_hash_is_sha256_of_jcs_of_the_attestation() -> None:
    """attestation_bundle_hash = SHA-256(JCS(attestation)), checked against
    hashlib over json.dumps(sort_keys) for an ASCII/integer object."""
    attestation = {"receipt": {"receipt_id": RECEIPT, "kid": KID_A}, "z": 1, "sig": "x"}
    expected = hashlib.sha256(
        json.dumps(attestation, sort_keys=True, separators=(",", ":")).encode()
    ).hexdigest()
    assert attestation_bundle_hash(attestation) == expected


# -- errors --------------------------------------------------------------------


def test_every_error_is_a_protocol_error_with_its_code() -> None:
    """The documented codes, all under RevocationError < ProtocolError."""
    codes = {
        RevocationFeedMalformedError: "revocation_feed_malformed",
        RevocationFeedTooLargeError: "revocation_feed_too_large",
        RevocationSignatureError: "revocation_signature_invalid",
        RevocationUnknownIssuerError: "revocation_unknown_issuer",
        RevocationRollbackError: "revocation_rollback",
        RevocationStaleError: "revocation_snapshot_stale",
        KidRevokedError: "kid_revoked",
        AttestationRevokedError: "attestation_revoked",
    }
    for klass, code in codes.items():
        assert klass.code == code
        assert issubclass(klass, RevocationError) and issubclass(klass, ProtocolError)
    assert issubclass(KidRevokedError, RevokedError)
    assert KidRevokedError("k").as_dict() == {
        "code": "kid_revoked",
        "message": "k",
        "field": None,
    }


def _mutate(doc: dict[str, Any], key: str, value: Any) -> dict[str, Any]:
    out = dict(doc)
    if value is _DELETE:
        del out[key]
    else:
        out[key] = value
    return out


_DELETE = object()


@pytest.mark.parametrize(
    ("key", "value", "field"),
    [
        ("revokedKids", "abc", "revokedKids"),
        ("revokedKids", [KID_A, KID_B], "revokedKids"),  # not sorted
        ("revokedKids", [KID_A, KID_A], "revokedKids"),  # duplicate
        ("revokedKids", [""], "revokedKids[0]"),
        ("revokedKids", ["has space"], "revokedKids[0]"),
        ("revokedKids", [1], "revokedKids[0]"),
        ("revokedKids", ["x" * 129], "revokedKids[0]"),
        ("revokedAttestations", None, "revokedAttestations"),
        ("snapshotTime", "1795000000", "snapshotTime"),
        ("snapshotTime", True, "snapshotTime"),
        ("snapshotTime", -1, "snapshotTime"),
        ("sequence", 2**53, "sequence"),
        ("sequence", _DELETE, "sequence"),
        ("revokedKids", _DELETE, "revokedKids"),
        ("extra", 1, "extra"),
    ],
)
def test_malformed_shapes_are_refused(
    issuer: KeyPair, keys: Any, key: str, value: Any, field: str
) -> None:
    """Each shape violation, even freshly signed, is revocation_feed_malformed
    naming the field."""
    doc = _mutate(signed(issuer), key, value)
    try:
        doc = resign(issuer, doc)
    except CanonicalizationError:  # 2**53 cannot be signed: keep the old sig
        pass
    with pytest.raises(RevocationFeedMalformedError) as info:
        snapshot_open(json.dumps(doc), keys)
    assert info.value.code == "revocation_feed_malformed"
    assert info.value.field == field


@pytest.mark.parametrize(
    "text",
    [
        b"",
        b"not json",
        b"[]",
        b'"string"',
        b"\xff\xfe{}",
        b'{"sequence": 1.5}',
        b'{"sequence": NaN}',
        b'{"sequence": 1, "sequence": 2}',
        b"[" * (1024 * 1024),
        b'{"a": ' * 100_000,
    ],
    ids=lambda text: repr(text[:12]),
)
def test_malformed_bytes_are_refused(keys: Any, text: bytes) -> None:
    """Not JSON, not UTF-8, not an object, floats, NaN, duplicate members."""
    with pytest.raises(RevocationFeedMalformedError) as info:
        snapshot_open(text, keys)
    assert info.value.code == "revocation_feed_malformed"


def test_brackets_inside_strings_do_not_count_as_nesting(
    issuer: KeyPair, keys: Any
) -> None:
    """The depth guard skips string contents, escaped quotes included."""
    text = json.dumps(signed(issuer)).replace(
        '"sequence"', '"x": "\\\\\\"[[[[[[[[[[{{{{{{{{{{", "sequence"', 1
    )
    with pytest.raises(RevocationFeedMalformedError) as info:
        snapshot_open(text, keys)
    assert info.value.field == "x"  # got past the depth guard to the shape check


def test_float_in_a_parsed_dict_is_malformed(issuer: KeyPair, keys: Any) -> None:
    """A dict holding a float cannot be canonicalised: malformed."""
    doc = _mutate(signed(issuer), "snapshotTime", 1.0)
    with pytest.raises(RevocationFeedMalformedError):
        snapshot_open(doc, keys)


def test_oversized_feed_is_refused_before_parsing(issuer: KeyPair, keys: Any) -> None:
    """Bytes over max_bytes: revocation_feed_too_large, even if not JSON."""
    with pytest.raises(RevocationFeedTooLargeError) as info:
        snapshot_open(b" " * 101, keys, max_bytes=100)
    assert info.value.code == "revocation_feed_too_large"
    assert "101 bytes" in info.value.message and "100" in info.value.message
    many = signed(issuer, revoked_attestations=[f"rcpt_{i:06d}" for i in range(100)])
    with pytest.raises(RevocationFeedTooLargeError):
        snapshot_open(many, keys, max_bytes=1000)
    assert snapshot_open(many, keys).sequence == 7  # fine under the default


def test_unsigned_feed_is_refused(issuer: KeyPair, keys: Any) -> None:
    """No "sig" member: revocation_signature_invalid."""
    doc = _mutate(signed(issuer), "sig", _DELETE)
    with pytest.raises(RevocationSignatureError) as info:
        snapshot_open(doc, keys)
    assert info.value.code == "revocation_signature_invalid"
    assert info.value.field == "sig"


@pytest.mark.parametrize(
    "sig",
    [
        "abc",
        {"kid": "k", "alg": "EdDSA"},
        {"kid": "k", "alg": "EdDSA", "sig": "x", "extra": 1},
    ],
)
def test_malformed_sig_member_is_a_signature_error(
    keys: Any, issuer: KeyPair, sig: Any
) -> None:
    """A sig that is not exactly {kid, alg, sig} is revocation_signature_invalid."""
    with pytest.raises(RevocationSignatureError):
        snapshot_open(_mutate(signed(issuer), "sig", sig), keys)


def test_wrong_alg_is_refused(issuer: KeyPair, keys: Any) -> None:
    """alg other than EdDSA is refused."""
    doc = signed(issuer)
    doc["sig"] = {**doc["sig"], "alg": "ES256"}
    with pytest.raises(RevocationSignatureError) as info:
        snapshot_open(doc, keys)
    assert info.value.field == "sig.alg"


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("sequence", 8),
        ("snapshotTime", T0 + 1),
        ("revokedKids", [KID_A]),
        ("revokedAttestations", [RECEIPT]),
    ],
)
def test_tampered_body_fails_the_signature(
    issuer: KeyPair, keys: Any, key: str, value: Any
) -> None:
    """Changing any signed member breaks the signature."""
    doc = _mutate(signed(issuer), key, value)
    with pytest.raises(RevocationSignatureError) as info:
        snapshot_open(doc, keys)
    assert info.value.code == "revocation_signature_invalid"


@pytest.mark.parametrize("sig", ["", "!!!", "A" * 86, "A" * 80])
def test_garbled_signature_is_refused(issuer: KeyPair, keys: Any, sig: str) -> None:
    """Non-base64url or wrong-length signatures: revocation_signature_invalid."""
    doc = signed(issuer)
    doc["sig"] = {**doc["sig"], "sig": sig}
    with pytest.raises(RevocationSignatureError):
        snapshot_open(doc, keys)


def test_other_context_signature_is_refused(issuer: KeyPair, keys: Any) -> None:
    """A signature over the same body under another context does not verify
    (domain separation)."""
    from kernel.protocol.ed25519 import sign_object

    doc = signed(issuer)
    body = {k: v for k, v in doc.items() if k != "sig"}
    doc["sig"] = {
        **doc["sig"],
        "sig": sign_object(issuer.signing_key, "meterproof/attestation/v1", body),
    }
    with pytest.raises(RevocationSignatureError):
        snapshot_open(doc, keys)


def test_unknown_issuer_is_refused(issuer: KeyPair) -> None:
    """Signed by a key that is not trusted: revocation_unknown_issuer."""
    other = KeyPair.generate()
    doc = signed(other)
    with pytest.raises(RevocationUnknownIssuerError) as info:
        snapshot_open(doc, {issuer.kid: issuer.verify_key})
    assert info.value.code == "revocation_unknown_issuer"
    assert info.value.field == "sig.kid"
    with pytest.raises(RevocationUnknownIssuerError):
        snapshot_open(doc, {})


def test_kid_bound_to_a_different_key_fails(issuer: KeyPair) -> None:
    """A trusted kid mapped to another key does not verify someone else's doc."""
    other = KeyPair.generate()
    with pytest.raises(RevocationSignatureError):
        snapshot_open(signed(other), {other.kid: issuer.verify_key})


# -- monotonicity ----------------------------------------------------------


def test_rollback_to_a_lower_sequence_is_refused(issuer: KeyPair, keys: Any) -> None:
    """sequence < previous_sequence: revocation_rollback."""
    with pytest.raises(RevocationRollbackError) as info:
        snapshot_open(signed(issuer, sequence=6), keys, previous_sequence=7)
    assert info.value.code == "revocation_rollback"
    assert "6" in info.value.message and "7" in info.value.message


def test_equal_sequence_same_content_is_accepted(issuer: KeyPair, keys: Any) -> None:
    """Re-fetching the same snapshot is fine (by sequence or by snapshot)."""
    first = snapshot_open(signed(issuer), keys)
    again = snapshot_open(signed(issuer), keys, previous=first)
    assert again == first
    assert snapshot_open(signed(issuer), keys, previous_sequence=7) == first
    newer = snapshot_open(
        signed(issuer, sequence=8, snapshot_time=T0 + 5), keys, previous=first
    )
    assert newer.sequence == 8


def test_equal_sequence_different_content_is_refused(
    issuer: KeyPair, keys: Any
) -> None:
    """Same sequence, different lists or time: revocation_rollback."""
    first = snapshot_open(signed(issuer), keys)
    for changed in (
        signed(issuer, revoked_kids=[KID_A]),
        signed(issuer, snapshot_time=T0 + 1),
    ):
        with pytest.raises(RevocationRollbackError):
            snapshot_open(changed, keys, previous=first)


def test_rollback_is_checked_after_the_signature(issuer: KeyPair, keys: Any) -> None:
    """An unsigned old document is a signature error, not a rollback."""
    doc = _mutate(signed(issuer, sequence=1), "sig", _DELETE)
    with pytest.raises(RevocationSignatureError):
        snapshot_open(doc, keys, previous_sequence=7)


# -- freshness -------------------------------------------------------------------


def test_fresh_until_max_age_then_stale(issuer: KeyPair, keys: Any) -> None:
    """Age == max is fresh; age == max + 1 raises revocation_snapshot_stale
    with the age and the maximum in message and attributes."""
    snap = snapshot_open(signed(issuer), keys)
    snapshot_check_fresh(snap, now=T0 + 3600, max_age_seconds=3600)
    snapshot_check_fresh(snap, now=T0 - 10, max_age_seconds=3600)
    with pytest.raises(RevocationStaleError) as info:
        snapshot_check_fresh(snap, now=T0 + 3601, max_age_seconds=3600)
    error = info.value
    assert error.code == "revocation_snapshot_stale"
    assert error.age_seconds == 3601 and error.max_age_seconds == 3600
    assert "3601 s old" in error.message and "maximum is 3600 s" in error.message


# -- sign-side validation --------------------------------------------------------


def test_sign_refuses_bad_entries_and_integers(issuer: KeyPair) -> None:
    """snapshot_sign validates what it signs."""
    with pytest.raises(RevocationFeedMalformedError):
        signed(issuer, revoked_kids=["bad kid"])
    with pytest.raises(RevocationFeedMalformedError):
        signed(issuer, sequence=-1)
    with pytest.raises(RevocationFeedMalformedError):
        signed(issuer, snapshot_time=1.5)


# -- layering ----------------------------------------------------------------


def test_protocol_imports_neither_django_nor_billing() -> None:
    """revocation.protocol loads without django and without billing."""
    code = (
        "import sys\n"
        "import revocation.protocol, revocation.protocol.errors, "
        "revocation.protocol.snapshot\n"
        "import kernel.protocol.jcs, kernel.protocol.ed25519\n"
        "bad = sorted(m for m in sys.modules if m.split('.')[0] in "
        "('django', 'billing'))\n"
        "assert not bad, bad\n"
        "print('ok')\n"
    )
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO")}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run(
        [sys.executable, "-c", code],
        cwd=REPO, capture_output=True, text=True, timeout=60, env=env,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "ok"


def test_billing_protocol_errors_root_in_the_kernel() -> None:
    """billing.protocol's UnknownKeyError is a kernel SignatureError and a
    billing protocol error; the billing re-export modules are gone."""
    import importlib.util

    import billing.protocol.errors as berrors
    import kernel.protocol.errors as kerrors

    assert issubclass(berrors.UnknownKeyError, kerrors.SignatureError)
    assert issubclass(berrors.UnknownKeyError, berrors.BillingProtocolError)
    assert issubclass(kerrors.ProtocolError, kerrors.MeterproofError)
    for gone in ("billing.protocol.canonical", "billing.protocol.keys"):
        assert importlib.util.find_spec(gone) is None
