"""Django-free billing protocol: the ``vdi-billing/2`` and ``/3`` bundles and their verifier.

Meter events and envelopes (:mod:`.events`), tariffs and charge computation
(:mod:`.tariff`), the bundle model and its digests (:mod:`.bundle`), trust
anchors (:mod:`.trust`), signature contexts (:mod:`.contexts`), the named
checks and profiles of :func:`verify_bundle` (:mod:`.verify`), the offline
``meterproof`` CLI (:mod:`.cli`) and the error classes (:mod:`.errors`).
Spec: docs/PROTOCOL.md. Imports neither Django nor the database; may use
``kernel.protocol``, ``transparency.protocol``, ``revocation.protocol`` and
``circuits.protocol`` (CONVENTIONS §3).
"""
