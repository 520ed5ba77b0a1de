"""Helpers shared by the apps' Django admins: error messages, JSON and time
columns, the mixin that turns a service error into a form message, and the
view-only admin of rows that only services write.

Every app's ``admin.py`` may import these (they sit in the kernel, the lowest
layer); none of them touches a model.
"""

from __future__ import annotations

import json
from datetime import UTC
from typing import Any

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db import IntegrityError
from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.utils.html import format_html
from django.utils.safestring import SafeString

from kernel.protocol.errors import MeterproofError

__all__ = [
    "ReadOnlyAdmin",
    "ReadOnlyPermissions",
    "ServiceErrorsMixin",
    "describe_error",
    "pretty_json",
    "utc",
]

# Wraps long JSON and hashes instead of letting them run off the page.
_PRE_STYLE = (
    "white-space: pre-wrap; word-break: break-all; max-width: 60rem; "
    "margin: 0; padding: 8px; font-size: 12px; background: var(--darkened-bg);"
)


def describe_error(exc: Exception) -> str:
    """Return ``"<message> [<code>]"`` for a service error.

    ``MeterproofError`` carries ``code`` and ``message``; a Django
    ``ValidationError`` gives its messages and the first error's code.
    """
    if isinstance(exc, MeterproofError):
        return f"{exc.message} [{exc.code}]"
    if isinstance(exc, ValidationError):
        errors = (
            [e for errs in exc.error_dict.values() for e in errs]
            if hasattr(exc, "error_dict")
            else exc.error_list
        )
        code = next((e.code for e in errors if e.code), "invalid")
        return f"{'; '.join(exc.messages)} [{code}]"
    return f"{exc} [{type(exc).__name__}]"


def pretty_json(value: Any) -> SafeString:
    """Return ``value`` (a JSON text or object) indented in a wrapping ``<pre>``."""
    if isinstance(value, str):
        try:
            value = json.loads(value)
        except ValueError:
            return format_html('<pre style="{}">{}</pre>', _PRE_STYLE, value)
    text = json.dumps(value, indent=2, ensure_ascii=False, sort_keys=False)
    return format_html('<pre style="{}">{}</pre>', _PRE_STYLE, text)


def utc(value: Any) -> str:
    """Return an aware datetime as compact UTC to the minute, for list
    columns: ``2026-11-21 17:02Z`` (the row's page has the full time)."""
    if value is None:
        return "-"
    return value.astimezone(UTC).strftime("%Y-%m-%d %H:%MZ")


class ServiceErrorsMixin:
    """Turn a service error escaping ``save_model`` into a message.

    Forms validate first (so the usual mistakes are form errors); this catches
    what only the service can see (a concurrent publish, a constraint), rolls
    the request's transaction back and redirects to the same form.
    """

    def changeform_view(
        self,
        request: HttpRequest,
        object_id: str | None = None,
        form_url: str = "",
        extra_context: dict[str, Any] | None = None,
    ) -> HttpResponse:
        """Run the admin form view; a service error becomes an error message."""
        try:
            return super().changeform_view(  # type: ignore[misc]
                request, object_id, form_url, extra_context
            )
        except (MeterproofError, ValidationError, IntegrityError) as exc:
            messages.error(request, f"Not saved: {describe_error(exc)}")
            return HttpResponseRedirect(request.get_full_path())


class ReadOnlyPermissions:
    """No add, change or delete permission: for a ``ModelAdmin`` or an inline
    whose rows are written only by services (or by no one)."""

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No adding from the admin."""
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No changes from the admin."""
        return False

    def has_delete_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        """No deleting from the admin."""
        return False


class ReadOnlyAdmin(ReadOnlyPermissions, admin.ModelAdmin):
    """A view-only admin for rows written only by services (the append-only
    log in transparency; meter events, bundles and reservations in billing;
    signed snapshots and fetches in revocation; API keys, revoked by an
    action) or for a page that shows no rows (the circuits artifact status).
    Actions that call services still run, under their own permissions."""
