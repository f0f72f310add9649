"""Numba kernels: pure array functions, arrays in, caller-allocated arrays filled.

Layout shared by every kernel: time-major histories with the batch innermost,
``states[t, i, b]`` of shape ``(n_steps + 1, n_neurons, batch)``, inputs
``x[t, k, b]`` and outputs ``y[t, o, b]``. The front doors transpose these to
the public ``(time, batch, node)`` order without copying.
"""

import hashlib
import os
from pathlib import Path

#: Whether compiled kernels are cached on disk (default on). Set the
#: environment variable ``GRAPHRNN_CACHE=0`` before importing `simulator` to
#: compile afresh in every process; Numba's ``NUMBA_CACHE_DIR`` moves the cache.
CACHE: bool = os.environ.get("GRAPHRNN_CACHE", "1").strip().lower() not in ("0", "false", "no", "off")


def refresh_cache(sources: list[Path], cache_dirs: list[Path], stamp: Path) -> bool:
    """Drop the Numba cache files (``*.nbi``, ``*.nbc``) in `cache_dirs` when
    the digest of `sources` differs from the one recorded in `stamp`, and
    record the new one; return whether files were dropped.

    Numba checks a cached kernel only against its own source file, but the
    kernels inline helpers from the others (`simulator.activations`,
    `elementary`, ...): after an edit to one of those, the cache would keep
    serving the old machine code. Hashing the few source files costs well
    under a millisecond. A cache that cannot be written (a read-only
    install) is left as it is.
    """
    digest = hashlib.sha256(b"".join(p.read_bytes() for p in sources)).hexdigest()
    try:
        if stamp.read_text() == digest:
            return False
    except OSError:
        pass
    try:
        for d in cache_dirs:
            for f in d.glob("*.nb[ic]"):
                f.unlink(missing_ok=True)
        stamp.parent.mkdir(parents=True, exist_ok=True)
        tmp = stamp.with_name(f"{stamp.name}.{os.getpid()}.tmp")
        tmp.write_text(digest)
        tmp.replace(stamp)
    except OSError:
        return False
    return True


if CACHE and not os.environ.get("NUMBA_CACHE_DIR"):
    _here = Path(__file__).parent
    refresh_cache(sorted(_here.glob("*.py")),
                  [_here / "__pycache__", _here.parent / "__pycache__"], _here / "__pycache__" / "graphrnn-sources.sha256")


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
