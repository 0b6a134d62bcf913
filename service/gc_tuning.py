"""The garbage-collector tuning of every service process, in a module that imports nothing else.

The benchmark's floor applies the same tuning; importing it from ``service.main`` would load the whole
service (spaCy included) into the floor and double the floor's memory, flattering the memory ratio.
"""

from __future__ import annotations

import gc


def tune_gc() -> None:
    """Move start-up objects out of the collector's reach and collect less often.

    Full collections over the loaded knowledge and framework objects otherwise dominate the p99.
    """
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 50, 100)
