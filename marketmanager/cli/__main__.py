"""``python -m marketmanager.cli``: the same as the `marketmanager` console script."""

from __future__ import annotations

import sys

from marketmanager.cli import main

sys.exit(main())
