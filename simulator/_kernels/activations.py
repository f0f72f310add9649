"""Activation functions for the kernels: the registry of integer codes, and
the jitted scalar functions evaluated with them.

`ACTIVATIONS` is the one table from names to codes (`simulator.activations`
re-exports it with the names' documentation); the named codes below are
read from it, so the kernels never spell a code as a number. Each
activation has one value, `activate`, and one derivative, `slope`, taken
from the value ``v = phi(a)``: the backward pass records values only, and a
caller holding the pre-activation evaluates ``slope(code, activate(code, a))``.
``tanh``, ``sigmoid`` and ``elu`` use the vectorisable elementary functions
of `elementary` (within a few units in the last place of NumPy's); a
float32 block uniform in tanh or sigmoid, those of `elementary32`.
"""

from __future__ import annotations

import math

import numpy as np
from numba import njit

from . import CACHE
from . import elementary as el
from .elementary32 import sigmoid_of, tanh_of

#: Activation name -> integer code used by the kernels.
ACTIVATIONS: dict[str, int] = {
    "tanh": 0,
    "sigmoid": 1,
    "hard_sigmoid": 2,
    "relu": 3,
    "elu": 4,
    "softplus": 5,
    "identity": 6,
    "sign": 7,
}

TANH = ACTIVATIONS["tanh"]
SIGMOID = ACTIVATIONS["sigmoid"]
HARD_SIGMOID = ACTIVATIONS["hard_sigmoid"]
RELU = ACTIVATIONS["relu"]
ELU = ACTIVATIONS["elu"]
SOFTPLUS = ACTIVATIONS["softplus"]
IDENTITY = ACTIVATIONS["identity"]
SIGN = ACTIVATIONS["sign"]


@njit(cache=CACHE, error_model="numpy")
def activate(code, a):
    """``phi(a)`` of activation `code` at the pre-activation `a` (scalar).

    Parameters
    ----------
    code : int
        A value of `ACTIVATIONS`.
    a : float

    Returns
    -------
    float
    """
    if code == TANH:
        return el.tanh(a)
    if code == SIGMOID:
        return el.sigmoid(a)
    if code == HARD_SIGMOID:
        return min(max(a / 6.0 + 0.5, 0.0), 1.0)
    if code == RELU:
        return a if a > 0 else (0.0 if a == a else a)  # +0 for every a <= 0 (-inf too); NaN stays NaN
    if code == ELU:
        return a if a > 0 else el.expm1(a)
    if code == SOFTPLUS:
        return max(a, 0.0) + math.log1p(math.exp(-abs(a)))
    if code == IDENTITY:
        return a
    # SIGN
    if a > 0:
        return 1.0
    if a < 0:
        return -1.0
    return 0.0 if a == a else a


@njit(cache=CACHE, error_model="numpy", inline="always")
def slope(code, v):
    """``phi'(a)`` of activation `code`, from its value ``v = phi(a)``.

    Parameters
    ----------
    code : int
        A value of `ACTIVATIONS`.
    v : float
        The activation's value.

    Returns
    -------
    float
        The derivative; 0 for ``sign`` (simulation only: gradients refuse it
        before any kernel runs).
    """
    if code == TANH:
        return 1.0 - v * v
    if code == SIGMOID:
        return v * (1.0 - v)
    if code == HARD_SIGMOID:
        return 1.0 / 6.0 if 0.0 < v < 1.0 else 0.0
    if code == RELU:
        return 1.0 if v > 0 else 0.0
    if code == ELU:
        return 1.0 if v > 0 else v + 1.0
    if code == SOFTPLUS:
        return -el.expm1(-v)
    if code == IDENTITY:
        return 1.0
    return 0.0


@njit(cache=CACHE, error_model="numpy")
def activate_rows(codes, uniform, out, lo, hi):
    """Apply each row's activation in place to rows ``lo:hi`` of `out`,
    counting the values that come out inf or NaN.

    When every row shares one activation (`uniform` is its code, else -1)
    the loop runs over the flat block with that function alone, which LLVM
    vectorises (tanh and sigmoid in the block's own precision: float32
    rows by `elementary32`, eight to an AVX2 register); mixed activations
    take one branch per row. The count is taken in the same loop, while
    the values are in registers (a pass of its own over the rows read
    them again: 2.7 us a step of about 100, N = 1,000, batch 32).

    Parameters
    ----------
    codes : ndarray of int8, shape (n_rows,)
        Each row's activation code.
    uniform : int
        The code every row shares, or -1.
    out : ndarray, shape (n_rows, batch), C-contiguous
        Pre-activations in, values out.
    lo, hi : int
        The rows to apply.

    Returns
    -------
    int
        How many of the values written are inf or NaN.
    """
    nb = np.uint64(out.shape[1])
    flat = out.reshape(out.size)
    start, stop = np.uint64(lo) * nb, np.uint64(hi) * nb
    bad = 0
    if uniform == TANH:
        for j in range(start, stop):
            v = tanh_of(flat[j])
            flat[j] = v
            bad += not abs(v) < np.inf
    elif uniform == SIGMOID:
        for j in range(start, stop):
            v = sigmoid_of(flat[j])
            flat[j] = v
            bad += not abs(v) < np.inf
    elif uniform == RELU:
        for j in range(start, stop):
            v = flat[j]
            v = v if v > 0 else (0.0 if v == v else v)
            flat[j] = v
            bad += not abs(v) < np.inf
    elif uniform == IDENTITY:
        for j in range(start, stop):
            bad += not abs(flat[j]) < np.inf
    else:
        for i in range(np.uint64(lo), np.uint64(hi)):
            code = codes[i]
            for b in range(nb):
                v = activate(code, out[i, b])
                out[i, b] = v
                bad += not abs(v) < np.inf
    return bad
