"""Django admin for billing staff, one module per domain.

- :mod:`billing.admin.tenants`: tenants (create, edit, issue API keys);
- :mod:`billing.admin.keys`: API keys (revoke) and gateway meter keys
  (register, retire, revoke);
- :mod:`billing.admin.tariffs`: tariffs and their draft and published versions;
- :mod:`billing.admin.events`: attested data, read-only (meter events, replay
  reservations, bundles);
- :mod:`billing.admin.disputes`: the disputes queue and the staff steps
  (start review, decide won or lost, each confirmed; verify the bundle now);
- :mod:`billing.admin.credit_notes`: credit notes, read-only, and the bundle
  action that issues one;


- :mod:`billing.admin.statements`: issued statements, read-only, with the
  printable page; the tenant action that closes the previous month;
- :mod:`billing.admin.shared`: links, the read-only inline, the strict JSON
  form field.

Every state change goes through a service (CONVENTIONS.md §1): the add forms,
the edit forms and the actions call ``billing.services`` (and, to revoke a
meter key, ``revocation.services``); published tariff versions and everything
attested are read-only. A service error (:class:`MeterproofError` or Django
``ValidationError``) becomes a form error or an error message, never a 500.

Importing this package registers every ``ModelAdmin`` (Django's admin
autodiscovery imports ``billing.admin``).
"""

from __future__ import annotations

from django.contrib import admin

from billing.admin import (
    credit_notes,
    disputes,
    events,
    keys,
    statements,
    tariffs,
    tenants,
)

__all__ = [
    "credit_notes",
    "disputes",
    "events",
    "keys",
    "statements",
    "tariffs",
    "tenants",
]

admin.site.site_header = "meterproof administration"
admin.site.site_title = "meterproof admin"
admin.site.index_title = "Billing and transparency log"
# Lists here are wide (ids, hashes): give them the sidebar's width.
admin.site.enable_nav_sidebar = False
