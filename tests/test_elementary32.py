"""The float32 tanh and sigmoid against NumPy's float64 values rounded to
float32, to a few ULP; `tanh_of` / `sigmoid_of` pick them by precision."""

import numpy as np
import pytest
from numba import njit

import simulator as sim
from simulator._kernels import elementary as el
from simulator._kernels.elementary32 import sigmoid_of, tanh_of


@njit(error_model="numpy")
def _apply(code, a, out):
    for i in range(a.shape[0]):
        out[i] = tanh_of(a[i]) if code == 0 else sigmoid_of(a[i])


def _sigmoid(a):
    with np.errstate(over="ignore"):
        return np.where(a >= 0, 1 / (1 + np.exp(-a)), np.exp(a) / (1 + np.exp(a)))


SMALLEST_NORMAL = np.finfo(np.float32).tiny
POINTS = np.concatenate([
    np.random.default_rng(0).normal(0, 3, 20000),
    np.random.default_rng(1).normal(0, 1e-4, 2000),
    np.linspace(-100, 100, 20001),
    [0.0, 1e-38, -1e-38, 1e-45, 9.0, 9.01, 9.1, -9.1, 20.0, 87.3, -87.3, -87.33, 88.0],
]).astype(np.float32)


@pytest.mark.parametrize("code, reference, max_ulp", [(0, np.tanh, 3), (1, _sigmoid, 4)])
def test_float32_accuracy_in_ulp(code, reference, max_ulp):
    """float32 results within a few float32 ULP of the float64 values,
    wherever those are normal float32 numbers."""
    out = np.empty_like(POINTS)
    _apply(code, POINTS, out)
    assert out.dtype == np.float32
    exact = reference(POINTS.astype(np.float64))
    normal = np.abs(exact) >= SMALLEST_NORMAL
    ulp = np.spacing(np.abs(exact[normal]).astype(np.float32)).astype(np.float64)
    err = np.abs(out[normal] - exact[normal]) / ulp
    assert err.max() <= max_ulp, (err.max(), POINTS[normal][np.argmax(err)])
    assert np.abs(out[~normal]).max() < SMALLEST_NORMAL  # the deep sigmoid tail: 0 or tiny


def test_float32_special_values():
    """Signed zeros, infinities, NaN and saturation as tanh and sigmoid have them."""
    a = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 9.5, -9.5, 100.0, -100.0], dtype=np.float32)
    t, s = np.empty_like(a), np.empty_like(a)
    _apply(0, a, t)
    _apply(1, a, s)
    np.testing.assert_array_equal(t, [0.0, -0.0, 1.0, -1.0, np.nan, 1.0, -1.0, 1.0, -1.0])
    assert not np.signbit(t[0]) and np.signbit(t[1])
    np.testing.assert_array_equal(s[[0, 1, 2, 3, 4, 7, 8]], [0.5, 0.5, 1.0, 0.0, np.nan, 1.0, 0.0])
    np.testing.assert_allclose(s[5:7], _sigmoid(np.array([9.5, -9.5])), rtol=3e-7)


def test_float64_values_take_the_float64_functions():
    """For float64 values the dispatch gives `elementary`'s results, bit for bit."""
    a = np.random.default_rng(2).normal(0, 4, 1000)
    for code, fn in ((0, el.tanh), (1, el.sigmoid)):
        out = np.empty_like(a)
        _apply(code, a, out)
        np.testing.assert_array_equal(out, [fn(v) for v in a])


def test_a_float32_run_applies_float32_tanh_close_to_float64():
    """A float32 network's states (uniform tanh, batched) stay within float32
    rounding of the float64 run of the same parameters."""
    import topologies as tp

    net32 = sim.compile(tp.fixed_indegree(40, 4, n_inputs=1, n_outputs=1, seed=1), dtype="float32")
    net64 = sim.compile(net32.to_networkx(), dtype="float64")
    x = np.random.default_rng(3).normal(size=(30, 6, 1))
    s32, s64 = sim.run(net32, x).states, sim.run(net64, x).states
    assert s32.dtype == np.float32
    np.testing.assert_allclose(s32, s64, atol=1e-5)
