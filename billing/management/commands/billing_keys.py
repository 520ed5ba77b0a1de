"""``manage.py billing_keys``: write fresh Ed25519 keys into the git-ignored .env.

Writes the meter, issuer and log-operator keys (the seed's
``setup:billing-v2-env``), their RFC 7638 kids, a Django SECRET_KEY and the
tenant-surrogate hashing key. It writes no manifest-authority key: that
authority signs the circuit manifest offline, and the trusted one is the
release's (``MP_MANIFEST_AUTHORITY_PUBLIC_JWK``); a regeneration (``--force``)
drops a ``MP_MANIFEST_AUTHORITY_SIGNING_KEY`` an older version wrote. Refuses
to overwrite existing keys without ``--force``; ``--if-missing`` makes an
existing set a no-op (for ``make demo``).

Variables are written under their ``MP_`` names (the environment prefix rule
of :mod:`kernel.settings`). A file an older version wrote with ``VDI_`` names
is read the same (``VDI_<X>`` is the deprecated alias of ``MP_<X>``, and
``MP_<X>`` wins); whatever the command rewrites drops the ``VDI_`` line of the
same variable.

``billing_keys rotate --role meter|issuer|log-operator`` replaces one role's
signing key by a fresh one and appends the old *public* key to
``MP_BILLING_RETIRED_KEYS`` (JSON list of ``{role, kid, jwk, not_before,
not_after}``) with ``not_after`` = the rotation time, so what it signed before
rotation still verifies and what it signs afterwards fails the strict
``kids_valid`` check. Restart the server processes to pick up the new key.
"""

from __future__ import annotations

import json
import os
import secrets
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import nacl.signing
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.settings import billing_settings
from kernel.protocol.ed25519 import (
    KeyPair,
    public_jwk,
    signing_key_from_pem,
    signing_key_from_seed_hex,
    signing_key_to_pem,
)
from kernel.protocol.errors import KeyFormatError
from kernel.protocol.timefmt import format_rfc3339_utc
from kernel.settings import env_name, kernel_settings

#: role -> (private key variable, kid variable or None, encoding)
ROTATABLE = {
    "meter": ("MP_BILLING_METER_PRIVATE_KEY_PEM", "MP_BILLING_METER_KID", "pem"),
    "issuer": ("MP_SIGNING_KEY", None, "hex"),
    "log_operator": (
        "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM",
        "MP_BILLING_LOG_OPERATOR_KID",
        "pem",
    ),
}
RETIRED_VAR = "MP_BILLING_RETIRED_KEYS"
AUTHORITY_VAR = "MP_MANIFEST_AUTHORITY_SIGNING_KEY"

KEY_NAMES = (
    "MP_SIGNING_KEY",
    "MP_BILLING_METER_PRIVATE_KEY_PEM",
    "MP_BILLING_METER_KID",
    "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM",
    "MP_BILLING_LOG_OPERATOR_KID",
    AUTHORITY_VAR,
    "MP_TENANT_SURROGATE_KEY",
)


def _settings_values() -> dict[str, str]:
    """Return the current settings of the variables this command manages, by
    their ``MP_`` names (the fallback when ``.env`` lacks one)."""
    return {
        "MP_SIGNING_KEY": kernel_settings.signing_key,
        "MP_BILLING_METER_PRIVATE_KEY_PEM": kernel_settings.meter_private_key_pem,
        "MP_BILLING_METER_KID": kernel_settings.meter_kid,
        "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": (
            kernel_settings.log_operator_private_key_pem
        ),
        "MP_BILLING_LOG_OPERATOR_KID": kernel_settings.log_operator_kid,
        AUTHORITY_VAR: kernel_settings.manifest_authority_signing_key,
        "MP_TENANT_SURROGATE_KEY": billing_settings.tenant_surrogate_key,
        RETIRED_VAR: kernel_settings.retired_keys,
    }


def generate_env_values() -> dict[str, str]:
    """Return a fresh set of key variables (PEMs with ``\\n`` escapes)."""
    issuer, meter, log_operator = (KeyPair.generate() for _ in range(3))

    def pem(pair: KeyPair) -> str:
        return signing_key_to_pem(pair.signing_key).replace("\n", "\\n")

    return {
        "MP_SIGNING_KEY": bytes(issuer.signing_key).hex(),
        "MP_BILLING_METER_PRIVATE_KEY_PEM": pem(meter),
        "MP_BILLING_METER_KID": meter.kid,
        "MP_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": pem(log_operator),
        "MP_BILLING_LOG_OPERATOR_KID": log_operator.kid,
        "MP_TENANT_SURROGATE_KEY": secrets.token_hex(32),
    }


def _read_env(lines: list[str]) -> dict[str, str]:
    """Return ``NAME -> value`` of a .env file's lines (quotes removed), by
    ``MP_`` names: a ``VDI_<X>`` line counts as ``MP_<X>`` unless the file
    also has ``MP_<X>``, which wins."""
    values: dict[str, str] = {}
    aliased: dict[str, str] = {}
    for line in lines:
        if "=" not in line or line.lstrip().startswith("#"):
            continue
        name, _, value = line.partition("=")
        name, value = name.strip(), value.strip()
        if len(value) >= 2 and value[0] == value[-1] and value[0] in "'\"":
            value = value[1:-1]
        if env_name(name) != name:
            aliased[env_name(name)] = value
        else:
            values[name] = value
    return {**aliased, **values}


def _without(lines: list[str], names: set[str]) -> list[str]:
    """Return ``lines`` without the assignments of ``names`` (``MP_`` names;
    their deprecated ``VDI_`` lines go too)."""
    return [
        line
        for line in lines
        if not ("=" in line and env_name(line.split("=", 1)[0].strip()) in names)
    ]


def rotate_env_values(
    current: dict[str, str], role: str, *, now: datetime
) -> tuple[dict[str, str], dict[str, Any], KeyPair]:
    """Return ``(new variables, retired entry, new key)`` for rotating ``role``.

    ``current`` holds the present variables by ``MP_`` names (``.env``
    values, falling back to settings; ``VDI_`` names are read as aliases). The retired entry carries only the old public key, its kid, its
    ``not_before`` (null) and ``not_after`` = ``now`` (RFC 3339 UTC).

    Raises:
        CommandError: unknown role, or no/malformed current key for the role.
    """
    if role not in ROTATABLE:
        raise CommandError("--role must be one of meter, issuer, log-operator")
    key_var, kid_var, encoding = ROTATABLE[role]
    current = {**{env_name(k): v for k, v in current.items()}, **current}
    old_text = current.get(key_var, "")
    if not old_text:
        raise CommandError(f"{key_var} is not set: run 'manage.py billing_keys' first")
    try:
        old_key: nacl.signing.SigningKey = (
            signing_key_from_pem(old_text)
            if encoding == "pem"
            else signing_key_from_seed_hex(old_text)
        )
    except KeyFormatError as exc:
        raise CommandError(f"{key_var} is malformed: {exc.message}") from exc
    old = KeyPair.from_signing_key(old_key)
    new = KeyPair.generate()
    retired_entry: dict[str, Any] = {
        "role": role,
        "kid": old.kid,
        "jwk": public_jwk(old.verify_key),
        "not_before": None,
        "not_after": format_rfc3339_utc(now.replace(microsecond=0)),
    }
    try:
        retired = json.loads(current.get(RETIRED_VAR) or "[]")
    except ValueError as exc:
        raise CommandError(f"{RETIRED_VAR} is not JSON: {exc}") from exc
    if not isinstance(retired, list):
        raise CommandError(f"{RETIRED_VAR} must be a JSON list")
    retired = [
        e for e in retired if not (isinstance(e, dict) and e.get("kid") == old.kid)
    ]
    retired.append(retired_entry)
    values = {
        key_var: signing_key_to_pem(new.signing_key).replace("\n", "\\n")
        if encoding == "pem"
        else bytes(new.signing_key).hex(),
        RETIRED_VAR: json.dumps(retired, separators=(",", ":"), sort_keys=True),
    }
    if kid_var:
        values[kid_var] = new.kid
    return values, retired_entry, new


class Command(BaseCommand):
    """Generate billing keys into .env."""

    help = "Write fresh Ed25519 billing keys into .env (refuses to overwrite without --force)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Options: [rotate --role R], --force, --if-missing, --env-file."""
        parser.add_argument(
            "action",
            nargs="?",
            choices=["generate", "rotate"],
            default="generate",
            help="generate a full key set (default) or rotate one role's key",
        )
        parser.add_argument(
            "--role",
            choices=["meter", "issuer", "log-operator", "log_operator"],
            help="rotate: the role whose signing key is replaced",
        )
        parser.add_argument(
            "--force", action="store_true", help="rotate: overwrite existing keys"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="exit 0 without changes if keys exist",
        )
        parser.add_argument(
            "--env-file", default=str(kernel_settings.base_dir / ".env")
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Write the keys, keeping unrelated lines of the file."""
        path = Path(options["env_file"])
        lines = path.read_text().splitlines() if path.exists() else []
        if options["action"] == "rotate":
            self._rotate(path, lines, options["role"])
            return
        present = set(_read_env(lines))
        existing = sorted(present & set(KEY_NAMES))
        if existing and not options["force"]:
            if options["if_missing"]:
                self.stdout.write(f"{path}: keys already present, left unchanged")
                return
            raise CommandError(
                f"{path} already holds {', '.join(existing)}; use --force to rotate them"
            )
        values = generate_env_values()
        if "DJANGO_SECRET_KEY" not in present:
            values["DJANGO_SECRET_KEY"] = secrets.token_urlsafe(50)
        kept = _without(lines, {*values, AUTHORITY_VAR})
        kept.append(
            "# written by manage.py billing_keys: development keys, never commit"
        )
        kept.extend(f'{name}="{value}"' for name, value in values.items())
        path.write_text("\n".join(kept) + "\n")
        os.chmod(path, 0o600)
        self.stdout.write(
            f"wrote {path}: meter kid {values['MP_BILLING_METER_KID']}, "
            f"log operator kid {values['MP_BILLING_LOG_OPERATOR_KID']}"
        )

    def _rotate(self, path: Path, lines: list[str], role: str | None) -> None:
        """Rotate one role's key in ``path`` (see the module docstring)."""
        if role is None:
            raise CommandError("rotate needs --role meter|issuer|log-operator")
        role = role.replace("-", "_")
        current = _settings_values()
        current.update(_read_env(lines))
        values, retired, new = rotate_env_values(current, role, now=datetime.now(UTC))
        kept = _without(lines, set(values))
        for name, value in values.items():
            quote = "'" if name == RETIRED_VAR else '"'
            kept.append(f"{name}={quote}{value}{quote}")
        path.write_text("\n".join(kept) + "\n")
        os.chmod(path, 0o600)
        self.stdout.write(
            f"rotated {role}: new kid {new.kid}; retired kid {retired['kid']} "
            f"(valid for verification until {retired['not_after']}); restart the "
            "server to sign with the new key"
        )
