"""One named log check: pass, fail with our code, fail closed on a bug."""

from __future__ import annotations

from transparency.protocol.errors import InclusionProofError
from transparency.selectors_audit.checks import check_run


def test_check_passes_with_the_message() -> None:
    """A check that returns a message passes with it, without a code."""
    result = check_run("inclusion_proof", lambda: "3 hashes lead to the root")
    assert (result.status, result.code, result.message) == (
        "pass",
        None,
        "3 hashes lead to the root",
    )


def test_project_error_fails_with_its_code() -> None:
    """One of our errors fails the check with its own stable code."""

    def broken() -> str:
        raise InclusionProofError("inclusion proof has 3 hashes, expected 4")

    result = check_run("inclusion_proof", broken)
    assert result.status == "fail"
    assert result.code == InclusionProofError.code
    assert result.message == "inclusion proof has 3 hashes, expected 4"


def test_foreign_exception_fails_closed_as_internal_error() -> None:
    """Any other exception still fails (fail closed), with the stable code
    ``internal_error`` rather than a Python class name."""

    def buggy() -> str:
        raise KeyError("tree_size")

    result = check_run("inclusion_proof", buggy)
    assert result.status == "fail"
    assert result.code == "internal_error"
    assert result.message is not None and result.message.startswith("KeyError")
