"""Numba kernels: pure array functions, arrays in, caller-allocated arrays filled.

Layout shared by every kernel: time-major histories with the batch innermost,
``states[t, i, b]`` of shape ``(n_steps + 1, n_neurons, batch)``, inputs
``x[t, k, b]`` and outputs ``y[t, o, b]``. The front doors transpose these to
the public ``(time, batch, node)`` order without copying.
"""

from .cache import CACHE


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
