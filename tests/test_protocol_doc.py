"""docs/PROTOCOL.md is the spec and stands alone (audit 10): every error code
the project can emit and every verification check name appears in it, and it
defers to no document users do not get."""

from __future__ import annotations

import importlib
import pkgutil
import re
from pathlib import Path

from billing.protocol.verify import STRICT_CHECKS, BundleVerifier
from config.exception_handler import DRF_CODES
from kernel.protocol.errors import MeterproofError

ROOT = Path(__file__).resolve().parents[1]
DOC = (ROOT / "docs" / "PROTOCOL.md").read_text(encoding="utf-8")
APPS = (
    "audittrail",
    "billing",
    "circuits",
    "config",
    "kernel",
    "revocation",
    "transparency",
)
#: Codes given as literals: ``CheckFailed("code", ...)``, ``code="..."``,
#: ``error_response("code", ...)``, ``"error": {"code": "..."}`` and the
#: Groth16 binding's ``reason`` values.
_LITERAL = re.compile(
    r"""(?:CheckFailed\(\s*|code\s*=\s*|"code":\s*|error_response\(\s*
        |_fail\(\s*|reason\s*=\s*|code,\s*status,\s*message\s*=\s*\(?\s*)
        "([a-z][a-z0-9_]*)"  """,
    re.VERBOSE,
)


def _import_everything() -> None:
    for app in APPS:
        package = importlib.import_module(app)
        for info in pkgutil.walk_packages(package.__path__, f"{app}."):
            skip = (".migrations", ".management", "__main__", ".data.")
            if any(part in info.name for part in skip):
                continue
            importlib.import_module(info.name)


def error_class_codes() -> set[str]:
    """``code`` of every MeterproofError subclass in the project."""
    _import_everything()
    codes: set[str] = set()
    stack: list[type[MeterproofError]] = [MeterproofError]
    while stack:
        klass = stack.pop()
        if (
            klass.__module__.split(".")[0] in (*APPS, "tests")
            or klass is MeterproofError
        ):
            if not klass.__module__.startswith("tests"):
                codes.add(klass.code)
        stack.extend(klass.__subclasses__())
    return codes


def literal_codes() -> set[str]:
    """Codes written as literals in the project's (non-test) sources."""
    codes: set[str] = set()
    for app in APPS:
        for path in (ROOT / app).rglob("*.py"):
            if "migrations" in path.parts:
                continue
            codes.update(_LITERAL.findall(path.read_text(encoding="utf-8")))
    return codes


def check_names() -> list[str]:
    """Every check name, standard and strict, in report order."""
    from tests.billing.protocol.builders import Keys, make_bundle

    keys = Keys.generate()
    report = BundleVerifier(keys.trust()).verify(make_bundle(keys))
    return [c.name for c in report.checks] + list(STRICT_CHECKS)


def _documented(name: str) -> bool:
    return re.search(rf"`{re.escape(name)}`", DOC) is not None


def test_every_error_code_is_in_the_catalogue() -> None:
    """Every code a class, a check or the API handler can emit is documented
    (as `code` in docs/PROTOCOL.md)."""
    codes = error_class_codes() | literal_codes() | set(DRF_CODES.values())
    missing = sorted(code for code in codes if not _documented(code))
    assert missing == [], f"{len(missing)} of {len(codes)} codes undocumented"


def test_every_check_name_is_documented() -> None:
    """Every named check of both profiles is in the spec."""
    missing = [name for name in check_names() if not _documented(name)]
    assert missing == []


def test_the_spec_stands_alone() -> None:
    """The spec does not defer to a design file users never get."""
    assert "DESIGN.md" not in DOC
    assert "../shared" not in DOC
