"""``manage.py billing_keys``: write fresh Ed25519 keys into the git-ignored .env.

Writes the meter, issuer, log-operator and manifest-authority keys (the seed's
``setup:billing-v2-env``), their RFC 7638 kids, a Django SECRET_KEY and the
tenant-surrogate hashing key. Refuses to overwrite existing keys without
``--force``; ``--if-missing`` makes an existing set a no-op (for ``make demo``).
"""

from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.protocol.keys import KeyPair, signing_key_to_pem

KEY_NAMES = (
    "VDI_SIGNING_KEY",
    "VDI_BILLING_METER_PRIVATE_KEY_PEM",
    "VDI_BILLING_METER_KID",
    "VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM",
    "VDI_BILLING_LOG_OPERATOR_KID",
    "VDI_MANIFEST_AUTHORITY_SIGNING_KEY",
    "VDI_TENANT_SURROGATE_KEY",
)


def generate_env_values() -> dict[str, str]:
    """Return a fresh set of key variables (PEMs with ``\\n`` escapes)."""
    issuer, meter, log_operator, authority = (KeyPair.generate() for _ in range(4))

    def pem(pair: KeyPair) -> str:
        return signing_key_to_pem(pair.signing_key).replace("\n", "\\n")

    return {
        "VDI_SIGNING_KEY": bytes(issuer.signing_key).hex(),
        "VDI_BILLING_METER_PRIVATE_KEY_PEM": pem(meter),
        "VDI_BILLING_METER_KID": meter.kid,
        "VDI_BILLING_LOG_OPERATOR_PRIVATE_KEY_PEM": pem(log_operator),
        "VDI_BILLING_LOG_OPERATOR_KID": log_operator.kid,
        "VDI_MANIFEST_AUTHORITY_SIGNING_KEY": bytes(authority.signing_key).hex(),
        "VDI_TENANT_SURROGATE_KEY": secrets.token_hex(32),
    }


class Command(BaseCommand):
    """Generate billing keys into .env."""

    help = "Write fresh Ed25519 billing keys into .env (refuses to overwrite without --force)."

    def add_arguments(self, parser: CommandParser) -> None:
        """Options: --force, --if-missing, --env-file."""
        parser.add_argument(
            "--force", action="store_true", help="rotate: overwrite existing keys"
        )
        parser.add_argument(
            "--if-missing",
            action="store_true",
            help="exit 0 without changes if keys exist",
        )
        parser.add_argument("--env-file", default=str(Path(settings.BASE_DIR) / ".env"))

    def handle(self, *args: Any, **options: Any) -> None:
        """Write the keys, keeping unrelated lines of the file."""
        path = Path(options["env_file"])
        lines = path.read_text().splitlines() if path.exists() else []
        present = {
            line.split("=", 1)[0].strip()
            for line in lines
            if "=" in line and not line.lstrip().startswith("#")
        }
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
        kept = [
            line
            for line in lines
            if not ("=" in line and line.split("=", 1)[0].strip() in values)
        ]
        kept.append(
            "# written by manage.py billing_keys: development keys, never commit"
        )
        kept.extend(f'{name}="{value}"' for name, value in values.items())
        path.write_text("\n".join(kept) + "\n")
        os.chmod(path, 0o600)
        self.stdout.write(
            f"wrote {path}: meter kid {values['VDI_BILLING_METER_KID']}, "
            f"log operator kid {values['VDI_BILLING_LOG_OPERATOR_KID']}"
        )
