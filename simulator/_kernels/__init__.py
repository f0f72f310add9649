"""Numba kernels: pure array functions, arrays in, caller-allocated arrays filled.

Layout shared by every kernel: time-major histories with the batch innermost,
``states[t, i, b]`` of shape ``(n_steps + 1, n_neurons, batch)``, inputs
``x[t, k, b]`` and outputs ``y[t, o, b]``. The front doors transpose these to
the public ``(time, batch, node)`` order without copying.
"""
