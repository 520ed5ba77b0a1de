"""The circuits app's settings (``circuits_settings``).

Read at call time through :class:`kernel.settings.Setting`; the defaults live
in ``config/settings.py`` only (the rule is in :mod:`kernel.settings`). The
artifact directory and the manifest authority keys are the kernel's
(``circuit_artifacts_dir``, ``manifest_authority_public_jwk``,
``manifest_authority_signing_key``: the keyring reads them). Used by
``circuits`` and the apps above it.
"""

from __future__ import annotations

from pathlib import Path

from kernel.settings import AppSettings, Setting, text

__all__ = ["CircuitsSettings", "circuits_settings"]


class CircuitsSettings(AppSettings):
    """The prover's settings and the in-circuit binding switch.

    Attributes (Django setting, environment variable ``MP_...``):
        prover_cache_dir: ``VDI_GROTH16_PROVER_CACHE_DIR``: the groth16py
            proving-key cache (imported zkey and compiled circuit, keyed by
            artifact hashes); default ``VAR_DIR / "groth16"``, set in
            ``config/settings.py``.
        prover_threads: ``VDI_GROTH16_PROVER_THREADS``: threads of the
            process-wide proving pool (default: the CPU count).
        incircuit_binding: ``VDI_BILLING_INCIRCUIT_BINDING``: attest with a
            Groth16 billing proof.
        proof_mode: ``VDI_BILLING_PROOF_MODE``: ``"sync"``, ``"parallel"`` or
            ``"async"`` (any other value refuses to attest with proofs).
    """

    prover_cache_dir = Setting("VDI_GROTH16_PROVER_CACHE_DIR", Path)
    prover_threads = Setting("VDI_GROTH16_PROVER_THREADS", int)
    incircuit_binding = Setting("VDI_BILLING_INCIRCUIT_BINDING", bool)
    proof_mode = Setting("VDI_BILLING_PROOF_MODE", text)


#: The circuits app's settings.
circuits_settings = CircuitsSettings()
