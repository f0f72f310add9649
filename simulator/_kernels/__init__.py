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
