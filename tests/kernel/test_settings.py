"""The per-app settings objects (issue 11, item 7): one typed declaration per
product setting, read from ``django.conf.settings`` at call time, with the
defaults in ``config/settings.py`` only."""

from __future__ import annotations

import ast
import re
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.test import override_settings

from billing.settings import BillingSettings, billing_settings
from circuits.settings import CircuitsSettings, circuits_settings
from kernel.settings import AppSettings, KernelSettings, Setting, kernel_settings
from revocation.settings import RevocationSettings, revocation_settings
from transparency.settings import TransparencySettings, transparency_settings

ROOT = Path(__file__).resolve().parents[2]

OBJECTS: tuple[tuple[type[AppSettings], AppSettings], ...] = (
    (KernelSettings, kernel_settings),
    (TransparencySettings, transparency_settings),
    (RevocationSettings, revocation_settings),
    (CircuitsSettings, circuits_settings),
    (BillingSettings, billing_settings),
)

#: The one reader of ``django.conf.settings`` for product settings.
READER = "kernel/settings.py"


def _product_settings_in_config() -> set[str]:
    """Names of the product settings ``config/settings.py`` assigns."""
    tree = ast.parse((ROOT / "config" / "settings.py").read_text())
    return {
        target.id
        for node in tree.body
        if isinstance(node, ast.Assign)
        for target in node.targets
        if isinstance(target, ast.Name)
        and target.id.startswith(("VDI_", "MP_"))
        and target.id != "MP_ENV"
    }


def test_every_product_setting_is_declared_exactly_once() -> None:
    """Each ``VDI_*`` / ``MP_*`` setting of ``config/settings.py`` is declared
    by exactly one app object, and every declared setting exists."""
    declared: dict[str, list[str]] = {}
    for cls, _ in OBJECTS:
        for setting in cls.declared():
            declared.setdefault(setting.name, []).append(cls.__name__)
    twice = {name: owners for name, owners in declared.items() if len(owners) > 1}
    assert twice == {}
    assert _product_settings_in_config() <= set(declared)
    assert [name for name in declared if not hasattr(settings, name)] == []


@pytest.mark.parametrize(("cls", "obj"), OBJECTS)
def test_every_declared_setting_reads_with_its_type(
    cls: type[AppSettings], obj: AppSettings
) -> None:
    """Reading each attribute returns the current setting, converted."""
    for setting in cls.declared():
        value = getattr(obj, setting.attribute)
        assert value == setting.cast(getattr(settings, setting.name))


def test_reads_happen_at_call_time() -> None:
    """``override_settings`` takes effect on the next attribute access, and
    the old value is back afterwards."""
    before = billing_settings.replay_reserve_ttl_seconds
    with override_settings(VDI_BILLING_REPLAY_RESERVE_TTL_SEC=17):
        assert billing_settings.replay_reserve_ttl_seconds == 17
    assert billing_settings.replay_reserve_ttl_seconds == before
    with override_settings(VDI_BILLING_LOG_WITNESS_KEYS=["a+00000000+AQ"]):
        assert kernel_settings.log_witness_keys == ("a+00000000+AQ",)


def test_prover_cache_dir_default_lives_in_config_settings() -> None:
    """The prover cache directory is the one setting (default
    ``VAR_DIR / "groth16"`` unless the environment names one), typed Path."""
    assert circuits_settings.prover_cache_dir == Path(
        settings.VDI_GROTH16_PROVER_CACHE_DIR
    )
    assert isinstance(circuits_settings.prover_cache_dir, Path)


def test_a_missing_setting_is_an_error_not_a_second_default() -> None:
    """A setting the settings module does not define raises
    ImproperlyConfigured naming it."""

    class Probe(AppSettings):
        missing = Setting("MP_NO_SUCH_SETTING_FOR_TEST", int)

    with pytest.raises(ImproperlyConfigured, match="MP_NO_SUCH_SETTING_FOR_TEST"):
        Probe().missing  # noqa: B018


def _product_reads(path: Path) -> list[str]:
    text = path.read_text()
    found: list[Any] = re.findall(r"getattr\(\s*settings\s*,", text)
    found += re.findall(
        r"(?<![`\w.])settings\.(?:VDI_|MP_|PRODUCTION|VAR_DIR|BASE_DIR)\w*\b(?!`)",
        text,
    )
    return [str(hit) for hit in found]


def test_apps_read_product_settings_only_through_their_objects() -> None:
    """No app module (migrations and the settings objects aside) reads a
    product setting with ``settings.NAME`` or ``getattr(settings, ...)``."""
    offenders = {}
    for package in ("kernel", "transparency", "revocation", "circuits", "billing"):
        for path in (ROOT / package).rglob("*.py"):
            relative = path.relative_to(ROOT).as_posix()
            if "migrations" in path.parts or relative == READER:
                continue
            hits = _product_reads(path)
            if hits:
                offenders[relative] = hits
    assert offenders == {}
