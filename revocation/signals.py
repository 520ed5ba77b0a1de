"""Signals the revocation app sends to the apps above it.

Revocation sits below billing (tests/test_layers.py): it never imports
billing, so what billing does when an attestation is revoked (issue the
matching credit note) is a receiver billing connects in its
``AppConfig.ready()``.
"""

from __future__ import annotations

from django.dispatch import Signal

__all__ = ["attestation_revoked"]

#: Sent by ``revocation.services.revocations.revocation_attestation_add``
#: inside its transaction, after the revocation row is saved and the new
#: snapshot published, with keyword arguments ``revocation`` (the
#: ``RevokedAttestation`` row), ``actor`` (the staff user or ``None``) and
#: ``now`` (the revocation's aware datetime). Sent with ``send()``, not
#: ``send_robust()``: a receiver's error rolls the revocation back, so the
#: revocation and what receivers write commit together.
attestation_revoked = Signal()
