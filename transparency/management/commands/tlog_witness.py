"""``manage.py tlog_witness``: a C2SP tlog-witness for a meterproof log.

Run it on another host than the log, with its own key::

    manage.py tlog_witness --init --name witness.example/w1 --key-file ~/w1.key
    # -> prints the 0x04 vkey to add to the log's MP_BILLING_LOG_WITNESS_KEYS
    manage.py tlog_witness --log https://log.example --log-key 'origin+id+AQ..' \\
        --key-file ~/w1.key --state-file ~/w1.state.json --interval 60

Each round fetches the log head, verifies the checkpoint with the log's key,
checks consistency with the last cosigned checkpoint (state file), cosigns
(type 0x04, ``cosignature/v1`` with a timestamp) and POSTs the line to
``/api/vdi/billing/transparency/cosignatures``. A refusal (fork, rollback, bad
signature) signs nothing and leaves the state as it was. ``--log self`` reads
this server in-process (demos and tests only: a witness on the log's own host
adds no assurance).
"""

from __future__ import annotations

import json
import os
import tempfile
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from kernel.protocol.errors import MeterproofError
from transparency.fetchers import (
    Poster,
    http_fetcher,
    http_poster,
    local_fetcher,
    local_poster,
)
from transparency.protocol.errors import FetchError, WitnessError
from transparency.protocol.logapi import COSIGNATURES_PATH
from transparency.protocol.note import (
    COSIGNATURE_TYPE,
    CosignatureSigner,
    NoteVerifier,
    generate_key,
)
from transparency.protocol.witness import Cosigned, Witness, WitnessState
from transparency.signer import log_signer_get


def key_init(path: Path, name: str) -> str:
    """Write a fresh 0x04 signer key to ``path`` (mode 0600, never
    overwritten); return its vkey.

    Raises:
        CommandError: ``path`` exists.
    """
    skey, vkey = generate_key(name, COSIGNATURE_TYPE)
    try:
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        raise CommandError(f"{path} exists; refusing to overwrite a key") from None
    with os.fdopen(fd, "w", encoding="ascii") as handle:
        handle.write(skey + "\n")
    return vkey


def key_load(path: Path) -> CosignatureSigner:
    """Read the witness's 0x04 signer key (``PRIVATE+KEY+...``) from ``path``.

    Raises:
        CommandError: unreadable or malformed key file.
    """
    try:
        text = path.read_text(encoding="ascii").strip()
        signer = CosignatureSigner.from_skey(text)
    except (OSError, UnicodeDecodeError) as exc:
        raise CommandError(f"cannot read key file {path}: {exc}") from None
    except MeterproofError as exc:
        raise CommandError(f"key file {path}: {exc.message}") from None
    assert isinstance(signer, CosignatureSigner)
    return signer


def state_load(path: Path, origin: str) -> WitnessState | None:
    """Return the saved state for ``origin`` (``None`` if the file is absent).

    Raises:
        CommandError: the file is malformed or belongs to another log.
    """
    try:
        obj = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return None
    except (OSError, ValueError) as exc:
        raise CommandError(f"cannot read state file {path}: {exc}") from None
    if not isinstance(obj, dict) or obj.get("origin") != origin:
        raise CommandError(
            f"state file {path} is for origin {obj.get('origin')!r}, not {origin!r}"
            if isinstance(obj, dict)
            else f"state file {path} is not a JSON object"
        )
    try:
        return WitnessState.from_json(
            {"tree_size": obj.get("tree_size"), "root_hash": obj.get("root_hash")}
        )
    except (ValueError, TypeError) as exc:
        raise CommandError(f"state file {path}: {exc}") from None


def state_save(path: Path, origin: str, state: WitnessState) -> None:
    """Write the state atomically (temp file, fsync, rename)."""
    body = json.dumps({"origin": origin, **state.to_json()}, indent=2) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=".witness-", dir=path.parent or Path("."))
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(body)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def witness_round(
    witness: Witness, post: Poster, state_path: Path, *, submit: bool = True
) -> Cosigned:
    """Cosign the log head, persist the new state, submit the cosignature.

    The state is saved before submitting: the checkpoint was verified either
    way, and a failed submit is retried on the next round.

    Raises:
        WitnessError: the witness refused (nothing signed, state unchanged).
        FetchError: the log refused or could not take the submission.
    """
    cosigned = witness.step()
    state_save(state_path, witness.origin, cosigned.state)
    if submit:
        post(
            COSIGNATURES_PATH,
            {
                "checkpoint": cosigned.checkpoint_text,
                "tree_size": cosigned.checkpoint.tree_size,
                "root_hash": cosigned.checkpoint.root_hash.hex(),
                "cosignature": cosigned.cosignature,
            },
        )
    return cosigned


class Command(BaseCommand):
    """Run a C2SP tlog-witness against a meterproof log."""

    help = __doc__.split("\n\n")[0] if __doc__ else ""

    def add_arguments(self, parser: CommandParser) -> None:
        """Parse the options listed in the module docstring."""
        parser.add_argument("--log", help="log base URL, or 'self' (in-process)")
        parser.add_argument("--key-file", required=True, type=Path)
        parser.add_argument("--state-file", type=Path)
        parser.add_argument(
            "--log-key",
            action="append",
            default=[],
            help="the log's 0x01 note vkey (repeatable); 'self' reads this "
            "server's own key",
        )
        parser.add_argument(
            "--origin", help="the log's origin (default: the --log-key's name)"
        )
        parser.add_argument("--init", action="store_true", help="generate a key")
        parser.add_argument("--name", help="witness key name for --init")
        mode = parser.add_mutually_exclusive_group()
        mode.add_argument("--once", action="store_true", help="one round (default)")
        mode.add_argument("--interval", type=float, help="seconds between rounds")
        parser.add_argument(
            "--no-submit", action="store_true", help="print, do not POST"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Initialise a key, or run one or more witness rounds."""
        key_path: Path = options["key_file"]
        if options["init"]:
            if not options["name"]:
                raise CommandError("--init needs --name (e.g. witness.example/w1)")
            vkey = key_init(key_path, options["name"])
            self.stdout.write(f"wrote {key_path}; add this key to the log's ")
            self.stdout.write("MP_BILLING_LOG_WITNESS_KEYS:")
            self.stdout.write(vkey)
            return
        if not options["log"] or not options["state_file"]:
            raise CommandError("--log and --state-file are required")
        signer = key_load(key_path)
        log_keys = self._log_keys(options["log_key"])
        origin = options["origin"] or log_keys[0].name
        if options["log"] == "self":
            fetch, post = local_fetcher(), local_poster()
        else:
            fetch, post = http_fetcher(options["log"]), http_poster(options["log"])
        state_path: Path = options["state_file"]
        witness = Witness(
            origin=origin,
            log_verifier_keys=log_keys,
            signer=signer,
            state=state_load(state_path, origin),
            fetch=fetch,
        )
        interval = options["interval"]
        while True:
            try:
                cosigned = witness_round(
                    witness, post, state_path, submit=not options["no_submit"]
                )
            except WitnessError as exc:
                message = f"refused: {exc.code}: {exc.message}"
                if interval is None:
                    raise CommandError(message) from None
                self.stderr.write(message)
            except FetchError as exc:
                message = f"submission failed: {exc.message}"
                if interval is None:
                    raise CommandError(message) from None
                self.stderr.write(message)
            else:
                self.stdout.write(
                    f"cosigned {origin} tree_size {cosigned.checkpoint.tree_size} "
                    f"root {cosigned.checkpoint.root_hash.hex()}"
                )
                if options["no_submit"]:
                    self.stdout.write(cosigned.cosignature, ending="")
            if interval is None:
                return
            time.sleep(interval)

    def _log_keys(self, values: list[str]) -> list[NoteVerifier]:
        if not values:
            raise CommandError("give the log's note verifier key with --log-key")
        keys = []
        for value in values:
            if value == "self":
                value = log_signer_get().verifier_key()
            try:
                keys.append(NoteVerifier.from_vkey(value))
            except MeterproofError as exc:
                raise CommandError(f"--log-key {value!r}: {exc.message}") from None
        return keys
