"""Template tags of the transparency app: the monitor's admin banner."""

from __future__ import annotations

from typing import Any

from django import template
from django.urls import reverse

from transparency.selectors_witness import monitor_alert_open_list

register = template.Library()


@register.inclusion_tag("transparency/monitor_banner.html", takes_context=True)
def monitor_alert_banner(context: Any) -> dict[str, Any]:
    """Render a banner listing unacknowledged monitor alerts, for staff only.

    Used by ``templates/admin/base_site.html`` so it shows on every admin
    page; renders nothing for anonymous users or when no alert is open.
    """
    request = context.get("request")
    user = getattr(request, "user", None)
    if user is None or not getattr(user, "is_staff", False):
        return {"alerts": []}
    alerts = monitor_alert_open_list(limit=5)
    return {
        "alerts": alerts,
        "changelist_url": reverse("admin:transparency_monitoralert_changelist")
        + "?acknowledged_at__isnull=True",
    }
