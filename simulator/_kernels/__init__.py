"""Numba kernels: pure array functions, arrays in, caller-allocated arrays filled.

Layout shared by every kernel: time-major histories with the batch innermost,
``states[t, i, b]`` of shape ``(n_steps + 1, n_neurons, batch)``, inputs
``x[t, k, b]`` and outputs ``y[t, o, b]``. The front doors transpose these to
the public ``(time, batch, node)`` order without copying.
"""

import os

#: Whether compiled kernels are cached on disk (default on). Set the
#: environment variable ``GRAPHRNN_CACHE=0`` before importing `simulator` to
#: compile afresh in every process; Numba's ``NUMBA_CACHE_DIR`` moves the cache.
CACHE: bool = os.environ.get("GRAPHRNN_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def entry_point(dispatcher, *args):
    """The compiled entry point of `dispatcher` for the types of `args`.

    Numba's dispatcher types every argument on every call (about 8 us for the
    wiring's nested tuples), which a caller in a tight Python loop (SciPy's
    solvers) would pay each time. Compiles for `args` if needed (running the
    kernel once on them); the caller guarantees later calls pass arguments of
    exactly these types (C-contiguous arrays of the same dtypes).
    """
    import numba

    dispatcher(*args)
    return dispatcher.overloads[tuple(numba.typeof(a) for a in args)].entry_point
