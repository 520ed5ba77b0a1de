"""``manage.py ceremony contribute|verify|finalize``: Phase-2 steps via snarkjs.

One contributor per host (README "Ceremony"):

- ``contribute IN.zkey OUT.zkey --name NAME``: add one contribution with
  fresh ``os.urandom`` entropy (never stored) and print the contribution hash
  the contributor publishes;
- ``finalize IN.zkey --beacon HEX``: apply the public random beacon, verify
  the result against the r1cs and ptau, write ``apiBillingV2_final.zkey`` and
  ``verification_key.json`` into the artifacts directory;
- ``verify``: ``snarkjs zkey verify`` of the shipped zkey against the shipped
  r1cs and ptau, and compare its contribution hashes with transcript.json.

Needs node and snarkjs (``$SNARKJS``, ``snarkjs`` on PATH, or
``./node_modules/.bin/snarkjs``); the
server never does.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from circuits.ceremony import (
    export_verification_key,
    zkey_beacon,
    zkey_contribute,
    zkey_verify,
)
from circuits.errors import CeremonyError, SnarkjsUnavailable
from circuits.management.commands.artifacts import APIBILLINGV2_ROLES
from kernel.settings import kernel_settings


class Command(BaseCommand):
    """Wrap the snarkjs Phase-2 ceremony steps."""

    help = "Phase-2 ceremony steps (snarkjs): contribute, verify, finalize."
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        """Subcommands contribute, verify, finalize."""
        sub = parser.add_subparsers(dest="action", required=True)
        contribute = sub.add_parser("contribute", help="add one contribution")
        contribute.add_argument("in_zkey")
        contribute.add_argument("out_zkey")
        contribute.add_argument("--name", required=True, help="contributor's name")
        verify = sub.add_parser("verify", help="zkey verify the shipped artifacts")
        verify.add_argument("--dir", default=None)
        verify.add_argument("--zkey", default=None, help="zkey (default: shipped)")
        finalize = sub.add_parser("finalize", help="apply the public beacon")
        finalize.add_argument("in_zkey")
        finalize.add_argument("--beacon", required=True, help="public beacon, hex")
        finalize.add_argument("--iterations-exp", type=int, default=10)
        finalize.add_argument("--name", default="final beacon")
        finalize.add_argument("--dir", default=None)

    def handle(self, *args: Any, **options: Any) -> None:
        """Dispatch; snarkjs problems become a CommandError (exit 1)."""
        try:
            getattr(self, f"_{options['action']}")(options)
        except (SnarkjsUnavailable, CeremonyError) as exc:
            raise CommandError(f"{exc.code}: {exc.message}") from exc

    def _dir(self, options: dict[str, Any]) -> Path:
        return Path(options.get("dir") or kernel_settings.circuit_artifacts_dir)

    def _contribute(self, options: dict[str, Any]) -> None:
        if Path(options["out_zkey"]).exists():
            raise CommandError(f"{options['out_zkey']} exists; refusing to overwrite")
        digest = zkey_contribute(
            options["in_zkey"], options["out_zkey"], name=options["name"]
        )
        self.stdout.write(
            f"contribution by {options['name']} written to {options['out_zkey']}\n"
            f"contribution hash (publish this): {digest}"
        )

    def _verify(self, options: dict[str, Any]) -> None:
        base = self._dir(options)
        zkey = Path(options.get("zkey") or base / APIBILLINGV2_ROLES["zkey"])
        result = zkey_verify(
            base / APIBILLINGV2_ROLES["r1cs"], base / APIBILLINGV2_ROLES["ptau"], zkey
        )
        if not result.ok:
            raise CeremonyError(
                f"snarkjs zkey verify did not print 'ZKey Ok!' for {zkey}"
            )
        for entry in result.contributions:
            beacon = f" beacon {entry['beacon']}" if "beacon" in entry else ""
            self.stdout.write(
                f"contribution #{entry['index']} {entry['name']}: "
                f"{entry['contribution_hash']}{beacon}"
            )
        transcript_path = base / APIBILLINGV2_ROLES["transcript"]
        if transcript_path.exists() and options.get("zkey") is None:
            recorded = json.loads(transcript_path.read_text())["phase2"][
                "contributions"
            ]
            pairs = [(e["name"], e["contribution_hash"]) for e in recorded]
            found = [(e["name"], e["contribution_hash"]) for e in result.contributions]
            if pairs != found:
                raise CommandError(
                    f"zkey contributions {found} differ from transcript.json {pairs}"
                )
            self.stdout.write("contributions match transcript.json")
        self.stdout.write(
            f"ZKey Ok! {zkey} against {base / APIBILLINGV2_ROLES['r1cs']}"
        )

    def _finalize(self, options: dict[str, Any]) -> None:
        base = self._dir(options)
        out = base / APIBILLINGV2_ROLES["zkey"]
        digest = zkey_beacon(
            options["in_zkey"],
            out,
            beacon_hex=options["beacon"],
            iterations_exp=options["iterations_exp"],
            name=options["name"],
        )
        result = zkey_verify(
            base / APIBILLINGV2_ROLES["r1cs"], base / APIBILLINGV2_ROLES["ptau"], out
        )
        if not result.ok:
            raise CeremonyError(f"final zkey {out} does not verify")
        export_verification_key(out, base / APIBILLINGV2_ROLES["verification_key"])
        self.stdout.write(
            f"beacon {options['beacon']} (2^{options['iterations_exp']} iterations) "
            f"applied: {out}\nbeacon contribution hash: {digest}\nZKey Ok!; wrote "
            f"{base / APIBILLINGV2_ROLES['verification_key']}\nnext: update "
            f"transcript.json, then 'manage.py artifacts build' and "
            f"'manage.py artifacts sign'"
        )
