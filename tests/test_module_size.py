"""No app module outside ``protocol/`` and ``migrations/`` grows past 500
lines (issue 11; CONVENTIONS §1: split a module into a package by purpose
when it grows past ~400 lines). Modules that are one spec each live in
``protocol/`` and are exempt."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APPS = (
    "kernel",
    "audittrail",
    "billing",
    "transparency",
    "revocation",
    "circuits",
    "config",
)
MAX_LINES = 500


def test_no_app_module_is_over_500_lines() -> None:
    """Every ``.py`` of an app, outside ``protocol/`` and ``migrations/``, has
    at most 500 lines; the message names each offender and its length."""
    over = {}
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if {"protocol", "migrations"} & set(path.relative_to(ROOT).parts):
                continue
            count = len(path.read_text(encoding="utf-8").splitlines())
            if count > MAX_LINES:
                over[str(path.relative_to(ROOT))] = count
    assert over == {}, f"split these by purpose (lines): {over}"
