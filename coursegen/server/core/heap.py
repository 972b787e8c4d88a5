"""Keep the objects built at start-up out of the garbage collector's way while the app serves."""

import gc
import threading
from collections.abc import Iterator
from contextlib import contextmanager

_once = threading.Lock()
_loaded_frozen = False


@contextmanager
def frozen_heap() -> Iterator[None]:
    """Move everything alive now (modules, the graph, schemas, prompt templates, language
    models) to the collector's permanent generation until the block ends.

    A started server holds about 250,000 tracked objects that live as long as it does. Each
    full collection walked them all again: 0.2 s on the bench machine with the event loop
    stopped, every stream stalled meanwhile, and about 15% of the graph's CPU per LLM call.
    Frozen, they are never scanned; what requests allocate is collected as before. At the end
    they are handed back, so an app stopped in a process that goes on (tests, an embedding
    program) leaves nothing uncollectable behind.
    """
    _freeze()
    try:
        yield
    finally:
        gc.unfreeze()


def freeze_after_first_report() -> None:
    """Freeze, once per process and only while a `frozen_heap` block is open, what the first
    course report loaded: textstat's CMU pronouncing dictionary (270,000 lists) and
    scikit-learn (60,000 objects). Scanned, the dictionary alone made full collections take
    0.2–0.4 s under load (the p99 latency of figure 2).

    Loaded when first needed rather than at start-up: a server that never finishes a course
    (and each test server) does not pay the 5 s of CPU. What else is alive at that moment (the
    courses then in flight) is frozen with it, once: collected at shutdown at the latest.
    """
    global _loaded_frozen
    with _once:
        if _loaded_frozen or gc.get_freeze_count() == 0:
            return
        _loaded_frozen = True
    _freeze()


def _freeze() -> None:
    gc.collect()  # garbage is not worth keeping forever
    gc.freeze()
