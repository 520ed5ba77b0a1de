"""Test settings: the project settings without the developer's ``.env``."""

import os

os.environ["MP_READ_DOT_ENV"] = "0"

from config.settings import *  # noqa: E402,F403

PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
