"""Shared fixtures: fresh Ed25519 keys per session, applied through settings.

Also registers the fixture modules every app's tests may use
(``pytest_plugins``), and keeps Hypothesis's example database out of the
repository (a temp dir removed at exit).
"""

from __future__ import annotations

import atexit
import os
import shutil
import sys
import tempfile
from typing import Any

import py_ecc  # noqa: F401 - imported once here so its recursion-limit bump is undone
import pytest

from tests.support.keys import TestKeys

pytest_plugins = ["tests.billing.fixtures"]

# py_ecc sets the recursion limit to 100000 at first import; tests that import
# it directly must not change how the code under test fails on deep JSON
# (a RecursionError, not a C stack overflow).
sys.setrecursionlimit(1000)

if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    _storage = tempfile.mkdtemp(prefix="mp-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _storage


@pytest.fixture(scope="session")
def test_keys() -> TestKeys:
    """Fresh keys for the whole test session."""
    return TestKeys.generate()


@pytest.fixture
def signing_keys(settings: Any, test_keys: TestKeys) -> TestKeys:
    """Configure the server with the session's keys; return them."""
    for name, value in test_keys.settings_values().items():
        setattr(settings, name, value)
    settings.VDI_ATTEST_SECRET = ""
    return test_keys
