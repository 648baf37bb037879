"""Giving the heap's free pages back to the system, where the C library can (glibc).

A worker's run allocates ~15 MB beyond what it keeps (the response, the parsed tickers,
the rows), and loading markets ~50 MB more; freed, most of it stays in the process,
scattered between live objects, where glibc does not return it by itself. `trim` asks
glibc to (``malloc_trim``: free pages anywhere in its heaps, in every arena); it takes a
few milliseconds. Elsewhere (musl, macOS) it does nothing.
"""

from __future__ import annotations

import ctypes
import ctypes.util
from collections.abc import Callable


def _malloc_trim() -> Callable[[int], int] | None:
    try:
        libc = ctypes.CDLL(ctypes.util.find_library("c"))
        return libc.malloc_trim
    except (OSError, AttributeError, TypeError):
        return None


_MALLOC_TRIM = _malloc_trim()


def trim() -> None:
    """Return the free pages of the C heap to the system (a no-op without glibc)."""
    if _MALLOC_TRIM is not None:
        _MALLOC_TRIM(0)
