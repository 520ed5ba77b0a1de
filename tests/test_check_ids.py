"""System check ids are unique, documented and registered one way (issue 11).

Every app's ``checks.py`` keeps a table ``CHECK_IDS`` of the ids it can emit
and a tuple ``CHECKS`` of its check functions, which ``AppConfig.ready()``
registers through :func:`kernel.check_registry.checks_register` (Django's
``contrib/admin/checks.py`` is the model: namespaced ids, a hint on every
message). The ids the code can emit are collected from the source with
``ast``: every string literal shaped like ``<app>.<E|W|C|I|D><nnn>`` in a
first-party module, outside the tables themselves.
"""

from __future__ import annotations

import ast
import importlib
import re
from collections import Counter
from pathlib import Path
from types import ModuleType

from django.core.checks.registry import registry

from kernel.check_registry import CHECK_ID_PATTERN, CHECK_TAG

ROOT = Path(__file__).resolve().parents[1]

#: First-party packages; the Django apps among them have an ``apps.py``.
PACKAGES = (
    "kernel",
    "audittrail",
    "transparency",
    "circuits",
    "revocation",
    "billing",
    "config",
)
#: A check id of ours, of any level (a stray ``C``/``I``/``D`` is caught too).
ANY_ID = re.compile(rf"^(?:{'|'.join(PACKAGES)})\.[A-Z][0-9]{{3}}$")
#: A check id inside prose (README, docs, docstrings).
ID_IN_TEXT = re.compile(rf"\b(?:{'|'.join(PACKAGES)})\.[EWCID][0-9]{{3}}\b")
#: Django's check message classes, by the level letter their ids carry.
LEVELS = {"Error": "E", "Warning": "W", "Critical": "C", "Info": "I", "Debug": "D"}


def _check_modules() -> dict[str, ModuleType]:
    return {
        package: importlib.import_module(f"{package}.checks")
        for package in PACKAGES
        if (ROOT / package / "apps.py").is_file()
        and (ROOT / package / "checks.py").is_file()
    }


def _sources() -> dict[Path, ast.Module]:
    found = {}
    for package in PACKAGES:
        for path in sorted((ROOT / package).rglob("*.py")):
            if "migrations" not in path.parts:
                found[path] = ast.parse(path.read_text(encoding="utf-8"))
    return found


def _table_keys(tree: ast.Module) -> set[int]:
    """``id()`` of the key nodes of a module-level ``CHECK_IDS = {...}``."""
    keys: set[int] = set()
    for node in tree.body:
        targets = (
            node.targets
            if isinstance(node, ast.Assign)
            else [node.target]
            if isinstance(node, ast.AnnAssign)
            else []
        )
        value = getattr(node, "value", None)
        if any(isinstance(t, ast.Name) and t.id == "CHECK_IDS" for t in targets):
            assert isinstance(value, ast.Dict), "CHECK_IDS is a dict literal"
            keys.update(id(k) for k in value.keys if k is not None)
    return keys


def _emitted() -> list[tuple[str, Path, int]]:
    """Every check id literal outside the tables: ``(id, file, line)``."""
    found = []
    for path, tree in _sources().items():
        skip = _table_keys(tree)
        for node in ast.walk(tree):
            if (
                isinstance(node, ast.Constant)
                and isinstance(node.value, str)
                and ANY_ID.match(node.value)
                and id(node) not in skip
            ):
                found.append((node.value, path.relative_to(ROOT), node.lineno))
    return found


def _tables() -> dict[str, dict[str, str]]:
    return {app: module.CHECK_IDS for app, module in _check_modules().items()}


def test_every_app_with_checks_has_a_table_and_a_tuple() -> None:
    """Each ``checks.py`` defines ``CHECK_IDS`` (id -> meaning) and ``CHECKS``
    (the functions ``ready()`` registers)."""
    modules = _check_modules()
    assert set(modules) == {"billing", "circuits", "revocation", "transparency"}
    for app, module in modules.items():
        assert isinstance(module.CHECK_IDS, dict) and module.CHECK_IDS, app
        assert isinstance(module.CHECKS, tuple) and module.CHECKS, app
        assert all(callable(check) for check in module.CHECKS), app


def test_table_ids_are_namespaced_by_their_app_and_described() -> None:
    """``<app label>.<E|W><nnn>``, the app's own label, and a meaning."""
    for app, table in _tables().items():
        for check_id, meaning in table.items():
            assert CHECK_ID_PATTERN.match(check_id), check_id
            assert check_id.split(".")[0] == app, f"{check_id} in {app}.checks"
            assert isinstance(meaning, str) and meaning.strip(), check_id


def test_ids_are_unique_across_apps() -> None:
    """No id sits in two tables."""
    counts = Counter(check_id for table in _tables().values() for check_id in table)
    assert [check_id for check_id, n in counts.items() if n > 1] == []


def test_every_emitted_id_is_in_its_apps_table() -> None:
    """Each id the code can emit is documented in its own app's table and
    emitted from that app's modules."""
    tables = _tables()
    documented = {check_id for table in tables.values() for check_id in table}
    wrong = [
        f"{path}:{line}: {check_id}"
        for check_id, path, line in _emitted()
        if check_id not in documented or path.parts[0] != check_id.split(".")[0]
    ]
    assert wrong == [], "undocumented or foreign check ids:\n" + "\n".join(wrong)


def test_every_table_id_is_emitted_at_exactly_one_place() -> None:
    """One id, one place in the code that emits it (``billing.E002`` meant
    two things when it was emitted twice), and no table entry the code no
    longer emits."""
    counts = Counter(check_id for check_id, _, _ in _emitted())
    documented = {check_id for table in _tables().values() for check_id in table}
    assert {i: counts[i] for i in documented if counts[i] != 1} == {}


def test_every_check_message_has_a_hint_and_its_level_letter() -> None:
    """Each ``Error``/``Warning`` built with an ``id`` has a ``hint``; a literal
    id's letter is its level (``E`` for Error, ``W`` for Warning)."""
    wrong = []
    for path, tree in _sources().items():
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)):
                continue
            level = LEVELS.get(node.func.id)
            keywords = {k.arg: k.value for k in node.keywords}
            if level is None or "id" not in keywords:
                continue
            where = f"{path.relative_to(ROOT)}:{node.lineno}"
            if "hint" not in keywords:
                wrong.append(f"{where}: no hint")
            value = keywords["id"]
            if isinstance(value, ast.Constant) and isinstance(value.value, str):
                if value.value.split(".")[-1][:1] != level:
                    wrong.append(f"{where}: {value.value} is a {node.func.id}")
    assert wrong == [], "\n".join(wrong)


def test_checks_are_registered_by_ready_under_one_tag() -> None:
    """Every function of every ``CHECKS`` is registered with the
    ``meterproof`` tag, and no other first-party check is registered."""
    ours = {check for module in _check_modules().values() for check in module.CHECKS}
    for check in ours:
        assert check in registry.registered_checks, check.__qualname__
        assert CHECK_TAG in check.tags, check.__qualname__
    stray = [
        f"{check.__module__}.{check.__qualname__}"
        for check in registry.registered_checks | registry.deployment_checks
        if check.__module__.split(".")[0] in PACKAGES and check not in ours
    ]
    assert stray == []


def test_checks_modules_register_nothing_on_import() -> None:
    """``checks.py`` has no side effect (CONVENTIONS §1): it never imports
    Django's ``register``; ``ready()`` does the registering."""
    for app in _check_modules():
        tree = ast.parse((ROOT / app / "checks.py").read_text(encoding="utf-8"))
        names = {
            alias.name
            for node in ast.walk(tree)
            if isinstance(node, ast.ImportFrom)
            for alias in node.names
        }
        assert "register" not in names, app


def test_ids_named_in_the_docs_exist() -> None:
    """README and docs name only ids that the tables document (a renumbered
    id leaves no stale mention)."""
    documented = {check_id for table in _tables().values() for check_id in table}
    texts = [ROOT / "README.md", *sorted((ROOT / "docs").rglob("*.md"))]
    stale = sorted(
        f"{path.relative_to(ROOT)}: {check_id}"
        for path in texts
        for check_id in ID_IN_TEXT.findall(path.read_text(encoding="utf-8"))
        if check_id not in documented
    )
    assert stale == []
