"""``billing.W003``: product environment variables under their deprecated
``VDI_`` names are listed with the ``MP_`` name to use."""

from __future__ import annotations

from billing.checks import CHECKS, check_deprecated_env


def test_no_deprecated_variable_no_message() -> None:
    """Only ``MP_`` names and foreign variables: nothing to report."""
    environ = {"MP_SIGNING_KEY": "00" * 32, "PATH": "/usr/bin", "VDI_": "x"}
    assert check_deprecated_env(environ=environ) == []


def test_deprecated_variables_are_listed_with_their_mp_names() -> None:
    """Each ``VDI_<X>`` product variable is named with its ``MP_<X>``, sorted;
    one that ``MP_<X>`` overrides is marked as ignored."""
    environ = {
        "VDI_SIGNING_KEY": "00" * 32,
        "VDI_BILLING_PROOF_MODE": "sync",
        "MP_BILLING_PROOF_MODE": "async",
        "MP_ATTEST_ENABLED": "true",
    }
    [message] = check_deprecated_env(environ=environ)
    assert message.id == "billing.W003"
    assert message.msg == (
        "deprecated environment variables: "
        "VDI_BILLING_PROOF_MODE -> MP_BILLING_PROOF_MODE "
        "(ignored: MP_BILLING_PROOF_MODE is set), "
        "VDI_SIGNING_KEY -> MP_SIGNING_KEY"
    )
    assert "MP_<X>" in message.hint


def test_unknown_vdi_variable_is_not_a_product_setting() -> None:
    """A ``VDI_`` variable that names no product setting is not ours to rename."""
    assert check_deprecated_env(environ={"VDI_SOMETHING_ELSE": "1"}) == []


def test_registered_with_the_billing_checks() -> None:
    """The check is one of ``billing.checks.CHECKS`` (registered in ``ready()``)."""
    assert check_deprecated_env in CHECKS
