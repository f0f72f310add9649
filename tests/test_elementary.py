"""The vectorisable exp, expm1, tanh and sigmoid against NumPy, to a few ULP."""

import numpy as np
import pytest
from numba import njit

from simulator._kernels import elementary as el


@njit(error_model="numpy")
def _apply(code, a, out):
    for i in range(a.shape[0]):
        if code == 0:
            out[i] = el.exp(a[i])
        elif code == 1:
            out[i] = el.expm1(a[i])
        elif code == 2:
            out[i] = el.tanh(a[i])
        else:
            out[i] = el.sigmoid(a[i])


def _sigmoid(a):
    with np.errstate(over="ignore", invalid="ignore"):
        return np.where(a >= 0, 1 / (1 + np.exp(-a)), np.exp(a) / (1 + np.exp(a)))


FUNCTIONS = [(0, np.exp, 1), (1, np.expm1, 2), (2, np.tanh, 3), (3, _sigmoid, 4)]
POINTS = np.concatenate([
    np.random.default_rng(0).normal(0, 3, 20000),
    np.random.default_rng(1).normal(0, 1e-6, 2000),
    np.linspace(-745, 710, 20001),
    [0.0, -0.0, 1e-300, -1e-300, 5e-324, 709.78, 709.7827, -708.39, 19.0, 19.5, 20.0, -20.0, 354.0],
])


@pytest.mark.parametrize("code, reference, max_ulp", FUNCTIONS)
def test_accuracy_in_ulp(code, reference, max_ulp):
    """Within a few units in the last place wherever the result is a normal double."""
    out = np.empty_like(POINTS)
    _apply(code, POINTS, out)
    with np.errstate(over="ignore"):
        ref = reference(POINTS)
    normal = np.isfinite(ref) & (np.abs(ref) >= np.finfo(float).tiny)
    ulp = np.abs(out[normal] - ref[normal]) / np.spacing(np.abs(ref[normal]))
    assert ulp.max() <= max_ulp
    # below the normal range: at most the smallest normal away from the truth
    assert np.all(np.abs(out[~normal & np.isfinite(ref)] - ref[~normal & np.isfinite(ref)]) <= np.finfo(float).tiny)


@pytest.mark.parametrize("code, reference, max_ulp", FUNCTIONS)
def test_special_values(code, reference, max_ulp):
    """inf, -inf and nan map like NumPy's (overflow to inf, nan stays nan)."""
    a = np.array([np.inf, -np.inf, np.nan, 800.0, -800.0])
    out = np.empty_like(a)
    _apply(code, a, out)
    with np.errstate(over="ignore"):
        np.testing.assert_array_equal(out, reference(a))


def test_tanh_is_odd_to_the_bit():
    """tanh(-x) is exactly -tanh(x), the sign of zero included (as NumPy's)."""
    a = np.concatenate([POINTS, [0.0]])
    pos, neg = np.empty_like(a), np.empty_like(a)
    _apply(2, np.abs(a), pos)
    _apply(2, -np.abs(a), neg)
    np.testing.assert_array_equal(neg, -pos)
    assert np.signbit(neg[-1]) and not np.signbit(pos[-1])
