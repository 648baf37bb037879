"""The last module the harvester's forkserver imports, after the modules it preloads.

Every child of the harvester is forked from one forkserver process that imported ccxt
and the children's roles once (harvester.tree), so their ~120 MB of modules are pages
shared by all of them rather than copied into each. This module readies that process
for forking:

- ``gc.freeze()``: the objects imported so far move to a permanent generation that the
  collector never walks, so a collection in a child does not write to (and copy) the
  shared pages they sit on;
- SIGTERM ignored, as every child ignores it: supervisord signals the whole process
  group, and the parent alone decides when the tree stops. Were the forkserver to die
  first, the parent would lose its children's exit codes and take them for dead while
  they finish their runs. It exits when the parent does (its pipe from the parent
  closes), however the parent ends.
"""

from __future__ import annotations

import gc
import signal

signal.signal(signal.SIGTERM, signal.SIG_IGN)
gc.collect()
gc.freeze()
