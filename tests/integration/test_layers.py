"""The API process never loads ccxt (import-linter checks the imports; this, what runs)."""

from __future__ import annotations

import subprocess
import sys


def test_importing_the_api_app_does_not_load_ccxt() -> None:
    probe = (
        "import sys, graphql_api.app; print(sorted(m for m in sys.modules if m.startswith('ccxt')))"
    )
    loaded = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, timeout=120
    )
    assert loaded.stdout.strip() == "[]"
