"""Test settings: the project settings without the developer's ``.env``.

Hermetic: nothing the suite writes lands in the repository. The runtime
directory (``MP_VAR_DIR``: the SQLite file's parent, static files, demo
output) and the Groth16 proving-key cache (``MP_GROTH16_PROVER_CACHE_DIR``,
~4 min to build cold, loaded in seconds afterwards) default to per-user
directories under the system temp dir, so the cache survives between runs
and is shared by every checkout of the same user. Both stay overridable by
the environment; set here in ``os.environ`` so subprocesses the tests start
(``manage.py``) inherit them.
"""

import getpass
import os
import tempfile
from pathlib import Path


def _user_tag() -> str:
    """Return a per-user suffix for temp dirs (the uid, or the login name)."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        return str(getuid())
    return getpass.getuser()


_TMP = Path(tempfile.gettempdir())
os.environ["MP_READ_DOT_ENV"] = "0"
os.environ.setdefault("MP_VAR_DIR", str(_TMP / f"meterproof-test-var-{_user_tag()}"))
# The deprecated VDI_ spelling is still honoured (config.settings.product_env).
_CACHE_VARS = {"MP_GROTH16_PROVER_CACHE_DIR", "VDI_GROTH16_PROVER_CACHE_DIR"}
if not _CACHE_VARS & set(os.environ):
    os.environ["MP_GROTH16_PROVER_CACHE_DIR"] = str(
        _TMP / f"meterproof-test-groth16-{_user_tag()}"
    )

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
