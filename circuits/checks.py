"""System checks of the circuits app (``circuits.E00x`` / ``circuits.W001``).

With ``VDI_BILLING_INCIRCUIT_BINDING=true`` every problem with the circuit
artifacts is an Error:

- ``circuits.E001``: ``ARTIFACT_MANIFEST.json`` missing or unreadable;
- ``circuits.E002``: manifest malformed (not JSON, wrong format, bad member);
- ``circuits.E003``: manifest signature invalid;
- ``circuits.E004``: manifest signed by an unknown authority, or no authority
  key configured;
- ``circuits.E005``: an artifact (or a derived value: circuit_hash, vkey_hash,
  transcript_hash, r1cs counts) differs from the manifest, one per item;
- ``circuits.E006``: an artifact file named in the manifest is missing.

With binding off, one ``circuits.W001`` Warning summarises any problem.

The ids are in :data:`CHECK_IDS`; ``CircuitsConfig.ready()`` registers
:data:`CHECKS` (:func:`kernel.check_registry.checks_register`).
"""

from __future__ import annotations

from typing import Any

from django.core.checks import CheckMessage, Error, Warning

from circuits.artifacts import artifact_status

__all__ = ["CHECKS", "CHECK_IDS", "check_circuit_artifacts"]

#: Every id these checks emit, and what it means (one meaning per id).
CHECK_IDS = {
    "circuits.E001": "binding on: ARTIFACT_MANIFEST.json is missing or unreadable",
    "circuits.E002": "binding on: the manifest is malformed (not JSON, wrong "
    "format, bad member)",
    "circuits.E003": "binding on: the manifest signature is invalid",
    "circuits.E004": "binding on: the manifest is signed by an unknown authority, "
    "or no authority key is configured",
    "circuits.E005": "binding on: an artifact or a derived value differs from the "
    "manifest (one message per item)",
    "circuits.E006": "binding on: an artifact file named in the manifest is missing",
    "circuits.W001": "binding off: any manifest or artifact problem, summarised",
}

_HINT_RESTORE = (
    "Restore the files from the release (git checkout circuits/apiBillingV2) "
    "or re-run the ceremony and re-sign; run 'python manage.py artifacts verify'."
)
_BY_CODE = {
    "manifest_missing": (
        "circuits.E001",
        "Restore ARTIFACT_MANIFEST.json into MP_CIRCUIT_ARTIFACTS_DIR, or point "
        "MP_CIRCUIT_ARTIFACTS_DIR at the release's circuits/apiBillingV2.",
    ),
    "manifest_malformed": (
        "circuits.E002",
        "Restore the release's ARTIFACT_MANIFEST.json (or rebuild it with "
        "'manage.py artifacts build' and have the authority sign it).",
    ),
    "manifest_signature_invalid": (
        "circuits.E003",
        "The manifest was changed after signing: restore it, or have the "
        "manifest authority re-sign ('manage.py artifacts sign').",
    ),
    "manifest_unknown_authority": (
        "circuits.E004",
        "Set MP_MANIFEST_AUTHORITY_PUBLIC_JWK to the authority's public JWK "
        "(default: circuits/apiBillingV2/manifest_authority.json).",
    ),
}


def check_circuit_artifacts(
    app_configs: Any = None, **kwargs: Any
) -> list[CheckMessage]:
    """Report a manifest or artifact mismatch (see the module docstring)."""
    status = artifact_status()
    if status.ok:
        return []
    if not status.binding_enabled:
        return [
            Warning(
                f"circuit artifacts: {status.summary}: {status.code}: {status.reason}",
                hint="Proofs are off (MP_BILLING_INCIRCUIT_BINDING=false); "
                + _HINT_RESTORE,
                id="circuits.W001",
            )
        ]
    messages: list[CheckMessage] = []
    if status.code in _BY_CODE:
        check_id, hint = _BY_CODE[status.code]
        messages.append(Error(status.reason, hint=hint, id=check_id))
    for check in status.failed_checks:
        if check.kind == "file" and check.actual is None:
            messages.append(
                Error(
                    f"artifact {check.name} is missing from {status.base_dir}: "
                    f"{check.detail}",
                    hint=_HINT_RESTORE,
                    obj=check.name,
                    id="circuits.E006",
                )
            )
        else:
            messages.append(
                Error(
                    f"artifact {check.name} is {check.actual}, the manifest says "
                    f"{check.expected}{': ' + check.detail if check.detail else ''}",
                    hint=_HINT_RESTORE,
                    obj=check.name,
                    id="circuits.E005",
                )
            )
    return messages


#: The checks ``CircuitsConfig.ready()`` registers.
CHECKS = (check_circuit_artifacts,)
