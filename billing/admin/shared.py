"""What the billing admin pages share: links to a row's page, the read-only
inline, and the strict JSON form field the tariff forms use.

Helpers every app's admin uses (error messages, JSON and time columns, the
service-error mixin, :class:`~kernel.admin_helpers.ReadOnlyAdmin`) live in
:mod:`kernel.admin_helpers`; these are billing's own.
"""

from __future__ import annotations

import json
from typing import Any

from django import forms
from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html

from kernel.admin_helpers import ReadOnlyPermissions
from kernel.protocol.errors import JsonInputError
from kernel.protocol.strictjson import loads as strict_loads

__all__ = [
    "PrettyJSONField",
    "ReadOnlyInline",
    "StrictJSONDecoder",
    "admin_link",
    "form_field_for",
]


def admin_link(obj: Any, text: str | None = None) -> str:
    """Return an HTML link to ``obj``'s admin change page (``"-"`` if None)."""
    if obj is None:
        return "-"
    meta = obj._meta
    url = reverse(f"admin:{meta.app_label}_{meta.model_name}_change", args=[obj.pk])
    return format_html('<a href="{}">{}</a>', url, text if text is not None else obj)


class ReadOnlyInline(ReadOnlyPermissions, admin.TabularInline):
    """A read-only tabular inline with links to each row."""

    extra = 0
    can_delete = False
    show_change_link = True


def form_field_for(form: forms.BaseForm, field: str | None) -> str | None:
    """Return the form field an error's dotted ``field`` belongs to, else None."""
    if not field:
        return None
    head = field.split(".", 1)[0].split("[", 1)[0]
    return head if head in form.fields else None


class StrictJSONDecoder(json.JSONDecoder):
    """``json.JSONDecoder`` that reads with the protocol's strict I-JSON reader
    (duplicate member names, nesting over 64 levels, lone surrogates and
    ``NaN`` are refused), for Django's ``forms.JSONField(decoder=...)``."""

    def decode(self, s: str, _w: Any = None) -> Any:
        """Return the parsed value.

        Raises:
            json.JSONDecodeError: the reader refused ``s`` (the message names
                its code, e.g. ``duplicate_member``, and the member's path).
        """
        try:
            return strict_loads(s)
        except JsonInputError as exc:
            where = f" at {exc.field}" if exc.field else ""
            raise json.JSONDecodeError(
                f"{exc.code}{where}: {exc.message}", s, 0
            ) from None


class PrettyJSONField(forms.JSONField):
    """A JSON form field whose textarea shows the value indented and whose
    input is read strictly (:class:`StrictJSONDecoder`)."""

    def __init__(self, **kwargs: Any) -> None:
        """Use :class:`StrictJSONDecoder` unless another decoder is given."""
        kwargs.setdefault("decoder", StrictJSONDecoder)
        super().__init__(**kwargs)

    def prepare_value(self, value: Any) -> Any:
        """Indent valid JSON; leave what the user typed alone if it is not."""
        if isinstance(value, forms.fields.InvalidJSONInput):
            return value
        return json.dumps(value, indent=2, ensure_ascii=False)
