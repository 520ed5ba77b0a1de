"""``manage.py audit_user --username X``: create an auditor account."""

from __future__ import annotations

from typing import Any

from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser

from transparency.services.auditors import auditor_account_create


class Command(BaseCommand):
    """Create (or reset) a user in the ``auditors`` group and print its
    one-time password; the user signs in at ``/audit/login/``."""

    help = __doc__

    def add_arguments(self, parser: CommandParser) -> None:
        """``--username`` (required), ``--email``."""
        parser.add_argument("--username", required=True)
        parser.add_argument("--email", default="")

    def handle(self, *args: Any, **options: Any) -> None:
        """Create the user and print the password once."""
        try:
            user, password = auditor_account_create(
                username=options["username"], email=options["email"]
            )
        except (ValueError, ValidationError) as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"auditor {user.get_username()} ready; sign in at /audit/login/"
        )
        self.stdout.write(f"one-time password: {password}")
        self.stdout.write("(shown once; run the command again to reset it)")
