"""The verdict on the circuit artifacts: manifest signature and file hashes.

:func:`artifact_status` validates ``ARTIFACT_MANIFEST.json`` in
``settings.VDI_CIRCUIT_ARTIFACTS_DIR`` against the files there and against the
trusted manifest authority keys (``settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK``),
with a cache keyed by the settings and every file's size and mtime, so it is
cheap to call per request and an edited file is noticed at once.
:func:`require_artifacts` is the gate the attest path calls before proving.
Nothing is ever substituted: a mismatch is reported, and proving is refused
while ``VDI_BILLING_INCIRCUIT_BINDING`` is on.
"""

from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import nacl.signing

from circuits.errors import ArtifactManifestMismatch
from circuits.protocol.errors import ManifestError, ManifestMalformed
from circuits.protocol.manifest import (
    ArtifactCheck,
    authority_keys_from_json,
    load_manifest,
    summarize_checks,
    validate_artifacts,
    verify_manifest_signature,
)
from circuits.settings import circuits_settings
from kernel.protocol.errors import JsonInputError
from kernel.protocol.strictjson import loads as strict_loads
from kernel.settings import kernel_settings

__all__ = [
    "MANIFEST_FILENAME",
    "ArtifactStatus",
    "artifact_status",
    "authority_keys",
    "compute_artifact_status",
    "manifest_path",
    "require_artifacts",
]

#: The manifest's file name inside the artifacts directory.
MANIFEST_FILENAME = "ARTIFACT_MANIFEST.json"


@dataclass(frozen=True)
class ArtifactStatus:
    """The artifacts' verdict.

    ``ok`` is true only when the manifest loads, is signed by a trusted
    authority, and every check in ``checks`` passed. ``code`` names the first
    problem (``manifest_missing``, ``manifest_malformed``,
    ``manifest_unknown_authority``, ``manifest_signature_invalid``,
    ``artifact_missing``, ``artifact_hash_mismatch``) and ``reason`` says it
    in words; both are empty when ``ok``. ``manifest`` is the parsed manifest
    (``None`` if it cannot be loaded). ``binding_enabled`` mirrors
    ``VDI_BILLING_INCIRCUIT_BINDING``.
    """

    ok: bool
    checks: tuple[ArtifactCheck, ...]
    manifest: dict[str, Any] | None
    reason: str
    code: str = ""
    signature_ok: bool = False
    signature_detail: str = ""
    base_dir: Path = field(default_factory=Path)
    binding_enabled: bool = False

    @property
    def summary(self) -> str:
        """Return ``"N/M manifest match"`` (``"0/0 ..."`` without a manifest)."""
        return summarize_checks(list(self.checks))

    @property
    def proving_allowed(self) -> bool:
        """True when attest may attach Groth16 proofs (binding on, all ok)."""
        return self.binding_enabled and self.ok

    @property
    def failed_checks(self) -> list[ArtifactCheck]:
        """Return the checks that did not pass."""
        return [check for check in self.checks if not check.ok]


def manifest_path(base_dir: Path | None = None) -> Path:
    """Return the path of ``ARTIFACT_MANIFEST.json`` (settings' dir by default)."""
    return Path(base_dir or kernel_settings.circuit_artifacts_dir) / MANIFEST_FILENAME


def authority_keys(jwk_setting: str | None = None) -> dict[str, nacl.signing.VerifyKey]:
    """Return the trusted manifest authority keys ``{kid: verify_key}``.

    Read from ``settings.VDI_MANIFEST_AUTHORITY_PUBLIC_JWK`` (a JWK, a list of
    JWKs or ``{"keys": [...]}``; defaults to the committed
    ``circuits/apiBillingV2/manifest_authority.json``). Empty when unset.

    Raises:
        ManifestMalformed: the setting is not JSON or not Ed25519 JWKs.
    """
    text = (
        kernel_settings.manifest_authority_public_jwk
        if jwk_setting is None
        else jwk_setting
    )
    if not text.strip():
        return {}
    try:
        parsed = strict_loads(text)
    except JsonInputError as exc:
        raise ManifestMalformed(
            f"MP_MANIFEST_AUTHORITY_PUBLIC_JWK is not JSON: {exc}",
            field="MP_MANIFEST_AUTHORITY_PUBLIC_JWK",
        ) from exc
    return authority_keys_from_json(parsed)


def compute_artifact_status(
    *,
    base_dir: Path,
    authority_public_keys: dict[str, nacl.signing.VerifyKey] | None,
    binding_enabled: bool,
    authority_error: str = "",
) -> ArtifactStatus:
    """Validate the manifest in ``base_dir`` now (no cache).

    ``authority_public_keys`` ``None`` means the configured keys could not be
    parsed (``authority_error`` says why). File checks run even when the
    signature fails, so the staff view shows both.
    """
    common: dict[str, Any] = {"base_dir": base_dir, "binding_enabled": binding_enabled}
    try:
        manifest = load_manifest(manifest_path(base_dir))
    except ManifestError as exc:
        return ArtifactStatus(
            ok=False,
            checks=(),
            manifest=None,
            reason=exc.message,
            code=exc.code,
            **common,
        )
    checks = tuple(validate_artifacts(manifest, base_dir))
    signature_ok, signature_detail, code, reason = False, "", "", ""
    if authority_public_keys is None:
        code, reason = "manifest_unknown_authority", authority_error
    elif not authority_public_keys:
        code = "manifest_unknown_authority"
        reason = (
            "no manifest authority key configured (MP_MANIFEST_AUTHORITY_PUBLIC_JWK)"
        )
    else:
        try:
            verify_manifest_signature(manifest, authority_public_keys)
            signature_ok = True
            signature_detail = (
                f"signed by trusted authority {manifest['signature']['kid']}"
            )
        except ManifestError as exc:
            code, reason = exc.code, exc.message
    if not signature_ok:
        signature_detail = reason
    failed = [check for check in checks if not check.ok]
    if not code and failed:
        missing = [c for c in failed if c.kind == "file" and c.actual is None]
        code = "artifact_missing" if missing else "artifact_hash_mismatch"
        reason = f"{summarize_checks(list(checks))}; failed: " + ", ".join(
            check.name for check in failed
        )
    return ArtifactStatus(
        ok=not code,
        checks=checks,
        manifest=manifest,
        reason=reason,
        code=code,
        signature_ok=signature_ok,
        signature_detail=signature_detail,
        **common,
    )


_cache_lock = threading.Lock()
_cache: dict[str, Any] = {"key": None, "status": None}


def _fingerprint(base_dir: Path) -> tuple[Any, ...]:
    """Return (path, size, mtime_ns, inode) of every file under ``base_dir``."""
    entries: list[tuple[str, int, int, int]] = []
    if base_dir.is_dir():
        for root, _dirs, files in os.walk(base_dir):
            for name in files:
                path = os.path.join(root, name)
                try:
                    stat = os.stat(path)
                except OSError:
                    continue
                entries.append((path, stat.st_size, stat.st_mtime_ns, stat.st_ino))
    return tuple(sorted(entries))


def artifact_status(*, refresh: bool = False) -> ArtifactStatus:
    """Return the artifacts' verdict for the current settings (cached).

    The cache is keyed by the artifacts directory, the authority key setting,
    the binding flag, and every file's size, mtime and inode; ``refresh``
    forces a recomputation. Never raises for bad artifacts: see ``ok``.
    """
    base_dir = kernel_settings.circuit_artifacts_dir
    jwk_setting = kernel_settings.manifest_authority_public_jwk
    binding = circuits_settings.incircuit_binding
    key = (str(base_dir), jwk_setting, binding, _fingerprint(base_dir))
    with _cache_lock:
        if not refresh and _cache["key"] == key:
            cached: ArtifactStatus = _cache["status"]
            return cached
    keys: dict[str, nacl.signing.VerifyKey] | None
    try:
        keys, error = authority_keys(jwk_setting), ""
    except ManifestError as exc:
        keys, error = None, exc.message
    status = compute_artifact_status(
        base_dir=base_dir,
        authority_public_keys=keys,
        binding_enabled=binding,
        authority_error=error,
    )
    with _cache_lock:
        _cache["key"], _cache["status"] = key, status
    return status


def require_artifacts() -> ArtifactStatus:
    """Return the verdict, raising if proving must be refused.

    Call before building a Groth16 proof. With
    ``VDI_BILLING_INCIRCUIT_BINDING`` off the status is returned as is (the
    caller does not prove).

    Raises:
        ArtifactManifestMismatch: (``artifact_manifest_mismatch``, HTTP 503)
            binding is on and the manifest is missing, malformed, not signed
            by a trusted authority, or any artifact differs from it; the
            exception's ``status`` holds the :class:`ArtifactStatus`.
    """
    status = artifact_status()
    if status.binding_enabled and not status.ok:
        raise ArtifactManifestMismatch(
            f"circuit artifacts in {status.base_dir} do not match the signed "
            f"manifest ({status.code}: {status.reason}); attest with proofs is "
            f"refused until an operator restores them "
            f"(python manage.py artifacts verify)",
            status=status,
        )
    return status
