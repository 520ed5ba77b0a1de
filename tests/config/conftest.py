"""Fixtures of the API-wide tests: the billing tenant setup; Hypothesis keeps
its caches in a temp dir (nothing is written into the repository)."""

import atexit
import os
import shutil
import tempfile

from tests.billing.conftest import tariff_version, tenant_setup  # noqa: F401

if "HYPOTHESIS_STORAGE_DIRECTORY" not in os.environ:
    _storage = tempfile.mkdtemp(prefix="mp-hypothesis-")
    atexit.register(shutil.rmtree, _storage, ignore_errors=True)
    os.environ["HYPOTHESIS_STORAGE_DIRECTORY"] = _storage
