"""One name per thing (issue 11, item 8).

A protocol object and the Django row that stores it used to share a class
name, and modules imported one under an alias (``Tariff as TariffDoc``,
``Checkpoint as CheckpointBody``). The protocol classes now carry their own
names; the old ones stay importable from their public module as deprecated
aliases for outside implementers, and nothing in the project uses them.
"""

from __future__ import annotations

import ast
import importlib
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]

#: First-party code: the apps, the project package, scripts and the tests.
SOURCE_DIRS = (
    "kernel",
    "audittrail",
    "transparency",
    "circuits",
    "revocation",
    "billing",
    "config",
    "scripts",
    "bench",
    "tests",
)

#: (module, deprecated alias, current protocol class name).
DEPRECATED_ALIASES = (
    ("billing.protocol.tariff", "Tariff", "TariffDocument"),
    ("billing.protocol.events", "MeterEvent", "MeterEventBody"),
    (
        "revocation.protocol.snapshot",
        "RevocationSnapshot",
        "VerifiedRevocationSnapshot",
    ),
    ("transparency.protocol.checkpoint", "Checkpoint", "CheckpointBody"),
    ("transparency.protocol.monitor", "MonitorState", "VerifiedTreeState"),
)


def _sources() -> list[Path]:
    files: list[Path] = []
    for name in SOURCE_DIRS:
        files.extend(
            p for p in (ROOT / name).rglob("*.py") if "migrations" not in p.parts
        )
    return sorted(files)


def _from_imports(path: Path) -> list[tuple[str, ast.alias, int]]:
    tree = ast.parse(path.read_text(encoding="utf-8"), filename=str(path))
    found: list[tuple[str, ast.alias, int]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.extend((node.module, alias, node.lineno) for alias in node.names)
    return found


@pytest.mark.parametrize(("module", "old", "new"), DEPRECATED_ALIASES)
def test_deprecated_alias_is_the_protocol_class(
    module: str, old: str, new: str
) -> None:
    """The old name still imports, and is the renamed protocol class itself."""
    mod = importlib.import_module(module)
    assert getattr(mod, old) is getattr(mod, new)
    assert old not in getattr(mod, "__all__", ())


def test_no_first_party_module_uses_a_deprecated_alias() -> None:
    """No project module imports a protocol class by its deprecated name."""
    deprecated = {(module, old) for module, old, _ in DEPRECATED_ALIASES}
    # ``from billing.protocol.tariff.document import Tariff`` counts too.
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: from {module} import {alias.name}"
        for path in _sources()
        for module, alias, line in _from_imports(path)
        for dep_module, old in deprecated
        if alias.name == old
        and (module == dep_module or module.startswith(dep_module + "."))
    ]
    assert offenders == []


def test_no_doc_or_body_import_aliases() -> None:
    """No first-party class is imported under a second name to dodge a clash."""
    first_party = tuple(f"{name}." for name in SOURCE_DIRS[:6])
    offenders = [
        f"{path.relative_to(ROOT)}:{line}: {alias.name} as {alias.asname}"
        for path in _sources()
        for module, alias, line in _from_imports(path)
        if alias.asname
        and alias.name[:1].isupper()
        and (module + ".").startswith(first_party)
    ]
    assert offenders == []
