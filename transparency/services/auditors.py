"""Writes of auditor accounts: users of the auditor web UI (``/audit/``)."""

from __future__ import annotations

import secrets

from django.contrib.auth import get_user_model
from django.contrib.auth.models import AbstractBaseUser, Group
from django.db import transaction

AUDITORS_GROUP = "auditors"
"""Name of the Django group whose members may use the auditor UI (created,
with view permissions, by a data migration)."""


@transaction.atomic
def auditor_account_create(
    *, username: str, email: str = "", password: str | None = None
) -> tuple[AbstractBaseUser, str]:
    """Create (or reset) user ``username`` as a member of ``auditors``; return
    the user and the password it now has.

    Without ``password`` a one-time random one is generated (24 URL-safe
    characters, ~144 bits). The user is never staff: auditors sign in at
    ``/audit/login/``, not in the admin. An existing user keeps its other
    rights and gets the new password.

    Raises:
        ValueError: an empty ``username``.
    """
    if not username:
        raise ValueError("username must not be empty")
    password = password or secrets.token_urlsafe(18)
    user_model = get_user_model()
    user, _ = user_model.objects.get_or_create(
        **{user_model.USERNAME_FIELD: username}, defaults={"email": email}
    )
    user.set_password(password)
    user.is_active = True
    user.full_clean(exclude=["password"])
    user.save()
    group, _ = Group.objects.get_or_create(name=AUDITORS_GROUP)
    user.groups.add(group)  # type: ignore[attr-defined]
    return user, password
