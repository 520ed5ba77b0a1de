"""``manage.py tenant_create SLUG [--name N] [--subscribe TARIFF_ID ...]
[--starts-at RFC3339]``: create a tenant and subscribe it, idempotently."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db import transaction

from billing.models import Subscription, Tariff, Tenant
from billing.protocol.events import is_identifier
from billing.selectors import subscription_list
from billing.services.subscriptions import subscription_create
from billing.services.tenants import tenant_create
from kernel.protocol.errors import MeterproofError
from kernel.protocol.timefmt import format_rfc3339_utc, parse_rfc3339_utc

#: Default ``--starts-at``: before every event the protocol accepts, so the
#: tariff's published versions alone bound what is priced (as the
#: ``0009_subscription_from_tenant_tariff`` backfill does).
DEFAULT_STARTS_AT = datetime(1970, 1, 1, tzinfo=UTC)
#: The audit trail's actor for what this command does.
ACTOR = "system:tenant_create"


def _subscription_json(subscription: Subscription) -> dict[str, Any]:
    """Return ``{"tariff_id", "metric", "starts_at", "ends_at"}`` (RFC 3339
    UTC; ``ends_at`` null when open-ended)."""
    return {
        "tariff_id": subscription.tariff.tariff_id,
        "metric": subscription.tariff.metric,
        "starts_at": format_rfc3339_utc(subscription.starts_at),
        "ends_at": (
            None
            if subscription.ends_at is None
            else format_rfc3339_utc(subscription.ends_at)
        ),
    }


class Command(BaseCommand):
    """Create a tenant (or keep the existing one as is) and subscribe it to
    tariffs; print the tenant's subscriptions as JSON.

    Idempotent: an existing tenant is left unchanged, and a tariff it is
    already subscribed to (a subscription to it still running at or after
    ``--starts-at``) is not subscribed again. All or nothing: on any error
    nothing is created.
    """

    help = (
        "Create a tenant and subscribe it to tariffs (idempotent); prints "
        '{"tenant", "created", "subscriptions": [...]} as JSON.'
    )

    def add_arguments(self, parser: CommandParser) -> None:
        """SLUG, --name, --subscribe TARIFF_ID ..., --starts-at."""
        parser.add_argument("slug", help="the events' tenant: [A-Za-z0-9._:-], 1-128")
        parser.add_argument("--name", default="", help="display name (new tenant)")
        parser.add_argument(
            "--subscribe",
            nargs="+",
            default=[],
            metavar="TARIFF_ID",
            help="subscribe to these tariffs (one per metric)",
        )
        parser.add_argument(
            "--starts-at",
            default=None,
            metavar="RFC3339",
            help="start of new subscriptions, YYYY-MM-DDTHH:MM:SSZ "
            "(default 1970-01-01T00:00:00Z: whenever the tariff has a "
            "published version in force)",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        """Create, subscribe, print JSON.

        Raises:
            CommandError: a bad slug or ``--starts-at``, an unknown tariff, or
                a subscription overlapping another of the same metric.
        """
        slug: str = options["slug"]
        if not is_identifier(slug):
            raise CommandError(
                f"bad slug {slug!r}: expected 1-128 characters of [A-Za-z0-9._:-] "
                "starting with a letter or digit (the meter events' tenant)"
            )
        starts_at = DEFAULT_STARTS_AT
        if options["starts_at"] is not None:
            try:
                starts_at = parse_rfc3339_utc(options["starts_at"])
            except ValueError as exc:
                raise CommandError(f"bad --starts-at: {exc}") from exc
        tariffs = self._tariffs(options["subscribe"])
        try:
            with transaction.atomic():
                tenant = Tenant.objects.filter(slug=slug).first()
                created = tenant is None
                if tenant is None:
                    tenant = tenant_create(slug=slug, name=options["name"], actor=ACTOR)
                for tariff in tariffs:
                    already = (
                        Subscription.objects.filter(tenant=tenant, tariff=tariff)
                        .exclude(ends_at__lte=starts_at)
                        .exists()
                    )
                    if not already:
                        subscription_create(
                            tenant=tenant,
                            tariff=tariff,
                            starts_at=starts_at,
                            actor=ACTOR,
                        )
        except MeterproofError as exc:
            raise CommandError(f"{exc.message} [{exc.code}]") from exc
        except ValidationError as exc:
            raise CommandError("; ".join(exc.messages)) from exc
        report = {
            "tenant": tenant.slug,
            "created": created,
            "subscriptions": [
                _subscription_json(s) for s in subscription_list(tenant=tenant)
            ],
        }
        self.stdout.write(json.dumps(report, indent=2))

    @staticmethod
    def _tariffs(tariff_ids: list[str]) -> list[Tariff]:
        """Return the tariffs named (each once, in order).

        Raises:
            CommandError: a tariff id that does not exist.
        """
        wanted = list(dict.fromkeys(tariff_ids))
        found = {t.tariff_id: t for t in Tariff.objects.filter(tariff_id__in=wanted)}
        missing = [t for t in wanted if t not in found]
        if missing:
            raise CommandError(
                f"unknown tariff {missing[0]!r}: create or import it first "
                "(see the tariff list in the admin)"
            )
        return [found[t] for t in wanted]
