"""The transparency log's settings (``transparency_settings``).

Read at call time through :class:`kernel.settings.Setting`; the defaults live
in ``config/settings.py`` only (the rule is in :mod:`kernel.settings`). The
log also reads the kernel's ``log_origin``, ``log_witness_keys``,
``log_witness_threshold`` and ``celery_beat``
(:data:`kernel.settings.kernel_settings`). Used by ``transparency`` and the
apps above it.
"""

from __future__ import annotations

from kernel.settings import AppSettings, Setting, text

__all__ = ["TransparencySettings", "transparency_settings"]


class TransparencySettings(AppSettings):
    """The log's settings.

    Attributes (Django setting, environment variable ``MP_...``):
        log_checkpoint_interval_seconds:
            ``VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC``: re-sign the log head
            at least this often (seconds), even when the tree has not grown;
            the auditor calls a head stale after twice this.
        monitor_log_url: ``VDI_BILLING_MONITOR_LOG_URL``: the log the monitor
            checks (base URL); ``""`` means this server, in-process.
    """

    log_checkpoint_interval_seconds = Setting(
        "VDI_BILLING_LOG_CHECKPOINT_INTERVAL_SEC", int
    )
    monitor_log_url = Setting("VDI_BILLING_MONITOR_LOG_URL", text)


#: The transparency app's settings.
transparency_settings = TransparencySettings()
