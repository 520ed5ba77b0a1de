"""Log-only reads behind the auditor web UI: the verdicts of checking the log.

Every verdict here is about the log alone (signed checkpoints and their
cosignatures, the head's freshness, inclusion and consistency proofs) and is
computed by the Django-free verifiers of :mod:`transparency.protocol`
against a :class:`~transparency.selectors_audit.checks.LogTrust` passed in as
an argument (origin, log-operator keys, witness keys): this package never
decides whom to trust and never imports a higher app. What explains *bundles*
(and builds the trust from the published trust anchors) lives in
:mod:`billing.auditor`. Nothing here writes.

Modules:
    checks: the trust argument, one check result, running a named check.
    checkpoints: signature lines, checkpoint verdicts, the log head.
    entries: an entry's log verdicts, neighbours, consistency proofs.
"""
