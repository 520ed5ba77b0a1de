"""Run Groth16 ceremony steps with snarkjs (subprocess) and read its output.

Only the ceremony needs node: the server and its tests never call this module
unless ``manage.py ceremony ...`` is run. snarkjs is found as ``$SNARKJS``
(a path or a command line, e.g. ``npx snarkjs``), else ``snarkjs`` on
``PATH``, else ``./node_modules/.bin/snarkjs``; nothing is ever downloaded.

snarkjs prints hashes as 64-byte BLAKE2b digests in four lines of four
8-hex-digit groups after a label; :func:`parse_hash_after` joins them into
128 lowercase hex characters. Spec: snarkjs README "Groth16" steps 1-15.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import subprocess
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from circuits.errors import CeremonyError, SnarkjsUnavailable

__all__ = [
    "ZkeyVerification",
    "export_verification_key",
    "parse_hash_after",
    "parse_ptau_verify",
    "parse_zkey_verify",
    "run_snarkjs",
    "snarkjs_argv",
    "snarkjs_version",
    "zkey_beacon",
    "zkey_contribute",
    "zkey_verify",
]

_ANSI = re.compile(r"\x1b\[[0-9;]*m")
_HEX_GROUP_LINE = re.compile(r"^\s+((?:[0-9a-f]{8}\s*){4})$")
_TIMEOUT_SECONDS = 600


def snarkjs_argv() -> list[str]:
    """Return the command that runs snarkjs, as an argv prefix.

    Raises:
        SnarkjsUnavailable: neither ``$SNARKJS``, ``snarkjs`` on ``PATH``
            nor ``./node_modules/.bin/snarkjs`` is available.
    """
    configured = os.environ.get("SNARKJS", "").strip()
    if configured:
        argv = shlex.split(configured)
        if shutil.which(argv[0]) is None and not Path(argv[0]).exists():
            raise SnarkjsUnavailable(f"SNARKJS={configured!r} is not executable")
        return argv
    found = shutil.which("snarkjs")
    if found:
        return [found]
    local = Path.cwd() / "node_modules" / ".bin" / "snarkjs"
    if local.exists():
        return [str(local)]
    raise SnarkjsUnavailable(
        "snarkjs not found: install node and `npm install snarkjs`, then set "
        "SNARKJS=/path/to/node_modules/.bin/snarkjs (only the ceremony needs it)"
    )


def run_snarkjs(
    args: Sequence[str], *, cwd: str | os.PathLike[str] | None = None
) -> str:
    """Run ``snarkjs *args``; return its combined output without ANSI colours.

    Raises:
        SnarkjsUnavailable: as :func:`snarkjs_argv`, or the binary vanished.
        CeremonyError: non-zero exit status, or a timeout (600 s).
    """
    argv = [*snarkjs_argv(), *args]
    try:
        done = subprocess.run(
            argv,
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=_TIMEOUT_SECONDS,
            check=False,
        )
    except FileNotFoundError as exc:
        raise SnarkjsUnavailable(f"cannot run {argv[0]}: {exc}") from exc
    except subprocess.TimeoutExpired as exc:
        raise CeremonyError(
            f"snarkjs {args[0]} timed out after {exc.timeout} s"
        ) from exc
    output = _ANSI.sub("", done.stdout + done.stderr)
    if done.returncode != 0 and "npx canceled due to missing packages" in output:
        raise SnarkjsUnavailable(
            "snarkjs is not installed for npx: `npm install snarkjs` or set "
            "SNARKJS=/path/to/node_modules/.bin/snarkjs"
        )
    if done.returncode != 0 or "[ERROR]" in output:
        tail = "\n".join(output.strip().splitlines()[-5:])
        raise CeremonyError(
            f"snarkjs {' '.join(args[:2])} exited with status {done.returncode}: {tail}"
        )
    return output


def snarkjs_version() -> str:
    """Return the snarkjs version line (e.g. ``snarkjs@0.7.6``), or ``"unknown"``."""
    try:
        done = subprocess.run(
            [*snarkjs_argv(), "--help"], capture_output=True, text=True, timeout=60
        )
    except (OSError, subprocess.TimeoutExpired, SnarkjsUnavailable):
        return "unknown"
    match = re.search(r"^snarkjs@[0-9]\S*", done.stdout + done.stderr, re.MULTILINE)
    return match.group(0) if match else "unknown"


def parse_hash_after(text: str, label: str, *, start: int = 0) -> str | None:
    """Return the 128-hex BLAKE2b hash printed after ``label``, or ``None``.

    snarkjs (``misc.formatHash``) prints the label, then four lines of four
    8-hex groups; they are joined without spaces.
    """
    lines = text[start:].splitlines()
    for index, line in enumerate(lines):
        if label in line:
            groups = []
            for follow in lines[index + 1 : index + 5]:
                match = _HEX_GROUP_LINE.match(follow)
                if not match:
                    break
                groups.append("".join(match.group(1).split()))
            if len(groups) == 4:
                return "".join(groups)
    return None


@dataclass(frozen=True)
class ZkeyVerification:
    """The verdict of ``snarkjs zkey verify`` and the contributions it lists.

    ``contributions`` are ``{"index", "name", "contribution_hash"}`` (plus
    ``beacon`` and ``beacon_iterations_exp`` for a beacon), oldest first;
    ``circuit_hash`` is snarkjs' own BLAKE2b circuit hash (128 hex).
    """

    ok: bool
    circuit_hash: str | None
    contributions: list[dict[str, Any]] = field(default_factory=list)
    output: str = ""


def parse_zkey_verify(output: str) -> ZkeyVerification:
    """Parse ``snarkjs zkey verify`` output (snarkjs 0.7.x layout)."""
    contributions = []
    pattern = re.compile(r"contribution #(\d+) (.*):\s*$", re.MULTILINE)
    for match, block in _contribution_blocks(pattern, output):
        entry: dict[str, Any] = {
            "index": int(match.group(1)),
            "name": match.group(2).strip(),
            "contribution_hash": parse_hash_after(block, match.group(0).strip()),
        }
        contributions.append(_with_beacon(entry, block))
    contributions.sort(key=lambda item: item["index"])
    return ZkeyVerification(
        ok="ZKey Ok!" in output,
        circuit_hash=parse_hash_after(output, "Circuit hash:")
        or parse_hash_after(output, "Circuit Hash:"),
        contributions=contributions,
        output=output,
    )


def parse_ptau_verify(output: str) -> list[dict[str, Any]]:
    """Parse ``snarkjs powersoftau verify``: one entry per contribution.

    Each is ``{"index", "name", "contribution_hash", "next_challenge_hash"}``
    (plus ``beacon``/``beacon_iterations_exp``); ``contribution_hash`` is the
    contribution's response hash, which ``powersoftau contribute`` prints as
    "Contribution Response Hash imported".
    """
    entries = []
    pattern = re.compile(r"Contribution #(\d+): (.*)$", re.MULTILINE)
    for match, block in _contribution_blocks(pattern, output):
        entry: dict[str, Any] = {
            "index": int(match.group(1)),
            "name": match.group(2).strip(),
            "contribution_hash": parse_hash_after(block, "Response Hash:"),
            "next_challenge_hash": parse_hash_after(block, "Next Challenge:"),
        }
        entries.append(_with_beacon(entry, block))
    entries.sort(key=lambda item: item["index"])
    return entries


def _contribution_blocks(
    pattern: re.Pattern[str], output: str
) -> list[tuple[re.Match[str], str]]:
    """Split snarkjs verify output into ``(heading match, block)`` pairs: each
    block runs from a contribution heading to the next one (or the end)."""
    matches = list(pattern.finditer(output))
    ends = [m.start() for m in matches[1:]] + [len(output)]
    return [(m, output[m.start() : end]) for m, end in zip(matches, ends, strict=True)]


def _with_beacon(entry: dict[str, Any], block: str) -> dict[str, Any]:
    """Add ``beacon`` (lowercase hex) and ``beacon_iterations_exp`` to
    ``entry`` when ``block`` is a beacon contribution; return ``entry``."""
    beacon = re.search(r"Beacon generator: ([0-9a-fA-F]+)", block)
    if beacon:
        entry["beacon"] = beacon.group(1).lower()
        iterations = re.search(r"Beacon iterations Exp: (\d+)", block)
        entry["beacon_iterations_exp"] = (
            int(iterations.group(1)) if iterations else None
        )
    return entry


def zkey_contribute(
    in_zkey: str | os.PathLike[str],
    out_zkey: str | os.PathLike[str],
    *,
    name: str,
    entropy_hex: str | None = None,
) -> str:
    """Add one Phase-2 contribution; return its contribution hash (128 hex).

    ``entropy_hex`` defaults to 32 bytes from ``os.urandom`` (never stored);
    snarkjs mixes it with its own randomness.

    Raises:
        SnarkjsUnavailable, CeremonyError: as :func:`run_snarkjs`, or no hash
            in the output.
    """
    entropy = entropy_hex or os.urandom(32).hex()
    output = run_snarkjs(
        [
            "zkey",
            "contribute",
            str(in_zkey),
            str(out_zkey),
            f"--name={name}",
            f"-e={entropy}",
        ]
    )
    found = parse_hash_after(output, "Contribution Hash:")
    if found is None:
        raise CeremonyError(f"snarkjs printed no contribution hash: {output[-400:]}")
    return found


def zkey_beacon(
    in_zkey: str | os.PathLike[str],
    out_zkey: str | os.PathLike[str],
    *,
    beacon_hex: str,
    iterations_exp: int = 10,
    name: str = "final beacon",
) -> str:
    """Apply the public random beacon (last Phase-2 step); return its hash.

    ``beacon_hex`` is the public value as hex; ``iterations_exp`` the
    exponent of the number of SHA-256 iterations (snarkjs: 10..63).

    Raises:
        CeremonyError: bad beacon (not even-length hex) or a snarkjs failure.
        SnarkjsUnavailable: as :func:`run_snarkjs`.
    """
    if not re.fullmatch(r"(?:[0-9a-fA-F]{2})+", beacon_hex):
        raise CeremonyError(f"beacon {beacon_hex!r} is not an even-length hex string")
    output = run_snarkjs(
        [
            "zkey",
            "beacon",
            str(in_zkey),
            str(out_zkey),
            beacon_hex,
            str(iterations_exp),
            f"--name={name}",
        ]
    )
    found = parse_hash_after(output, "Contribution Hash:")
    if found is None:
        raise CeremonyError(f"snarkjs printed no beacon hash: {output[-400:]}")
    return found


def zkey_verify(
    r1cs: str | os.PathLike[str],
    ptau: str | os.PathLike[str],
    zkey: str | os.PathLike[str],
) -> ZkeyVerification:
    """Run ``snarkjs zkey verify`` and return its parsed verdict.

    Raises:
        SnarkjsUnavailable: as :func:`run_snarkjs`.
        CeremonyError: the zkey does not verify (snarkjs exits non-zero).
    """
    return parse_zkey_verify(
        run_snarkjs(["zkey", "verify", str(r1cs), str(ptau), str(zkey)])
    )


def export_verification_key(
    zkey: str | os.PathLike[str], out_json: str | os.PathLike[str]
) -> None:
    """Write the zkey's verification key as snarkjs JSON to ``out_json``.

    Raises:
        SnarkjsUnavailable, CeremonyError: as :func:`run_snarkjs`.
    """
    run_snarkjs(["zkey", "export", "verificationkey", str(zkey), str(out_json)])
