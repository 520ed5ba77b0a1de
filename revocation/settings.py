"""The revocation app's settings (``revocation_settings``).

Read at call time through :class:`kernel.settings.Setting`; the defaults live
in ``config/settings.py`` only (the rule is in :mod:`kernel.settings`).
Revocation also reads the kernel's ``celery_beat``. Used by ``revocation``
and the apps above it.
"""

from __future__ import annotations

from kernel.settings import AppSettings, Setting, text

__all__ = ["RevocationSettings", "revocation_settings"]


class RevocationSettings(AppSettings):
    """Where strict verification's revocation snapshot comes from, and how
    fresh it must be.

    Attributes (Django setting, environment variable ``MP_...``):
        revocation_json: ``VDI_BILLING_REVOCATION_JSON``: an inline signed
            snapshot (JSON text; development and pilots); wins over the URL.
        revocation_url: ``VDI_BILLING_REVOCATION_URL``: a snapshot feed
            polled by Celery beat; ``""`` with no inline snapshot means this
            server's own published snapshots.
        revocation_cache_seconds: ``VDI_BILLING_REVOCATION_CACHE_SEC``: poll
            interval and the feed's ``Cache-Control: max-age`` (seconds).
        revocation_max_age_seconds: ``VDI_BILLING_REVOCATION_MAX_AGE_SEC``:
            freshness maximum of a snapshot (now - snapshotTime, seconds);
            the server re-signs its own every half of this.
    """

    revocation_json = Setting("VDI_BILLING_REVOCATION_JSON", text)
    revocation_url = Setting("VDI_BILLING_REVOCATION_URL", text)
    revocation_cache_seconds = Setting("VDI_BILLING_REVOCATION_CACHE_SEC", int)
    revocation_max_age_seconds = Setting("VDI_BILLING_REVOCATION_MAX_AGE_SEC", int)


#: The revocation app's settings.
revocation_settings = RevocationSettings()
