"""The documents name only files and modules that exist (issue 11).

Every repository path written in backticks in README.md, docs/*.md and the
bench README (``billing/protocol/verify/``, ``circuits/apiBillingV2/...``)
must exist in the checkout, and every dotted module path in backticks
(``billing.protocol.tariff``, ``kernel.settings.env_name``) must import and
resolve. A token is a repository path when its first segment is a top-level
entry of the repository; formats (``vdi-billing/2``), runtime directories
(``var/...``) and paths relative to another directory are not. A dotted token
is checked when its first two segments name a module, so JSON members that
share an app's name (``circuits.verification_keys``) and check ids
(``billing.W003``) are left alone.
"""

from __future__ import annotations

import importlib
import re
from pathlib import Path
from types import ModuleType

ROOT = Path(__file__).resolve().parents[1]

DOCUMENTS = sorted(
    [ROOT / "README.md", ROOT / "bench" / "README.md", *(ROOT / "docs").glob("*.md")]
)

#: Top-level entries of the repository a path may start with (``var/`` is
#: created at run time and is not one of them).
TOP_LEVEL = frozenset(
    path.name
    for path in ROOT.iterdir()
    if not path.name.startswith(".") and path.name not in {"var", "node_modules"}
)

#: A backticked token: a path (with a slash) or a dotted Python name.
BACKTICKED = re.compile(r"`([^`\s]+)`")
APPS = (
    "audittrail",
    "billing",
    "transparency",
    "revocation",
    "circuits",
    "kernel",
    "config",
)
DOTTED = re.compile(rf"^(?:{'|'.join(APPS)})(?:\.[A-Za-z_]\w*)+$")


def _tokens() -> list[tuple[str, int, str]]:
    found = []
    for document in DOCUMENTS:
        for number, line in enumerate(
            document.read_text(encoding="utf-8").splitlines(), 1
        ):
            found.extend(
                (document.relative_to(ROOT).as_posix(), number, token)
                for token in BACKTICKED.findall(line)
            )
    return found


def _repository_path(token: str) -> str | None:
    """Return ``token`` as a repository path, or None if it is not one."""
    path = token.split("::")[0].rstrip(".,:;")
    first, _, rest = path.partition("/")
    if not rest or first not in TOP_LEVEL or any(c in path for c in "*{}<>$"):
        return None
    return path.rstrip("/")


def _import(name: str) -> ModuleType | None:
    try:
        return importlib.import_module(name)
    except ModuleNotFoundError as exc:
        if exc.name is not None and name.startswith(exc.name):
            return None
        raise


def _resolves(dotted: str) -> bool:
    """Whether ``dotted`` is a module, or a module's (nested) attribute.
    True also when its first two segments name no module (not checked)."""
    parts = dotted.split(".")
    if _import(".".join(parts[:2])) is None:
        return True
    for split in range(len(parts), 1, -1):
        obj: object | None = _import(".".join(parts[:split]))
        if obj is None:
            continue
        for attribute in parts[split:]:
            obj = getattr(obj, attribute, None)
            if obj is None:
                return False
        return True
    return False


def test_documents_exist() -> None:
    """The documents the test reads are there (a moved README fails here)."""
    assert all(document.is_file() for document in DOCUMENTS)


def test_backticked_repository_paths_exist() -> None:
    """No document names a repository path that is gone."""
    missing = [
        f"{document}:{number}: {path}"
        for document, number, token in _tokens()
        if (path := _repository_path(token)) is not None and not (ROOT / path).exists()
    ]
    assert missing == []


def test_backticked_module_paths_resolve() -> None:
    """No document names a module, class or function that is gone."""
    stale = [
        f"{document}:{number}: {token}"
        for document, number, token in _tokens()
        if DOTTED.match(token.rstrip("()")) and not _resolves(token.rstrip("()"))
    ]
    assert stale == []
