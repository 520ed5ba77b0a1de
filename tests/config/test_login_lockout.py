"""Password guessing on the staff and auditor sign-in pages is locked out
(django-axes): after the failure limit even the right password is refused
with a clear "locked" page, on ``/admin/login/`` and ``/audit/login/``."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client

pytestmark = pytest.mark.django_db

PASSWORD = "pw-erin-correct-123"
#: The number of wrong passwords the audit tried before the right one.
GUESSES = 25


@pytest.fixture
def staff(django_user_model: Any) -> Any:
    """A superuser ``erin`` (staff and auditor)."""
    return django_user_model.objects.create_superuser(
        username="erin", email="erin@example.com", password=PASSWORD
    )


@pytest.mark.parametrize("url", ["/admin/login/", "/audit/login/"])
def test_wrong_passwords_lock_the_sign_in(staff: Any, url: str) -> None:
    """25 wrong passwords, then the right one: refused (429, lockout page,
    no session), where before the right one signed in."""
    client = Client()
    for attempt in range(GUESSES):
        client.post(url, {"username": "erin", "password": f"wrong-{attempt}"})
    response = client.post(url, {"username": "erin", "password": PASSWORD})
    assert response.status_code == 429
    assert "_auth_user_id" not in client.session
    page = response.content.decode()
    assert "Too many failed sign-in attempts" in page


def test_a_few_typos_do_not_lock(staff: Any) -> None:
    """Two wrong passwords, then the right one, signs in (302)."""
    client = Client()
    for attempt in range(2):
        client.post(
            "/audit/login/", {"username": "erin", "password": f"typo-{attempt}"}
        )
    response = client.post("/audit/login/", {"username": "erin", "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.get("_auth_user_id") == str(staff.pk)
