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

Every such array, and every history a front door allocates for the
kernels (`aligned_empty`), starts a cache line: the kernels load a
batch's row in 64-byte vectors, and a row that starts mid-line costs a
line more and splits every load.

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

__all__ = ["ALIGN", "MAX_KEPT", "aligned_empty", "borrowed", "release"]

#: Bytes above which an array is allocated afresh and not kept.
MAX_KEPT = 1 << 30
#: Bytes to which `aligned_empty` aligns an array's start: a cache line.
ALIGN = 64


def aligned_empty(shape: tuple[int, ...], dtype) -> np.ndarray:
    """A C-contiguous uninitialised array whose first element starts a cache
    line (`ALIGN` bytes), as a view into a slightly larger buffer.

    NumPy's large arrays start 16 bytes into a cache line (the allocator's
    header), so at a batch of 8 to 32 in float64 every row of a history
    spans one line more than it needs and every 64-byte vector load the
    kernels make straddles two lines. Aligned, the histories and error rows
    the kernels gather from made runs and BPTT at N = 10,000, batch 32,
    about 1.3-1.6x faster (`benchmarks/README.md`); Numba's own arrays are
    aligned already.

    >>> a = aligned_empty((1000, 32), np.float64)
    >>> a.ctypes.data % ALIGN, a.shape, a.flags.c_contiguous
    (0, (1000, 32), True)
    """
    dtype = np.dtype(dtype)
    nbytes = int(np.prod(shape, dtype=np.int64)) * dtype.itemsize
    raw = np.empty(nbytes + ALIGN, dtype=np.uint8)
    start = -raw.ctypes.data % ALIGN
    return raw[start:start + nbytes].view(dtype).reshape(shape)

_held = threading.local()


def _buffers() -> dict[str, np.ndarray]:
    if not hasattr(_held, "buffers"):
        _held.buffers, _held.lent = {}, set()
    return _held.buffers


@contextlib.contextmanager
def borrowed(purpose: str, shape: tuple[int, ...], dtype) -> Iterator[np.ndarray]:
    """A C-contiguous array of `shape` and `dtype`, starting a cache line
    (`aligned_empty`), for the duration of the block, its memory kept for
    the next borrower of `purpose` on this thread (contents undefined;
    pages faulted in, `threads.first_touch`).

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
        yield threads.first_touch(aligned_empty(shape, dtype))
        return
    buf = buffers.get(purpose)
    if buf is None or buf.nbytes < nbytes:
        buffers.pop(purpose, None)  # the old one freed before the new one is faulted in
        buf = buffers[purpose] = threads.first_touch(aligned_empty((max(nbytes, 1),), np.uint8))
    _held.lent.add(purpose)
    try:
        yield buf[:nbytes].view(dtype).reshape(shape)
    finally:
        _held.lent.discard(purpose)


def release() -> None:
    """Free every buffer the calling thread keeps (those lent now stay
    valid until their blocks end)."""
    _buffers().clear()
