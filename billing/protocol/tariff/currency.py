"""ISO 4217 currencies: validation, minor-unit exponents and display
(Django-free).

Amounts are integers in the currency's minor unit (``amount_minor``);
:func:`format_amount` shows them in major units with integer arithmetic only.
"""

from __future__ import annotations

import re
from typing import Any, Final

from kernel.protocol.shape import require_integer

from ..errors import TariffError

__all__ = ["currency_exponent", "format_amount", "require_currency"]

_CURRENCY_RE: Final = re.compile(r"[A-Z]{3}")

# ISO 4217 "List One" (current currency & funds code list, SIX, maintenance
# agency of ISO 4217), column "Minor unit": every code not listed here has 2.
# Funds and metals whose minor unit is "N.A." (XAU, XDR, ...) also default to 2.
_MINOR_UNIT_EXPONENTS: Final[dict[str, int]] = {
    # zero-decimal
    "BIF": 0,
    "CLP": 0,
    "DJF": 0,
    "GNF": 0,
    "ISK": 0,
    "JPY": 0,
    "KMF": 0,
    "KRW": 0,
    "PYG": 0,
    "RWF": 0,
    "UGX": 0,
    "UYI": 0,
    "VND": 0,
    "VUV": 0,
    "XAF": 0,
    "XOF": 0,
    "XPF": 0,
    # three-decimal
    "BHD": 3,
    "IQD": 3,
    "JOD": 3,
    "KWD": 3,
    "LYD": 3,
    "OMR": 3,
    "TND": 3,
    # four-decimal (units of account)
    "CLF": 4,
    "UYW": 4,
}


def _currency_error(found: Any) -> TariffError:
    return TariffError(
        "currency must be an ISO 4217 code of three uppercase letters, "
        f"found {found!r}",
        field="currency",
    )


def require_currency(value: Any) -> str:
    """Return ``value`` if it is an ISO 4217 alphabetic code (three uppercase
    letters).

    Raises:
        TariffError: (``tariff_invalid``, field ``currency``) otherwise.
    """
    if not isinstance(value, str) or not _CURRENCY_RE.fullmatch(value):
        raise _currency_error(value)
    return value


def currency_exponent(currency: str) -> int:
    """Return the ISO 4217 minor-unit exponent of ``currency`` (0, 2, 3 or 4).

    Spec: ISO 4217 "List One", column "Minor unit". Zero-decimal: BIF, CLP,
    DJF, GNF, ISK, JPY, KMF, KRW, PYG, RWF, UGX, UYI, VND, VUV, XAF, XOF, XPF;
    three-decimal: BHD, IQD, JOD, KWD, LYD, OMR, TND; four-decimal: CLF, UYW;
    every other code: 2. (Stripe's own list differs for a few codes, e.g. it
    bills ISK and UGX with two decimals; this module follows ISO 4217.)

    Raises:
        TariffError: (``tariff_invalid``, field ``currency``) if ``currency``
            is not three uppercase letters.
    """
    if not isinstance(currency, str) or not _CURRENCY_RE.fullmatch(currency):
        raise _currency_error(currency)
    return _MINOR_UNIT_EXPONENTS.get(currency, 2)


def format_amount(amount_minor: int, currency: str) -> str:
    """Return ``amount_minor`` in major units with its code, e.g. "41.50 USD".

    Uses :func:`currency_exponent` (ISO 4217 minor units): ``4150, "USD"`` ->
    ``"41.50 USD"``, ``500, "JPY"`` -> ``"500 JPY"``, ``1234, "KWD"`` ->
    ``"1.234 KWD"``. Negative amounts get a leading ``-``. Integer arithmetic
    only; no locale, no grouping.

    Raises:
        TariffError: (``tariff_invalid``) if ``amount_minor`` is not an
            integer or ``currency`` is malformed.
    """
    require_integer(
        amount_minor,
        error=TariffError,
        field="amount_minor",
        minimum=None,
        message="amount_minor must be an integer, found {kind} {value!r}",
    )
    exponent = currency_exponent(currency)
    sign = "-" if amount_minor < 0 else ""
    major, minor = divmod(abs(amount_minor), 10**exponent)
    if exponent == 0:
        return f"{sign}{major} {currency}"
    return f"{sign}{major}.{minor:0{exponent}d} {currency}"
