"""``python -m billing.protocol``: the offline verifier CLI."""

import sys

from .cli import main

sys.exit(main())
