"""``manage.py tenant_api_key SLUG``: issue an API key (printed once)."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from billing.models import Tenant
from billing.services.tenants import api_key_issue, tenant_create

#: The audit trail's actor for what this command does.
ACTOR = "system:tenant_api_key"


class Command(BaseCommand):
    """Issue a tenant API key; the secret is printed once and stored only hashed."""

    help = "Issue an API key for a tenant (creates the tenant with --create)."

    def add_arguments(self, parser: CommandParser) -> None:
        """SLUG, --name, --create."""
        parser.add_argument("slug")
        parser.add_argument("--name", default="")
        parser.add_argument(
            "--create", action="store_true", help="create the tenant if missing"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Print the new key."""
        tenant = Tenant.objects.filter(slug=options["slug"]).first()
        if tenant is None:
            if not options["create"]:
                raise CommandError(f"no tenant {options['slug']!r} (use --create)")
            tenant = tenant_create(slug=options["slug"], actor=ACTOR)
        issued = api_key_issue(tenant=tenant, name=options["name"], actor=ACTOR)
        self.stdout.write(issued.secret)
        self.stderr.write(
            "Store this key now: it is shown once and kept only as a hash."
        )
