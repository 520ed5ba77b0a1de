"""The kernel: what every meterproof app needs, at the bottom of the layers.

Layers, bottom to top (``tests/test_layers.py`` enforces them): ``kernel`` <
``transparency`` < ``circuits``, ``revocation`` < ``billing`` < ``config``.
The kernel imports no app. ``kernel.protocol`` is Django-free (canonical
JSON, Ed25519, the error root, strict JSON, RFC 3339 time, trusted keys);
``kernel.keyring`` loads the server's keys from settings; ``kernel.errors``
holds the kernel's service errors.
"""
