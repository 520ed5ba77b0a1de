"""Django-free audit-trail protocol: the record hash and the chain verifier.

:mod:`.chain` defines a staff audit record's JSON form, its ``record_hash``
(SHA-256 of the RFC 8785 canonical JSON of the record without that member),
the genesis ``prev_hash`` and :func:`~.chain.verify_audit_chain`, the one
verifier used by ``manage.py audit_verify`` and the offline
``meterproof verify-audit`` (docs/PROTOCOL.md §14). :mod:`.errors` holds its
error classes. Imports neither Django nor any app above the kernel.
"""
