"""``manage.py artifacts build|sign|verify``: the signed ARTIFACT_MANIFEST.json.

- ``build``: write an unsigned manifest computed from the files in the
  artifacts directory (hashes, circuit_hash, vkey_hash, r1cs counts; toolchain
  and ceremony summary from transcript.json).
- ``sign``: sign the manifest with ``MP_MANIFEST_AUTHORITY_SIGNING_KEY``
  (64-hex Ed25519 seed or PKCS#8 PEM, from the environment); refuses if the
  files do not match the manifest.
- ``verify``: check the signature against the trusted authority keys and
  every file's hash; exits non-zero on any mismatch.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from circuits.artifacts import authority_keys, compute_artifact_status, manifest_path
from circuits.protocol.commitments import BINDING_VERSION
from circuits.protocol.errors import ManifestError
from circuits.protocol.manifest import (
    authority_jwk,
    build_manifest,
    load_manifest,
    sign_manifest,
    summarize_checks,
    validate_artifacts,
)
from circuits.settings import circuits_settings
from kernel.protocol.ed25519 import signing_key_from_pem, signing_key_from_seed_hex
from kernel.protocol.errors import KeyFormatError
from kernel.settings import kernel_settings

#: Files of the apiBillingV2 artifact set, by role (paths relative to the dir).
APIBILLINGV2_ROLES = {
    "source": "apiBillingV2.circom",
    "r1cs": "apiBillingV2.r1cs",
    "wasm": "apiBillingV2_js/apiBillingV2.wasm",
    "witness_calculator": "apiBillingV2_js/witness_calculator.js",
    "generate_witness": "apiBillingV2_js/generate_witness.js",
    "zkey": "apiBillingV2_final.zkey",
    "verification_key": "verification_key.json",
    "transcript": "transcript.json",
    "ptau": "pot9_final.ptau",
}


def _write_json(path: Path, obj: Any) -> None:
    path.write_text(json.dumps(obj, indent=2, sort_keys=False) + "\n")


class Command(BaseCommand):
    """Build, sign and verify the circuit artifact manifest."""

    help = "Build, sign (manifest authority) and verify ARTIFACT_MANIFEST.json."
    # The circuits system checks report exactly what this command repairs.
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """Subcommands build, sign, verify; each takes --dir."""
        sub = parser.add_subparsers(dest="action", required=True)
        for name in ("build", "sign", "verify"):
            action = sub.add_parser(name)
            action.add_argument(
                "--dir",
                default=None,
                help="artifacts directory (default MP_CIRCUIT_ARTIFACTS_DIR)",
            )
            if name == "verify":
                action.add_argument("--json", action="store_true", help="JSON output")

    def handle(self, *args: Any, **options: Any) -> None:
        """Dispatch to the subcommand."""
        base = Path(options["dir"] or kernel_settings.circuit_artifacts_dir)
        getattr(self, f"_{options['action']}")(base, options)

    def _build(self, base: Path, options: dict[str, Any]) -> None:
        try:
            transcript = json.loads(
                (base / APIBILLINGV2_ROLES["transcript"]).read_text()
            )
            phase1 = transcript["phase1"]["contributions"]
            phase2 = transcript["phase2"]["contributions"]
            manifest = build_manifest(
                base,
                circuit="apiBillingV2",
                binding_version=BINDING_VERSION,
                roles=APIBILLINGV2_ROLES,
                toolchain=transcript["toolchain"],
                created_at=datetime.now(UTC).strftime("%Y-%m-%dT%H:%M:%SZ"),
                extra={
                    "ceremony": {
                        "phase1_power": transcript["phase1"]["power"],
                        "phase1_contributors": [c["name"] for c in phase1],
                        "phase2_contributors": [c["name"] for c in phase2],
                        "beacon": transcript["beacon"],
                        "snarkjs_circuit_hash": transcript["phase2"][
                            "snarkjs_circuit_hash"
                        ],
                    }
                },
            )
        except (OSError, KeyError, ValueError, ManifestError) as exc:
            raise CommandError(f"cannot build the manifest from {base}: {exc}") from exc
        _write_json(manifest_path(base), manifest)
        self.stdout.write(
            f"wrote unsigned {manifest_path(base)}: {len(manifest['artifacts'])} "
            f"artifacts, circuit_hash {manifest['circuit_hash']}, vkey_hash "
            f"{manifest['vkey_hash']}; now run 'manage.py artifacts sign'"
        )

    def _sign(self, base: Path, options: dict[str, Any]) -> None:
        secret = kernel_settings.manifest_authority_signing_key.strip()
        if not secret:
            raise CommandError(
                "MP_MANIFEST_AUTHORITY_SIGNING_KEY is not set: export the manifest "
                "authority's Ed25519 seed (64 hex) or PEM for this command only"
            )
        try:
            key = (
                signing_key_from_pem(secret.replace("\\n", "\n"))
                if secret.startswith("-----")
                else signing_key_from_seed_hex(secret)
            )
        except KeyFormatError as exc:
            raise CommandError(
                f"MP_MANIFEST_AUTHORITY_SIGNING_KEY: {exc.message}"
            ) from exc
        try:
            manifest = load_manifest(manifest_path(base))
            checks = validate_artifacts(manifest, base)
        except ManifestError as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc
        failed = [check.name for check in checks if not check.ok]
        if failed:
            raise CommandError(
                f"refusing to sign: {summarize_checks(checks)}; differ: "
                f"{', '.join(failed)} (run 'manage.py artifacts build' first)"
            )
        signed = sign_manifest(manifest, key)
        _write_json(manifest_path(base), signed)
        jwk = authority_jwk(key.verify_key)
        self.stdout.write(
            f"signed {manifest_path(base)} ({summarize_checks(checks)}) with kid "
            f"{jwk['kid']}\npublic JWK (trust anchor): {json.dumps(jwk)}"
        )
        try:
            trusted = authority_keys()
        except ManifestError:
            trusted = {}
        if jwk["kid"] not in trusted:
            self.stderr.write(
                "warning: this kid is not in MP_MANIFEST_AUTHORITY_PUBLIC_JWK; "
                "publish the JWK above as the trust anchor"
            )

    def _verify(self, base: Path, options: dict[str, Any]) -> None:
        try:
            keys, error = authority_keys(), ""
        except ManifestError as exc:
            keys, error = None, exc.message
        status = compute_artifact_status(
            base_dir=base,
            authority_public_keys=keys,
            binding_enabled=circuits_settings.incircuit_binding,
            authority_error=error,
        )
        if options.get("json"):
            self.stdout.write(
                json.dumps(
                    {
                        "ok": status.ok,
                        "code": status.code,
                        "reason": status.reason,
                        "summary": status.summary,
                        "signature_ok": status.signature_ok,
                        "signature": status.signature_detail,
                        "checks": [check.to_json() for check in status.checks],
                    },
                    indent=2,
                )
            )
        else:
            for check in status.checks:
                verdict = "ok  " if check.ok else "FAIL"
                self.stdout.write(
                    f"{verdict} {check.name}: expected {check.expected} actual "
                    f"{check.actual}{'  ' + check.detail if check.detail else ''}"
                )
            self.stdout.write(
                f"signature: {'ok' if status.signature_ok else 'FAIL'} "
                f"({status.signature_detail})"
            )
            self.stdout.write(status.summary)
        if not status.ok:
            raise CommandError(f"{status.code}: {status.reason}")
