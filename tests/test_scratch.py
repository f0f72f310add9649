"""The scratch arrays the gradient passes keep between calls: the same
memory for the same purpose on one thread, never shared with a nested
borrower or another thread, bounded in size, and invisible in the results
(gradients bit for bit whatever an earlier call left in the buffer)."""

from __future__ import annotations

import threading

import numpy as np
import pytest

import simulator as sim
import topologies as tp
from simulator import scratch
from simulator.arrays import prepare


@pytest.fixture(autouse=True)
def _clean():
    scratch.release()
    yield
    scratch.release()


def test_same_purpose_reuses_the_memory_reshaped():
    with scratch.borrowed("t", (4, 5), np.float64) as a:
        a[:] = 3.0
    with scratch.borrowed("t", (2, 10), np.float64) as b:
        assert b.shape == (2, 10) and b.dtype == np.float64 and b.flags.c_contiguous
        assert np.shares_memory(a, b)
        assert np.all(b == 3.0)


def test_a_larger_request_grows_the_buffer_and_dtypes_share_it():
    with scratch.borrowed("t", (3,), np.float32) as a:
        pass
    with scratch.borrowed("t", (100,), np.float64) as b:
        assert b.shape == (100,) and not np.shares_memory(a, b)
        b[:] = np.arange(100)
    with scratch.borrowed("t", (10,), np.float32) as c:
        assert c.dtype == np.float32 and np.shares_memory(b, c)


def test_nested_borrowers_and_other_purposes_get_their_own_memory():
    with scratch.borrowed("t", (8,), np.float64) as outer:
        with scratch.borrowed("t", (8,), np.float64) as inner:
            assert not np.shares_memory(outer, inner)
        with scratch.borrowed("u", (8,), np.float64) as other:
            assert not np.shares_memory(outer, other)
    with scratch.borrowed("t", (8,), np.float64) as again:  # lent again after the block
        assert np.shares_memory(outer, again)


def test_arrays_over_the_limit_are_not_kept(monkeypatch):
    monkeypatch.setattr(scratch, "MAX_KEPT", 64)
    with scratch.borrowed("t", (16,), np.float64) as big:  # 128 bytes
        pass
    with scratch.borrowed("t", (16,), np.float64) as big2:
        assert not np.shares_memory(big, big2)


def test_release_frees_and_an_exception_returns_the_loan():
    with pytest.raises(RuntimeError):
        with scratch.borrowed("t", (4,), np.float64) as a:
            raise RuntimeError("inside")
    with scratch.borrowed("t", (4,), np.float64) as b:  # not left marked as lent
        assert np.shares_memory(a, b)
    scratch.release()
    with scratch.borrowed("t", (4,), np.float64) as c:
        assert not np.shares_memory(b, c)


def test_threads_keep_buffers_of_their_own():
    seen = {}

    def borrow(name):
        with scratch.borrowed("t", (64,), np.float64) as a:
            seen[name] = a
            a[:] = len(name)
        scratch.release()

    with scratch.borrowed("t", (64,), np.float64) as mine:
        mine[:] = -1.0
        workers = [threading.Thread(target=borrow, args=(name,)) for name in ("a", "bb")]
        for w in workers:
            w.start()
        for w in workers:
            w.join()
        assert np.all(mine == -1.0)
    assert not any(np.shares_memory(mine, a) for a in seen.values())
    assert not np.shares_memory(seen["a"], seen["bb"])


@pytest.mark.parametrize("delays", [False, True])
def test_bptt_gradients_do_not_depend_on_what_the_buffer_held(delays):
    """A call after others of other lengths, batches and signs (the buffer
    holding their states) gives the gradients of a first call, bit for bit;
    a delayed network likewise through its own buffer."""
    g = tp.fixed_indegree(30, 4, n_inputs=2, n_outputs=2, seed=3, **({"delays": (1, 3)} if delays else {}))
    net = sim.compile(g)
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(25, 3, 2)), rng.normal(size=(25, 3, 2))
    first_loss, first = sim.bptt(net, x, y)
    for T, batch in ((40, 3), (7, 5), (25, 3)):
        sim.bptt(net, -5.0 * rng.normal(size=(T, batch, 2)), rng.normal(size=(T, batch, 2)))
        loss, grads = sim.bptt(net, x, y)
        assert loss == first_loss
        np.testing.assert_array_equal(grads.weight, first.weight)
        np.testing.assert_array_equal(grads.h0, first.h0)


def test_gated_bptt_gradients_do_not_depend_on_what_the_buffer_held():
    net = sim.compile(tp.gate(tp.fixed_indegree(20, 3, n_inputs=1, n_outputs=1, seed=1), unit="lstm", seed=1))
    rng = np.random.default_rng(1)
    x, y = rng.normal(size=(15, 2, 1)), rng.normal(size=(15, 2, 1))
    first_loss, first = sim.bptt(net, x, y)
    sim.bptt(net, 3.0 * rng.normal(size=(30, 4, 1)), rng.normal(size=(30, 4, 1)))
    loss, grads = sim.bptt(net, x, y)
    assert loss == first_loss
    np.testing.assert_array_equal(grads.weight, first.weight)
    np.testing.assert_array_equal(grads.c0, first.c0)


@pytest.mark.parametrize("shape, dtype", [((0,), np.float64), ((7,), np.uint8), ((3, 5, 2), np.float32),
                                          ((101, 1000, 32), np.float64)])
def test_aligned_arrays_start_a_cache_line(shape, dtype):
    """`aligned_empty` starts on a cache line whatever NumPy's allocator
    gives (large arrays start 16 bytes in), at the shape and dtype asked
    (an empty array has no element to align)."""
    a = scratch.aligned_empty(shape, dtype)
    assert a.ctypes.data % scratch.ALIGN == 0 or a.size == 0
    assert a.shape == shape and a.dtype == dtype and a.flags.c_contiguous and a.flags.writeable
    a[...] = 1
    assert np.all(a == 1)


def test_histories_and_borrowed_buffers_are_aligned():
    """The arrays the kernels gather rows from: a run's states, and every
    borrowed buffer (kept or, over the limit, fresh)."""
    G = tp.fixed_indegree(30, 4, n_inputs=1, n_outputs=1, seed=0)
    net = sim.compile(G)
    res = sim.run(net, np.zeros((5, 3, 1)))
    assert res.states.ctypes.data % scratch.ALIGN == 0
    assert prepare(net, np.zeros((5, 3, 1))).x.ctypes.data % scratch.ALIGN == 0  # the kernels' inputs
    for shape in ((1,), (3, 7), (1000, 33)):
        with scratch.borrowed("t", shape, np.float64) as a, scratch.borrowed("t", shape, np.float64) as nested:
            assert a.ctypes.data % scratch.ALIGN == 0 and nested.ctypes.data % scratch.ALIGN == 0
