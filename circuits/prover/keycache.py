"""The proving-key cache: import the ceremony's zkey once, load it after.

``groth16py.import_zkey(zkey, source, link_libraries)`` imports the
ceremony's ``apiBillingV2_final.zkey`` and compiles the circom source in
process (circom compiler crates), so the key carries the circuit's witness
calculator. That costs a few seconds, so the result is saved with
``ProvingKey.save`` under the cache directory, keyed by the SHA-256 of the
zkey and of the source and by the ``groth16py`` version, and later processes
``ProvingKey.load`` it (tens of ms). Writes are atomic (a temp file, then
``os.replace``), so processes may share one cache directory.
"""

from __future__ import annotations

import logging
import os
import tempfile
from pathlib import Path

import groth16py

from circuits.protocol.errors import ZkeyMismatchError
from circuits.prover.inputs import PASS_THROUGH

__all__ = ["link_libraries", "proving_key_cache_path", "proving_key_load"]

logger = logging.getLogger("meterproof.circuits.prover")


def link_libraries(cache_dir: Path) -> list[str]:
    """Return include dirs for the circom source: groth16py's vendored
    circomlib 2.0.5 ``circuits/`` (for ``include "poseidon.circom"``) and a
    directory where ``circomlib/circuits/...`` resolves to it too."""
    vendored = Path(groth16py.circomlib_path(2))
    alias_root = cache_dir / "include"
    alias = alias_root / "circomlib"
    try:
        alias_root.mkdir(parents=True, exist_ok=True)
        if not alias.exists():
            alias.symlink_to(vendored.parent, target_is_directory=True)
    except OSError:  # read-only cache: the plain include still works
        return [str(vendored)]
    return [str(vendored), str(alias_root)]


def proving_key_cache_path(
    cache_dir: Path, *, zkey_sha256: str, source_sha256: str
) -> Path:
    """Return the cache file of the key imported from this zkey and source
    (lowercase-hex SHA-256s) by the installed ``groth16py`` version."""
    name = (
        f"apiBillingV2-{zkey_sha256[:24]}-{source_sha256[:16]}"
        f"-groth16py{groth16py.__version__}.pk"
    )
    return cache_dir / name


def proving_key_load(
    *, zkey_path: Path, source_path: Path, cache_dir: Path, cache_path: Path
) -> groth16py.ProvingKey:
    """Return the proving key: loaded from ``cache_path`` if it is there and
    readable, else imported from ``zkey_path`` and ``source_path`` and saved
    there (a cache that cannot be written is logged, not fatal).

    Raises:
        ZkeyMismatchError: (``groth16_zkey_mismatch``) the import failed
            (``SetupError``, ``WitnessError`` or a Rust panic).
    """
    if cache_path.exists():
        try:
            return groth16py.ProvingKey.load(str(cache_path))
        except PASS_THROUGH:
            raise
        except BaseException as exc:  # a corrupt cache may panic
            logger.warning(
                "discarding unreadable proving-key cache %s: %s", cache_path, exc
            )
    cache_dir.mkdir(parents=True, exist_ok=True)
    try:
        pk, _vk = groth16py.import_zkey(
            str(zkey_path),
            str(source_path),
            link_libraries(cache_dir),
        )
    except PASS_THROUGH:
        raise
    except BaseException as exc:  # SetupError, WitnessError, PanicException
        raise ZkeyMismatchError(
            f"importing {zkey_path.name} with {source_path.name} "
            f"failed ({type(exc).__name__}): {exc}"[:600],
            field="zkey",
        ) from None
    fd, tmp = tempfile.mkstemp(dir=cache_dir, suffix=".tmp")
    os.close(fd)
    try:
        pk.save(tmp)
        os.replace(tmp, cache_path)
    except BaseException as exc:
        if isinstance(exc, PASS_THROUGH):
            raise
        logger.warning("cannot write proving-key cache %s: %s", cache_path, exc)
    finally:
        if os.path.exists(tmp):
            os.unlink(tmp)
    return pk
