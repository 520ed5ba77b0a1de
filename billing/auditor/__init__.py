"""The auditor web UI (``/audit/``): server-rendered, read-only pages that
explain the log and the bundles in it.

The UI sits in billing, the app whose bundles it explains, and reads down the
layers: the log-only verdicts (checkpoints, cosignatures, the head, inclusion
and consistency proofs) come from :mod:`transparency.selectors_audit`, fed
with the trust built here from the published trust anchors; bundle verdicts
come from :func:`billing.protocol.verify.verify_bundle` (the one bundle
verifier). Nothing here writes.

Modules:
    selectors_trust: the trust the verdicts check against.
    selectors_entries: the entry browser and search (leaf, receipt, tenant).
    selectors_bundles: an entry with its bundle and every verdict.
    views, urls: the pages (namespace ``audit``), templates in
        ``templates/audit/``; ``trail/`` and ``trail.jsonl`` show and export
        the staff audit trail through :mod:`audittrail.selectors`.
"""
