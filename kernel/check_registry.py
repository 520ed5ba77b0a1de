"""How every app registers its Django system checks, one way.

Each app's ``checks.py`` defines its check functions, a tuple ``CHECKS`` of
them and a table ``CHECK_IDS`` (``{"<app>.<E|W><nnn>": "what it means"}``);
it registers nothing on import. The app's ``AppConfig.ready()`` calls
:func:`checks_register` with ``CHECKS``, so every check carries the
:data:`CHECK_TAG` tag (``manage.py check --tag meterproof`` runs only ours).

Check ids follow Django's ``contrib/admin/checks.py``: namespaced by app
(``billing.E001``), ``E`` for an Error, ``W`` for a Warning, stable once
released, one meaning each, and every message has a hint.
``tests/test_check_ids.py`` holds the code to this.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from typing import Any

from django.core import checks

__all__ = ["CHECK_ID_PATTERN", "CHECK_TAG", "checks_register"]

#: The tag every meterproof system check is registered with.
CHECK_TAG = "meterproof"

#: The shape of a check id: ``<app label>.<E|W><three digits>``.
CHECK_ID_PATTERN = re.compile(r"^[a-z_]+\.[EW][0-9]{3}$")


def checks_register(functions: Iterable[Callable[..., list[Any]]]) -> None:
    """Register each check function with Django under :data:`CHECK_TAG`.

    Call it from ``AppConfig.ready()`` with the app's ``checks.CHECKS``.
    Registering a function twice is harmless (Django's registry is a set).
    """
    for function in functions:
        checks.register(function, CHECK_TAG)
