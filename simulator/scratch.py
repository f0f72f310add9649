"""Scratch arrays that outlive a call: the history a gradient pass keeps only
while it runs, reused by the next call on the same thread.

`sim.bptt` records every state of a run (N = 1,000, batch 32, 200 steps:
51 MB) and drops it when it returns. A fresh array of that size is fresh
memory: the operating system maps it page by page on first write, which
took about 6 ms of a 56 ms call, and now and then, when it had to assemble
huge pages, over 100 ms (measured, `benchmarks/README.md`). A training loop
asks for the same array at every step, so `borrowed` keeps it: one buffer
per purpose and thread, grown when a call needs more, handed out as a view
of the shape asked for. Its contents are whatever the last call left.

A thread that borrows a purpose already lent (a pass called from inside
another) gets a fresh array, and arrays of more than `MAX_KEPT` bytes are
never kept, so the memory held after a call is bounded; `release` frees
what the calling thread holds.

>>> with borrowed("example", (2, 3), np.float64) as a:
...     a[:] = 1.0
>>> with borrowed("example", (3, 2), np.float64) as b:  # the same memory, reshaped
...     float(b.sum())
6.0
>>> release()
"""

from __future__ import annotations

import contextlib
import threading
from collections.abc import Iterator

import numpy as np

from . import threads

__all__ = ["MAX_KEPT", "borrowed", "release"]

#: Bytes above which an array is allocated afresh and not kept.
MAX_KEPT = 1 << 30

_held = threading.local()


def _buffers() -> dict[str, np.ndarray]:
    if not hasattr(_held, "buffers"):
        _held.buffers, _held.lent = {}, set()
    return _held.buffers


@contextlib.contextmanager
def borrowed(purpose: str, shape: tuple[int, ...], dtype) -> Iterator[np.ndarray]:
    """A C-contiguous array of `shape` and `dtype` for the duration of the
    block, its memory kept for the next borrower of `purpose` on this
    thread (contents undefined; pages faulted in, `threads.first_touch`).

    Parameters
    ----------
    purpose : str
        What the array holds: one buffer is kept per purpose and thread.
    shape : tuple of int
    dtype : numpy dtype

    Yields
    ------
    ndarray
    """
    dtype = np.dtype(dtype)
    size = int(np.prod(shape, dtype=np.int64))
    nbytes = size * dtype.itemsize
    buffers = _buffers()
    if purpose in _held.lent or nbytes > MAX_KEPT:
        yield threads.first_touch(np.empty(shape, dtype=dtype))
        return
    buf = buffers.get(purpose)
    if buf is None or buf.nbytes < nbytes:
        buffers.pop(purpose, None)  # the old one freed before the new one is faulted in
        buf = buffers[purpose] = threads.first_touch(np.empty(max(nbytes, 1), dtype=np.uint8))
    _held.lent.add(purpose)
    try:
        yield buf[:nbytes].view(dtype).reshape(shape)
    finally:
        _held.lent.discard(purpose)


def release() -> None:
    """Free every buffer the calling thread keeps (those lent now stay
    valid until their blocks end)."""
    _buffers().clear()
