"""Writes of the revocation app, one module per purpose.

- :mod:`revocation.services.revocations`: revoke and lift key IDs and
  attestations (each change publishes a new snapshot);
- :mod:`revocation.services.snapshots`: sign and publish snapshots with the
  server's issuer key, and re-sign them before they go stale;
- :mod:`revocation.services.fetch`: poll another issuer's feed
  (``VDI_BILLING_REVOCATION_URL``).

Import from the submodules; this package re-exports nothing.
"""
