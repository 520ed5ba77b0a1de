"""The staff audit trail: append-only, hash-chained records of every staff
action (tariffs, keys, revocations, subscriptions; statements, disputes and
credit notes as they land), readable by auditors and verifiable offline.

Layer 1, directly above ``kernel``: every app that has staff actions may call
:func:`audittrail.services.audit_record`. The record hash and the verifier live in
the Django-free :mod:`audittrail.protocol`.
"""
