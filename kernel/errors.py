"""Service errors of the kernel (Django side).

They derive from the project root :class:`kernel.protocol.errors.MeterproofError`
(``code``, ``message``, ``field``); ``config/exception_handler.py`` maps each
class to an HTTP status.
"""

from __future__ import annotations

from kernel.protocol.errors import MeterproofError

__all__ = ["SigningKeysUnconfigured"]


class SigningKeysUnconfigured(MeterproofError):
    """The server has no issuer / meter / log-operator key, or one of its key
    settings is malformed (run ``manage.py billing_keys``).

    Raised by :func:`kernel.keyring.server_keys_get` and
    ``billing.keyring.get_keyring``; HTTP 503.
    """

    code = "signing_keys_unconfigured"
