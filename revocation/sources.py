"""Where the revocation snapshot in force comes from (a settings read).

One of, in precedence order: ``inline`` (``VDI_BILLING_REVOCATION_JSON``, a
pasted signed snapshot), ``url`` (``VDI_BILLING_REVOCATION_URL``, another
issuer's feed polled by ``revocation.services.fetch``) or ``local`` (the
snapshots this server publishes, ``revocation.services.snapshots``).
"""

from __future__ import annotations

from revocation.settings import revocation_settings

__all__ = ["SOURCE_INLINE", "SOURCE_LOCAL", "SOURCE_URL", "revocation_source"]

#: Sources of the snapshot in force, in precedence order.
SOURCE_INLINE = "inline"
SOURCE_URL = "url"
SOURCE_LOCAL = "local"


def revocation_source() -> str:
    """Return the configured source: ``inline`` (VDI_BILLING_REVOCATION_JSON),
    ``url`` (VDI_BILLING_REVOCATION_URL) or ``local`` (our published ones)."""
    if revocation_settings.revocation_json:
        return SOURCE_INLINE
    if revocation_settings.revocation_url:
        return SOURCE_URL
    return SOURCE_LOCAL
