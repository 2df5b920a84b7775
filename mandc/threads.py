"""Torch's intra-op thread count for a block of work, shared safely by blocks open at once.

Describing an upload (on the server's worker threads), a preview fine-tune and a profiling pair
each want their own count, and the app can run a describe while a preview runs. A plain
set-and-restore would let one block give back a count while another is still open (the preview
ending would hand 2 threads to the describe's encoder pool on a 2-core machine). Here the blocks
are counted: the count is given back only when the last open block ends.
"""

from __future__ import annotations

import itertools
import threading
from contextlib import contextmanager

from .errors import ConfigError

_lock = threading.Lock()
_open: dict[int, int] = {}
"""Open blocks, in the order they were entered: block number -> the count it asked for."""
_numbers = itertools.count()
_before = 0
"""The count found when the first of the blocks now open was entered; given back by the last."""
_left_early: set[int] = set()
"""Threads that left a block while another was open: their own count is still that block's,
so when one of them opens the next block, ``_before`` is the count last given back, not its."""


@contextmanager
def torch_threads(count: int):
    """Run the block on ``count`` torch intra-op threads.

    While blocks overlap (on one thread or several), the count is the one asked for by the
    latest block still open; when the last open block ends, the count found before the first
    is given back. ATen fixes a thread's count when that thread first runs a torch op and
    changes it only when the thread itself sets it: the count set here applies to the thread
    that enters the block and to threads that start their torch work while it is open (an
    encoder pool's workers, say). A thread that leaves its block while another is open keeps
    that block's count until it opens a block again; if that next block is the only one open,
    it gives back the count last given back, not the one it was left on.
    """
    global _before
    if isinstance(count, bool) or not isinstance(count, int) or count < 1:
        raise ConfigError(f"torch thread count must be a whole number of at least 1, "
                          f"got {count!r}")
    import torch

    me = threading.get_ident()
    with _lock:
        if not _open:
            _before = _before if me in _left_early else torch.get_num_threads()
        _left_early.discard(me)  # entering sets this thread's count afresh
        number = next(_numbers)
        _open[number] = count
        torch.set_num_threads(count)
    try:
        yield
    finally:
        with _lock:
            del _open[number]
            if _open:
                _left_early.add(me)
            torch.set_num_threads(next(reversed(_open.values())) if _open else _before)


def open_blocks() -> int:
    """How many :func:`torch_threads` blocks are open now (for tests and diagnostics)."""
    with _lock:
        return len(_open)
