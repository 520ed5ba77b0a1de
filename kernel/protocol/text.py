"""Text that every layer can store and print: refusing strings a database
cannot hold, and showing hostile input safely in error messages.

JSON (RFC 8259 §7) lets ``\\u0000`` and unpaired surrogate escapes such as
``\\ud800`` through, and Python's ``json`` decodes them into ``str``. Neither
survives the trip further: PostgreSQL ``text`` cannot hold U+0000, and a lone
surrogate is not a Unicode scalar value, so it cannot be encoded as UTF-8
(RFC 3629 §3) for the database, a signature or an HTTP body. This module sits
in the kernel, the lowest layer (next to :mod:`kernel.protocol.errors`), so
that every package can use it.
"""

from __future__ import annotations

import re

#: Characters no stored or signed string may contain: NUL (PostgreSQL text)
#: and the surrogate block U+D800-U+DFFF (not encodable as UTF-8).
_UNSTORABLE = re.compile("[\x00\ud800-\udfff]")
#: Characters :func:`safe_text` escapes: C0 controls other than tab, line feed
#: and carriage return; DEL; surrogates.
_UNPRINTABLE = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\x7f\ud800-\udfff]")


def unstorable_char(text: str) -> str | None:
    """Return a description of the first character of ``text`` that cannot be
    stored (``"U+0000 at index 3"``), or ``None`` if ``text`` is storable.

    Unstorable: U+0000 (PostgreSQL ``text`` refuses it) and the surrogates
    U+D800-U+DFFF (no UTF-8 encoding, RFC 3629 §3).
    """
    match = _UNSTORABLE.search(text)
    if match is None:
        return None
    return f"U+{ord(match.group()):04X} at index {match.start()}"


def safe_text(text: str, limit: int = 200) -> str:
    """Return ``text`` with control characters (except tab, LF, CR) and
    surrogates written as ``\\xNN`` / ``\\uXXXX`` escapes, cut to about
    ``limit`` characters (``...`` marks the cut).

    The result always encodes as UTF-8 and can be stored anywhere, so error
    messages and fields may quote hostile input through it.
    """
    cut = text if len(text) <= limit else text[:limit] + "..."
    return _UNPRINTABLE.sub(_escape, cut)


def _escape(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"
