"""The billing protocol's error classes: each raise site gives its class and
stable ``code``; the ones that replaced a bare ``ValueError`` still are one."""

from __future__ import annotations

import pickle
from datetime import datetime
from typing import Any

import pytest

from billing.protocol.bundle import build_bundle
from billing.protocol.errors import (
    CheckFailed,
    EmptyProfileError,
    LogEvidenceError,
    ProfileUnsupportedError,
    SkipCheck,
    VerifierBackendError,
)
from billing.protocol.tariff import TariffDocument
from billing.protocol.verify import (
    PROFILE_STRICT,
    BundleVerifier,
    profile_checks,
    strict_options,
)
from billing.protocol.verify.context import Check
from kernel.protocol.errors import MeterproofError, NaiveDatetimeError

from .builders import Keys, make_bundle


def test_unknown_profile_is_profile_unsupported() -> None:
    """An unknown profile name raises ProfileUnsupportedError, a ValueError."""
    with pytest.raises(ProfileUnsupportedError) as info:
        BundleVerifier(Keys.generate().trust(), profile="lenient")
    assert info.value.code == "profile_unsupported"
    assert isinstance(info.value, ValueError)
    assert "lenient" in info.value.message


def test_empty_profile_is_an_error_not_a_success() -> None:
    """A profile with no check raises EmptyProfileError (fail closed)."""
    with pytest.raises(EmptyProfileError) as info:
        profile_checks("nothing", {"nothing": ()})
    assert info.value.code == "profile_empty"
    table = {"one": (Check("x", lambda ctx: None),)}
    assert [c.name for c in profile_checks("one", table)] == ["x"]


def test_unknown_backend_is_verifier_backend_error() -> None:
    """An unknown Groth16 backend raises VerifierBackendError, a ValueError."""
    with pytest.raises(VerifierBackendError) as info:
        BundleVerifier(Keys.generate().trust(), groth16_backend="gpu")
    assert info.value.code == "groth16_unknown_backend"
    assert isinstance(info.value, ValueError)


def test_check_failed_pickles_with_its_code_and_field() -> None:
    """CheckFailed survives pickling (the CLI's worker processes)."""
    error = CheckFailed("revocation_signature_invalid", "bad", field="revocation")
    copy = pickle.loads(pickle.dumps(error))
    assert type(copy) is CheckFailed
    assert (copy.code, copy.message, copy.field) == (
        "revocation_signature_invalid",
        "bad",
        "revocation",
    )


def test_skip_check_is_a_project_error_with_its_code() -> None:
    """SkipCheck lives in the one hierarchy and keeps the skip's code."""
    skip = SkipCheck("absent", code="log_evidence_missing")
    assert isinstance(skip, MeterproofError)
    assert skip.code == "log_evidence_missing"
    assert SkipCheck("absent").code == "required_check_skipped"


def test_strict_options_without_snapshot_report_the_problem_code() -> None:
    """strict_options turns a (code, message) problem into the check's failure."""
    keys = Keys.generate()
    options = strict_options(
        revocation=None,
        problem=("revocation_signature_invalid", "bad signature"),
        max_snapshot_age_seconds=60,
    )
    assert options["max_snapshot_age_seconds"] == 60
    assert options["revocation_problem"].code == "revocation_signature_invalid"
    report = BundleVerifier(keys.trust(), profile=PROFILE_STRICT, **options).verify(
        make_bundle(keys)
    )
    failed = {c.name: c.code for c in report.checks if c.status == "fail"}
    assert failed["revocation_snapshot"] == "revocation_signature_invalid"
    assert "revocation_problem" not in strict_options(revocation=None)


def test_log_evidence_without_its_members_is_log_evidence_error() -> None:
    """build_bundle with leaf_index alone raises LogEvidenceError naming what
    is missing."""
    attestation: dict[str, Any] = make_bundle(Keys.generate())["attestation"]
    with pytest.raises(LogEvidenceError) as info:
        build_bundle(attestation, leaf_index=3, tree_size=4)
    assert info.value.code == "log_evidence_incomplete"
    assert isinstance(info.value, ValueError)
    assert "inclusion_proof" in info.value.message
    assert "checkpoint" in info.value.message


def test_tariff_is_effective_at_refuses_a_naive_datetime() -> None:
    """is_effective_at(naive) raises the kernel's NaiveDatetimeError."""
    tariff = TariffDocument.from_json(
        make_bundle(Keys.generate())["attestation"]["tariff"]
    )
    with pytest.raises(NaiveDatetimeError) as info:
        tariff.is_effective_at(datetime(2026, 12, 1))
    assert info.value.code == "naive_datetime"
    assert isinstance(info.value, ValueError)
