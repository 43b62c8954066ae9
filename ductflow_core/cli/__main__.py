"""``python -m ductflow_core.cli``: the same as the ``ductflow`` console script."""

import sys

from ductflow_core.cli.main import console_main

sys.exit(console_main())
